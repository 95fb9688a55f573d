"""The selection on real servers: what extensions own stays out of the default one, and a missing -t fails.

Extensions are written into the server's ``share/extension`` directory (as the oracle suite does), under
names of their own so that servers sharing one installation do not collide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from preflight import Options, run_preflight
from preflight.models import CheckStatus, Report, Severity, Verdict
from tests import oracle
from tests.conftest import run_cli
from tests.servers import CDC_USER, Server, add_cdc_role

# Debian's server, and the oldest major of the matrix (the selection SQL must run there too).
pytestmark = [pytest.mark.server, pytest.mark.only_on("local", "pg14")]


@pytest.fixture()
def server(servers: Callable[..., Server]) -> Iterator[Server]:
    """A server of its own: extensions and roles are created in it."""
    fresh = servers()
    yield fresh
    fresh.destroy()


def install_extensions(server: Server) -> None:
    """Three ways an extension owns relations, beside an application table ``app.orders``.

    ``sel_ext_made``: its control file names a schema that CREATE EXTENSION makes (not a member itself);
    ``sel_ext_owns``: its script creates a schema (a member) and a table there, and a table in ``app``.
    """
    share = oracle.extension_dir(server)
    (share / "sel_ext_made.control").write_text("default_version = '1.0'\nrelocatable = false\nschema = sel_ext_made\n")
    (share / "sel_ext_made--1.0.sql").write_text("CREATE TABLE sel_ext_made.journal (entry text);\n"
                                                 "CREATE VIEW sel_ext_made.entries AS SELECT entry FROM sel_ext_made.journal;\n")
    (share / "sel_ext_owns.control").write_text("default_version = '1.0'\nrelocatable = false\n")
    (share / "sel_ext_owns--1.0.sql").write_text("CREATE SCHEMA sel_ext_own;\n"
                                                 "CREATE TABLE sel_ext_own.queue (item text);\n"
                                                 "CREATE TABLE @extschema@.ext_state (v text);\n")
    server.execute("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY)",
                   "CREATE EXTENSION sel_ext_made", "CREATE EXTENSION sel_ext_owns SCHEMA app")


def check(dsn: str, *checks: str, **options: object) -> Report:
    return run_preflight(Options(dsn=dsn, checks=list(checks), **options))


def selected(report: Report) -> list[str]:
    return [f"{t.schema_}.{t.name}" for t in report.tables]


def test_default_selection_leaves_extension_relations_out_and_says_so(server: Server) -> None:
    install_extensions(server)
    add_cdc_role(server)
    server.execute(f"GRANT USAGE ON SCHEMA app TO {CDC_USER}", f"GRANT SELECT ON app.orders TO {CDC_USER}")
    report = check(server.dsn(), "table_keys", "grants", role=CDC_USER)
    assert selected(report) == ["app.orders"]
    keys = report.check("table_keys")
    assert keys.status is CheckStatus.PASS, keys.findings
    notes = {(f.object, f.observed): f.message for f in keys.findings if f.code == "extension_tables_not_selected"}
    assert set(notes) == {("app", 1), ("sel_ext_made", 2), ("sel_ext_own", 1)}
    assert notes[("sel_ext_made", 2)] == (
        "2 extension-owned relation(s) in schema sel_ext_made (extension sel_ext_made) not selected: they belong "
        "to the extension, not the application. Name them with -s/-t to check them anyway.")
    assert "(extension sel_ext_owns)" in notes[("app", 1)]
    assert "(extension sel_ext_owns)" in notes[("sel_ext_own", 1)]
    assert all(f.severity is Severity.INFO for f in keys.findings if f.code == "extension_tables_not_selected")
    # neither schema the extensions own is judged for USAGE, nor their tables for SELECT
    assert [f.code for f in report.check("grants").findings if f.severity is Severity.ERROR] == []
    assert report.check("grants").status is CheckStatus.PASS


def test_naming_extension_relations_still_checks_them(server: Server) -> None:
    install_extensions(server)
    by_schema = check(server.dsn(), "table_keys", schemas=["sel_ext_made", "sel_ext_own"])
    assert selected(by_schema) == ["sel_ext_made.entries", "sel_ext_made.journal", "sel_ext_own.queue"]
    keys = by_schema.check("table_keys")
    assert keys.status is CheckStatus.FAIL
    assert sorted(str(f.object) for f in keys.findings if f.code == "no_replica_identity") == [
        "sel_ext_made.journal", "sel_ext_own.queue"]
    assert [f for f in keys.findings if f.code == "extension_tables_not_selected"] == []
    by_table = check(server.dsn(), "table_keys", tables=["app.ext_state"])
    assert selected(by_table) == ["app.ext_state"]
    assert [f.object for f in by_table.check("table_keys").findings if f.code == "no_replica_identity"] == [
        "app.ext_state"]


def test_table_that_does_not_exist_fails_table_keys(server: Server) -> None:
    server.execute("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY)")
    report = check(server.dsn(), "table_keys", "grants", tables=["app.orders", "app.nope", "App.orders", "ghost.t"])
    keys = report.check("table_keys")
    assert keys.status is CheckStatus.FAIL
    missing = [f for f in keys.findings if f.code == "table_missing"]
    assert [(f.object, f.severity) for f in missing] == [("app.nope", Severity.ERROR), ("App.orders", Severity.ERROR),
                                                         ("ghost.t", Severity.ERROR)]
    assert keys.summary == "1 relation(s): 1 ok; 3 table(s) named with -t missing"
    # the missing schemas are grants' findings, as for -s
    assert [f.object for f in report.check("grants").findings if f.code == "schema_missing"] == ["App", "ghost"]
    assert report.status is Verdict.NOT_READY


def test_decisions_for_a_table_that_does_not_exist_is_a_clear_error(server: Server) -> None:
    server.execute("CREATE SCHEMA app", "CREATE TABLE app.keyless (v int)")
    result = run_cli("decisions", server.dsn(), "-t", "app.keyless", "-t", "app.nope")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == ("pg-preflight: error: decisions: no such table: app.nope (-t takes schema.table; "
                             "names are case-sensitive)\n")
    ok = run_cli("decisions", server.dsn(), "-t", "app.keyless")
    assert ok.exit_code == 0, ok.stderr
    assert ok.stdout == '{\n  "decisions": {\n    "app.keyless": "replica_identity_full"\n  }\n}\n'
