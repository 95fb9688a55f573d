"""Output formats, one module each; every one is a pure ``render(report) -> str``."""

from collections.abc import Callable

from preflight.models import Report
from reports import json, sql, table

FORMATS: dict[str, Callable[[Report], str]] = {
    "table": table.render,
    "json": json.render,
    "sql": sql.render,
}

__all__ = ["FORMATS"]
