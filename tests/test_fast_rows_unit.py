"""Rows of the per-table facts are built by a generated builder: the same rows as the model's own
``__init__`` (equal, hashable, still frozen), for every row model a fact declares."""

from __future__ import annotations

import dataclasses

import pytest

from preflight.facts import FACTS
from preflight.facts.base import SqlFact
from preflight.facts.gather import positional_builder
from preflight.facts.selection import TableRow

ROW_MODELS = sorted({f.row for f in FACTS.values() if isinstance(f, SqlFact)}, key=lambda r: r.__name__)


@pytest.mark.parametrize("row", ROW_MODELS, ids=[r.__name__ for r in ROW_MODELS])
def test_builder_builds_what_init_builds(row: type) -> None:
    values = [f"v{n}" for n in range(len(dataclasses.fields(row)))]
    built = positional_builder(row)(values)
    expected = row(*values)
    assert built == expected and type(built) is row
    assert [getattr(built, f.name) for f in dataclasses.fields(row)] == values
    if row.__dataclass_params__.frozen:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(built, dataclasses.fields(row)[0].name, "changed")
        assert hash(built) == hash(expected)


def test_a_short_row_is_refused() -> None:
    with pytest.raises(ValueError):
        positional_builder(TableRow)(["only", "two"])
