"""The decisions file: strict loading, canonical keys, and exit 2 with one line from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.decisions import DecisionsError, load_decisions, parse_decisions
from tests.conftest import run_cli

# A closed port: if a bad file were not rejected before connecting, the run would end in exit 1, not 2.
DSN = "host=127.0.0.1 port=1 user=x dbname=d connect_timeout=1"


def test_valid_file_is_canonicalised(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"decisions": {'"public".t': "exclude", "Sales EU.Ünïcode Tæble": "add_pk",
                                              '"my.schema"."a""b"': "replica_identity_full"}}), encoding="utf-8")
    assert load_decisions(path).tables == {"public.t": "exclude", "Sales EU.Ünïcode Tæble": "add_pk",
                                    '"my.schema"."a""b"': "replica_identity_full"}


@pytest.mark.parametrize(("data", "reason"), [
    ([], "expected a JSON object"),
    ({}, 'missing the "decisions" key'),
    ({"decisions": {}, "extra": 1}, "unexpected key(s) 'extra'"),
    ({"decisions": ["public.t"]}, '"decisions" must be an object'),
    ({"decisions": {"public.t": "drop"}}, "unknown decision 'drop' for 'public.t'"),
    ({"decisions": {"public.t": None}}, "unknown decision None"),
    ({"decisions": {"no_schema": "exclude"}}, "bad table name 'no_schema'"),
    ({"decisions": {'"unterminated.t': "exclude"}}, "bad table name"),
    ({"decisions": {"public.t": "exclude", '"public"."t"': "add_pk"}}, "name the same table"),
])
def test_bad_shapes_raise_one_clear_reason(data: object, reason: str) -> None:
    with pytest.raises(DecisionsError) as caught:
        parse_decisions(data)
    assert reason in str(caught.value)
    assert "\n" not in str(caught.value)


def test_same_table_twice_with_same_value_is_fine() -> None:
    assert parse_decisions({"decisions": {"public.t": "exclude", '"public"."t"': "exclude"}}) == {"public.t": "exclude"}


@pytest.mark.parametrize(("content", "reason"), [
    ('{"decisions": {"public.t": "exclude",}}', "not JSON: Expecting property name"),
    ('{"decisions": {"public.t": "frobnicate"}}', "unknown decision 'frobnicate'"),
    ('{"decisions": {"nodot": "exclude"}}', "bad table name 'nodot'"),
    ('{"decisions": {"public.t": "exclude", "public.t": "add_pk"}}', "duplicate key 'public.t'"),
    ("[1, 2]", "expected a JSON object"),
    (b"\xff\xfe{", "not UTF-8"),
    (None, "no such file"),
])
def test_cli_exits_2_with_one_line(tmp_path: Path, content: str | bytes | None, reason: str) -> None:
    path = tmp_path / "decisions.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    result = run_cli("check", DSN, "--decisions", str(path))
    assert result.exit_code == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"pg-preflight: error: --decisions {path}: ")
    assert reason in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_cli_directory_is_rejected(tmp_path: Path) -> None:
    result = run_cli("check", DSN, "--decisions", str(tmp_path))
    assert result.exit_code == 2 and "is a directory" in result.stderr


def test_decisions_command_rejects_bad_table_syntax() -> None:
    result = run_cli("decisions", DSN, "-t", "noschema")
    assert result.exit_code == 2 and result.stderr.startswith("pg-preflight: error:")


def test_decisions_command_unreachable_is_incomplete() -> None:
    result = run_cli("decisions", DSN, "--connect-timeout", "1")
    assert result.exit_code == 3
    assert "could not judge the tables" in result.stderr and result.stdout == ""
