"""Where renderings go: ``--format`` on stdout, ``--output [FORMAT:]PATH`` to files."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import explicit_params
from preflight.config import ConfigFile
from preflight.models import Report
from preflight.reports import FORMATS, pieces


@dataclass(frozen=True)
class Output:
    """One ``--output``: the format to write, where, and whether it took stdout's place (a plain PATH)."""

    fmt: str
    path: Path
    instead_of_stdout: bool = False


def parse_outputs(specs: Iterable[str], default_format: str) -> list[Output]:
    """``--output PATH`` (the --format rendering, instead of stdout) or ``--output FORMAT:PATH`` (as well);
    checked before connecting."""
    outputs = []
    for spec in specs:
        fmt, sep, rest = spec.partition(":")
        if not sep or "/" in fmt:  # a plain path; one holding a colon is written ./a:b
            outputs.append(Output(default_format, Path(spec), instead_of_stdout=True))
            continue
        if fmt not in FORMATS:
            usage_error(f"--output {spec}: unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))} "
                        f"(for a file name holding a colon, write ./{spec})")
        if not rest:
            usage_error(f"--output {spec}: no path after {fmt}:")
        outputs.append(Output(fmt, Path(rest)))
    for path in (o.path for o in outputs):
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            usage_error(f"--output {path}: is a directory")
        if not parent.is_dir():
            usage_error(f"--output {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            usage_error(f"--output {path}: not writable")
    return outputs


def emit(report: Report, fmt: str, outputs: list[Output]) -> None:
    """Write every requested rendering, piece by piece; stdout gets ``fmt`` unless a plain
    ``--output PATH`` took it. Written as rendered: secrets never reach a report (the DSN is shown
    field by field, server error texts are scrubbed where they are read), and every rendering is
    printable by construction, so stdout gets exactly the bytes a file gets, terminal or not."""
    for output in outputs:
        try:
            with output.path.open("w", encoding="utf-8") as handle:
                for piece in pieces(output.fmt, report):
                    handle.write(piece)
        except OSError as exc:
            usage_error(f"cannot write {output.path}: {exc.strerror or exc}")
    if not any(o.instead_of_stdout for o in outputs):
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
