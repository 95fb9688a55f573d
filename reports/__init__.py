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

# Formats that can also be written piece by piece (no giant string for 100k-table reports), in UTF-8: what a
# file or stdout gets, so that the ~120 MB of a 100k-table report is never decoded and encoded again.
STREAMS: dict[str, Callable[[Report], Iterator[bytes]]] = {"json": json.encoded}


def encoded(name: str, report: Report) -> Iterator[bytes]:
    """The rendering of ``name`` in UTF-8 pieces: streamed where the format can, else one piece."""
    if name in STREAMS:
        yield from STREAMS[name](report)
    else:
        yield FORMATS[name](report).encode()


def pieces(name: str, report: Report) -> Iterator[str]:
    """``encoded`` as text (every piece holds whole characters)."""
    for piece in encoded(name, report):
        yield piece.decode()


__all__ = ["FORMATS", "STREAMS", "encoded", "pieces"]
