"""Output formats, one module each; every one is a pure ``render(report) -> str``."""

from collections.abc import Callable, Iterator

from preflight.models import Report
from preflight.reports import html, json, junit, markdown, sql, table

FORMATS: dict[str, Callable[[Report], str]] = {
    "table": table.render,
    "json": json.render,
    "sql": sql.render,
    "markdown": markdown.render,
    "junit": junit.render,
    "html": html.render,
}

# Formats that can also be written piece by piece (no giant string for 100k-table reports).
STREAMS: dict[str, Callable[[Report], Iterator[str]]] = {"json": json.chunks}


def pieces(name: str, report: Report) -> Iterator[str]:
    """The rendering of ``name`` in pieces: streamed where the format can, else one piece."""
    if name in STREAMS:
        yield from STREAMS[name](report)
    else:
        yield FORMATS[name](report)


__all__ = ["FORMATS", "STREAMS", "pieces"]
