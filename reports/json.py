"""The JSON report: the stable contract (``schema_version`` "1"), as the models define it.

``chunks`` yields the document piece by piece (each check, finding and table on its own), so the CLI
can write a 100k-table report without holding it as one giant string or one giant dict; ``render``
joins the pieces. The result is the document ``Report.to_json()`` gives, with every non-printable
character written as a ``\\uXXXX`` escape so that nothing in it acts on a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import TypeAdapter

from preflight.models import CheckResult, Finding, Report, TableEntry
from preflight.terminal import json_visible

_FINDING = TypeAdapter(Finding)
_TABLE = TypeAdapter(TableEntry)


def _dump(value: Any, indent: int) -> str:
    """``value`` as indent-2 JSON, nested ``indent`` spaces deep."""
    return json_visible(json.dumps(value, indent=2, ensure_ascii=False)).replace("\n", "\n" + " " * indent)


def _array(items: Iterable[Any], indent: int) -> Iterator[str]:
    """A JSON array whose items are already rendered pieces (one item per inner iterator)."""
    empty = True
    for item in items:
        yield ("[" if empty else ",") + "\n" + " " * (indent + 2)
        yield from item
        empty = False
    yield "[]" if empty else "\n" + " " * indent + "]"


def _object(fields: Iterable[tuple[str, Iterator[str]]], indent: int) -> Iterator[str]:
    yield "{"
    for position, (name, value) in enumerate(fields):
        yield ("," if position else "") + "\n" + " " * (indent + 2) + json_visible(json.dumps(name, ensure_ascii=False)) + ": "
        yield from value
    yield "\n" + " " * indent + "}"


def _check(check: CheckResult, indent: int) -> Iterator[str]:
    head = check.model_dump(mode="json", by_alias=True, exclude={"findings"})
    fields = [(name, iter([_dump(head[name], indent + 2)])) for name in CheckResult.model_fields if name != "findings"]
    findings = (iter([_dump(_FINDING.dump_python(f, mode="json", by_alias=True), indent + 4)]) for f in check.findings)
    fields.append(("findings", _array(findings, indent + 2)))
    return _object(fields, indent)


def chunks(report: Report) -> Iterator[str]:
    """The report as indent-2 JSON, in pieces."""
    head = report.model_dump(mode="json", by_alias=True, exclude={"checks", "tables", *report.absent_fields()})

    def value(name: str) -> Iterator[str]:
        if name == "checks":
            return _array((_check(c, 4) for c in report.checks), 2)
        if name == "tables":
            return _array((iter([_dump(_TABLE.dump_python(t, mode="json", by_alias=True), 4)]) for t in report.tables), 2)
        return iter([_dump(head[name], 2)])

    yield from _object(((name, value(name)) for name in Report.model_fields if name in head or name in ("checks", "tables")), 0)
    yield "\n"


def render(report: Report) -> str:
    return "".join(chunks(report))
