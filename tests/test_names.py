"""The one name syntax: format and parse are inverses, hostile names included."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preflight.names import NameError_, QualifiedName, format_name, parse_name

HOSTILE = ['a"b; DROP', "my.schema", "Sales EU", "Ünïcode Tæble", '"', ".", "select", "MiXeD", "x" * 63, "$$", "a\\b"]


@pytest.mark.parametrize("schema", HOSTILE)
@pytest.mark.parametrize("table", HOSTILE)
def test_round_trip_hostile(schema: str, table: str) -> None:
    assert parse_name(format_name(schema, table)) == QualifiedName(schema, table)


@given(st.text(min_size=1, max_size=70), st.text(min_size=1, max_size=70))
def test_round_trip_any(schema: str, table: str) -> None:
    assert parse_name(format_name(schema, table)) == (schema, table)


def test_examples_from_design() -> None:
    assert format_name("billing", "invoices") == "billing.invoices"
    assert format_name("Sales EU", "Ünïcode Tæble") == "Sales EU.Ünïcode Tæble"
    assert format_name("my.schema", "t") == '"my.schema".t'
    assert format_name("a", 'x"y') == '"a"."x""y"'.replace('"a"', "a")
    assert parse_name('"my.schema"."t"') == ("my.schema", "t")
    assert parse_name("a.b.c") == ("a", "b.c")
    assert parse_name('public."A""B"') == ("public", 'A"B')


@pytest.mark.parametrize("bad", ["", "nodot", '"unterminated.t', 'a"b.c', ".t", "s.", '"s"x.t', 's."t"x'])
def test_rejects_malformed(bad: str) -> None:
    with pytest.raises(NameError_):
        parse_name(bad)


@given(st.text(max_size=40))
def test_parse_never_crashes(text: str) -> None:
    with contextlib.suppress(NameError_):
        parse_name(text)


def test_a_part_with_leading_or_trailing_space_is_quoted_so_it_cannot_pass_for_another() -> None:
    assert format_name("public", "payroll ") == 'public."payroll "'
    assert format_name(" s", "t") == '" s".t'
    assert format_name("Sales EU", "a b") == "Sales EU.a b"
    assert parse_name('public."payroll "') == ("public", "payroll ")
