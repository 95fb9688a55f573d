"""Where renderings go: ``--format`` on stdout, ``--output [FORMAT:]PATH`` to files."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import explicit_params
from preflight.config import ConfigFile
from preflight.models import Report
from preflight.reports import FORMATS, STREAMS, encoded, table
from preflight.terminal import terminal_width, use_colour


@dataclass(frozen=True)
class Output:
    """One ``--output``: the format to write, where, and whether it took stdout's place (a plain PATH)."""

    fmt: str
    path: Path
    instead_of_stdout: bool = False


# A plain ``--output PATH``'s format, from its extension.
EXTENSIONS = {".html": "html", ".htm": "html", ".json": "json", ".sql": "sql", ".md": "markdown",
              ".markdown": "markdown", ".xml": "junit", ".txt": "table"}


def _plain_format(path: Path, default_format: str, format_given: bool) -> str:
    """``report.html`` is HTML whatever the default ``--format``; an extension naming no format, or one
    contradicting an explicit ``--format``, is refused (a file the user cannot open is worse than an error)."""
    suffix = path.suffix.lower()
    if not suffix:
        return default_format
    fmt = EXTENSIONS.get(suffix)
    known = ", ".join(sorted(EXTENSIONS))
    if fmt is None:
        usage_error(f"--output {path}: no format is written as {suffix!r}; name the file {known}, "
                    f"or write FORMAT:PATH (e.g. json:{path})")
    if format_given and fmt != default_format:
        usage_error(f"--output {path}: the name says {fmt} but --format says {default_format}; "
                    f"write {default_format}:{path} to keep the name, or drop --format")
    return fmt


def parse_outputs(specs: Iterable[str], default_format: str, format_given: bool = False) -> list[Output]:
    """``--output PATH`` (instead of stdout; the format from the extension, else --format) or ``--output
    FORMAT:PATH`` (as well); checked before connecting."""
    outputs = []
    for spec in specs:
        fmt, sep, rest = spec.partition(":")
        if not sep or "/" in fmt:  # a plain path; one holding a colon is written ./a:b
            outputs.append(Output(_plain_format(Path(spec), default_format, format_given), Path(spec),
                                  instead_of_stdout=True))
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


@dataclass(frozen=True)
class View:
    """``--verbose`` / ``--quiet`` and ``--color``: how the table is drawn on stdout (a file gets the same
    detail at the default width, without colour)."""

    detail: table.Detail = "short"
    color: str = "auto"

    @classmethod
    def of(cls, params: dict[str, object]) -> View:
        detail = params.get("detail")
        chosen: table.Detail = "quiet" if detail == "quiet" else "verbose" if detail == "verbose" else "short"
        return cls(chosen, str(params.get("color") or "auto"))

    def stdout_style(self) -> table.Style:
        return table.Style(width=terminal_width(sys.stdout) or table.WIDTH, detail=self.detail,
                           color=use_colour(self.color, sys.stdout))

    def file_style(self) -> table.Style:
        return table.Style(detail="short" if self.detail == "quiet" else self.detail)


def _rendered(fmt: str, report: Report, style: table.Style) -> Iterable[str | bytes]:
    """A streamed format (JSON) in its UTF-8 pieces, written as they come (a 100k-table report is never
    decoded and encoded again on its way out); any other as its text."""
    return encoded(fmt, report) if fmt in STREAMS else [table.render(report, style) if fmt == "table" else FORMATS[fmt](report)]


def emit(report: Report, fmt: str, outputs: list[Output], view: View | None = None) -> None:
    """Write every requested rendering, piece by piece; stdout gets ``fmt`` unless a plain
    ``--output PATH`` took it. Written as rendered: secrets never reach a report (the DSN is shown
    field by field, server error texts are scrubbed where they are read), and every rendering is
    printable by construction. The table on stdout is drawn at the terminal's width, coloured when
    ``--color`` says so; ``--quiet`` leaves stdout the verdict line whatever the format."""
    view = view or View()
    for output in outputs:
        try:
            with output.path.open("wb") as handle:
                for piece in _rendered(output.fmt, report, view.file_style()):
                    handle.write(piece if isinstance(piece, bytes) else piece.encode())
        except OSError as exc:
            usage_error(f"cannot write {output.path}: {exc.strerror or exc}")
    if not any(o.instead_of_stdout for o in outputs):
        stdout_fmt = "table" if view.detail == "quiet" else fmt
        binary = hasattr(sys.stdout, "buffer")  # a StringIO in its place (a caller of ``main``) takes text
        for piece in _rendered(stdout_fmt, report, view.stdout_style()):
            # never strip: renderings are printable, colour is asked for; bytes go to the binary stream as they are
            click.echo(piece if binary or isinstance(piece, str) else piece.decode(), nl=False, color=True)


def output_choice(ctx: click.Context, config: ConfigFile | None) -> tuple[str, tuple[str, ...]]:
    """--format and --output, falling back to the config file's ``format`` / ``outputs``."""
    explicit = explicit_params(ctx)
    fmt = ctx.params["fmt"] if "fmt" in explicit or config is None or not config.format else config.format
    if fmt not in FORMATS:
        usage_error(f"config: unknown format {fmt!r}; one of {', '.join(sorted(FORMATS))}")
    outputs = ctx.params["outputs"] if "outputs" in explicit or config is None else tuple(config.outputs or ())
    return fmt, tuple(outputs)
