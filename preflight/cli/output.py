"""Where renderings go: ``--format`` on stdout, ``--output [FORMAT:]PATH`` to files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import explicit_params
from preflight.config import ConfigFile
from preflight.models import Report
from preflight.reports import FORMATS, pieces


def parse_outputs(specs: Iterable[str], default_format: str) -> list[tuple[str, Path]]:
    """``--output PATH`` (the --format rendering) or ``--output FORMAT:PATH``; checked before connecting."""
    outputs = []
    for spec in specs:
        fmt, sep, rest = spec.partition(":")
        if not sep or "/" in fmt:  # a plain path; one holding a colon is written ./a:b
            outputs.append((default_format, Path(spec)))
            continue
        if fmt not in FORMATS:
            usage_error(f"--output {spec}: unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))} "
                        f"(for a file name holding a colon, write ./{spec})")
        if not rest:
            usage_error(f"--output {spec}: no path after {fmt}:")
        outputs.append((fmt, Path(rest)))
    for _, path in outputs:
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            usage_error(f"--output {path}: is a directory")
        if not parent.is_dir():
            usage_error(f"--output {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            usage_error(f"--output {path}: not writable")
    return outputs


def emit(report: Report, fmt: str, outputs: list[tuple[str, Path]]) -> None:
    """Write every requested rendering, piece by piece; stdout gets ``fmt`` unless a plain
    ``--output PATH`` took it. Written as rendered: secrets never reach a report (the DSN is shown
    field by field, server error texts are scrubbed where they are read), and every rendering is
    printable by construction, so stdout gets exactly the bytes a file gets, terminal or not."""
    took_stdout = False
    for name, path in outputs:
        try:
            with path.open("w", encoding="utf-8") as handle:
                for piece in pieces(name, report):
                    handle.write(piece)
        except OSError as exc:
            usage_error(f"cannot write {path}: {exc.strerror or exc}")
        took_stdout = took_stdout or name == fmt
    if not took_stdout:
        for piece in pieces(fmt, report):
            click.echo(piece, nl=False, color=True)  # never strip: renderings are printable


def output_choice(ctx: click.Context, config: ConfigFile | None) -> tuple[str, tuple[str, ...]]:
    """--format and --output, falling back to the config file's ``format`` / ``outputs``."""
    explicit = explicit_params(ctx)
    fmt = ctx.params["fmt"] if "fmt" in explicit or config is None or not config.format else config.format
    if fmt not in FORMATS:
        usage_error(f"config: unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))}")
    outputs = ctx.params["outputs"] if "outputs" in explicit or config is None else tuple(config.outputs or ())
    return fmt, tuple(outputs)
