"""Output formats, one module each; every one is a pure ``render(report) -> str``."""

from collections.abc import Callable

from preflight.models import Report
from reports import html, json, junit, markdown, sql, table

FORMATS: dict[str, Callable[[Report], str]] = {
    "table": table.render,
    "json": json.render,
    "sql": sql.render,
    "markdown": markdown.render,
    "junit": junit.render,
    "html": html.render,
}

__all__ = ["FORMATS"]
