"""Objects built without validation (``preflight.unvalidated``) are the objects the model's own constructor
builds: the rows of every fact (equal, hashable, still frozen) and the report records a check makes per
table, whatever fields the model has (the builders are derived from them, never written by hand)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from preflight.facts import FACTS
from preflight.facts.base import SqlFact
from preflight.facts.selection import TableRow
from preflight.models import Finding, FindingRef, Remediation, Severity, TableEntry
from preflight.statements import as_statement
from preflight.unvalidated import buildable, builder, row_builder

ROW_MODELS = sorted({f.row for f in FACTS.values() if isinstance(f, SqlFact)}, key=lambda r: r.__name__)


@pytest.mark.parametrize("row", ROW_MODELS, ids=[r.__name__ for r in ROW_MODELS])
def test_row_builder_builds_what_init_builds(row: type[Any]) -> None:
    assert buildable(row)
    values = [f"v{n}" for n in range(len(dataclasses.fields(row)))]
    built = row_builder(row)(values)
    expected = row(*values)
    assert built == expected and type(built) is row
    assert [getattr(built, f.name) for f in dataclasses.fields(row)] == values
    if row.__dataclass_params__.frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, dataclasses.fields(row)[0].name, "changed")
        assert hash(built) == hash(expected)


def test_a_short_row_is_refused() -> None:
    with pytest.raises(ValueError):
        row_builder(TableRow)(["only", "two"])


def test_report_records_take_their_defaults_for_what_is_not_given() -> None:
    finding = builder(Finding, "code", "severity", "message", "object")
    built = finding("c", Severity.ERROR, "m", "o")
    assert built == Finding(code="c", severity=Severity.ERROR, message="m", object="o")
    other = finding("c", Severity.ERROR, "m", "o")
    assert other.remediation is not built.remediation  # a default factory is called per object
    entry = builder(TableEntry, "schema_", "name", "kind", "persistence", "has_primary_key", "replica_identity",
                    "status")
    assert entry("s", "t", "table", "permanent", True, "default", "ok") == TableEntry(
        schema="s", name="t", kind="table", persistence="permanent", has_primary_key=True,
        replica_identity="default", status="ok")
    assert builder(FindingRef, "check", "object")("table_keys", "s.t") == FindingRef(check="table_keys", object="s.t")
    assert builder(Remediation, "sql")([as_statement("x")]) == Remediation(sql=[as_statement("x")])


@pytest.mark.parametrize(("cls", "given", "error"), [
    (Finding, ("code", "message"), "Finding.severity has no default"),
    (Finding, ("code", "severity", "message", "colour"), "no field(s) colour"),
    (dict, (), "slotted dataclass"),
])
def test_a_builder_that_could_not_build_is_refused_when_made(cls: type[Any], given: tuple[str, ...], error: str) -> None:
    with pytest.raises(TypeError, match=error.replace("(", r"\(").replace(")", r"\)")):
        builder(cls, *given)


def test_a_model_with_post_init_is_not_buildable() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            if self.value < 0:
                raise ValueError("negative")

    assert not buildable(Checked)
    with pytest.raises(TypeError):
        row_builder(Checked)
