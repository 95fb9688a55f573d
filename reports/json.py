"""The JSON report: the stable contract (``schema_version`` "1"), as the models define it."""

from __future__ import annotations

from preflight.models import Report


def render(report: Report) -> str:
    return report.to_json(indent=2) + "\n"
