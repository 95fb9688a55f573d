"""A corpus of hostile identifiers in schemas, tables, indexes, roles, publications and slots: every
remediation statement the report prints executes as printed, and the re-check passes. The corpus holds
control characters, ESC sequences, bidi overrides, DEL, CR, LF, look-alikes and quotes; every printed
statement is printable."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
from psycopg import sql

from preflight import Options, run_preflight
from preflight.models import CheckStatus, Report
from tests.servers import Server

HOSTILE = [
    'a"b; DROP TABLE x; --', "Sales EU", "my.schema", "Ünïcode Tæble", "select", "MiXeD Case", "x" * 63,
    "é" * 31, "$$", "a\\b", "semi;colon", "quote'single", "end.", ".start", "  spaces  ", "table", "user",
    "日本語", "percent %s %(x)s", "brace{}", "--comment", "/* c */",
    # Non-printable and look-alike names: every statement naming them is written in U& form.
    "payroll", "payroll\x7f", "payroll\x1b[m", "p\u0430yroll", "payroll ", "Payroll", "pay\u202eroll", "cr\rname",
    "lf\nname", "tab\tname", "c1\x9bname", "zero\u200bwidth", "line\u2028sep", "nbsp\u00a0name",
    "back\\slash\"quote'\x07", "U&\"not\\0041\"", "tag\U000e0041",
]
ROLE = 'CDC "Reader"; --\x1b[2J\u202e'
PUBLICATION = 'pub "x"; --\x7f'
SLOT = "select"  # slot names are [a-z0-9_] only: a keyword is as hostile as they get


def ident(*parts: str) -> sql.Composable:
    return sql.Identifier(*parts)


def build(server: Server) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for name in HOSTILE:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident(name)))
            conn.execute(sql.SQL("CREATE TABLE {} (id int NOT NULL, note text)").format(ident(name, name)))
            conn.execute(sql.SQL("CREATE UNIQUE INDEX {} ON {} (id)").format(ident(name[:40] + " idx"), ident(name, name)))
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'r-pw-1234'").format(ident(ROLE)))
        conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(ident(PUBLICATION), ident(HOSTILE[0], HOSTILE[0])))
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", [SLOT])


def run(server: Server) -> Report:
    return run_preflight(Options(dsn=server.dsn(), schemas=HOSTILE, role=ROLE, publication=PUBLICATION,
                                 slot_name=SLOT, checks=["table_keys", "grants", "publication", "existing_slots"]))


def test_every_printed_statement_runs_and_the_recheck_passes(servers: Callable[..., Server]) -> None:
    server = servers()
    build(server)
    first = run(server)
    for check_id in ("table_keys", "grants", "publication", "existing_slots"):
        assert first.check(check_id).status in (CheckStatus.FAIL, CheckStatus.WARN), check_id
    statements = [s for c in first.checks for f in c.findings for s in f.remediation.sql_text()]
    assert len(statements) >= len(HOSTILE) * 2
    assert any("pg_drop_replication_slot" in s for s in statements)
    assert all(s.isprintable() for s in statements)
    assert any('U&"payroll\\007F"' in s for s in statements)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())  # exactly as printed
    second = run(server)
    for check_id in ("table_keys", "grants", "publication", "existing_slots"):
        result = second.check(check_id)
        assert result.status is CheckStatus.PASS, (check_id, [f.message for f in result.findings][:3])
    assert len([t for t in second.tables if t.status == "ok"]) == len(HOSTILE)
    assert {(t.schema_, t.name) for t in second.tables} == {(n, n) for n in HOSTILE}
