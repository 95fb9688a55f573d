"""publication on a real server: coverage, ADD TABLE that runs as printed, FOR ALL TABLES, insert-only,
a role that cannot create one, partitions, column lists, and plugins without publications."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from preflight import Options, run_preflight
from preflight.models import CheckResult, CheckStatus, Finding
from tests.conftest import run_cli
from tests.servers import Server, add_cdc_role

HOSTILE = '"Sales EU"."a""b; DROP"'


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    """A server of our own with a hostile table name; publications are made per test."""
    server = servers()
    server.execute('CREATE SCHEMA "Sales EU"', f"CREATE TABLE {HOSTILE} (id int PRIMARY KEY, v text)",
                   "CREATE SCHEMA shop", "CREATE TABLE shop.orders (id int PRIMARY KEY, v text)",
                   "CREATE TABLE shop.items (id int PRIMARY KEY, v text)")
    return server


def check(server: Server, dsn: str | None = None, **options: object) -> CheckResult:
    opts = Options(dsn=dsn or server.dsn(), checks=["publication"], schemas=["Sales EU", "shop"], **options)
    return run_preflight(opts).check("publication")


def only(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.message) for f in result.findings]
    return found[0]


def test_missing_tables_listed_and_add_table_runs_as_printed(server: Server) -> None:
    server.execute("DROP PUBLICATION IF EXISTS somep", "CREATE PUBLICATION somep FOR TABLE shop.orders")
    try:
        result = run_cli("check", server.dsn(), "--publication", "somep", "--schema", "Sales EU", "--schema", "shop",
                         "--check", "publication", "--format", "json")
        pub = next(c for c in json.loads(result.stdout)["checks"] if c["id"] == "publication")
        assert pub["status"] == "fail"
        missing = {f["object"]: f["remediation"]["sql"] for f in pub["findings"] if f["code"] == "table_not_in_publication"}
        assert missing == {'Sales EU."a""b; DROP"': ['ALTER PUBLICATION "somep" ADD TABLE "Sales EU"."a""b; DROP";'],
                           "shop.items": ['ALTER PUBLICATION "somep" ADD TABLE "shop"."items";']}
        for statements in missing.values():
            server.execute(*statements)
        assert server.execute(f"SELECT count(*) FROM {HOSTILE}") == [(0,)]  # the name was an identifier, not SQL
        again = check(server, publication="somep")
        assert again.status is CheckStatus.PASS, again.findings
        assert "3/3 selected tables covered" in again.summary
    finally:
        server.execute("DROP PUBLICATION IF EXISTS somep")


def test_for_all_tables_covers_everything_and_insert_only_fails(server: Server) -> None:
    server.execute("CREATE PUBLICATION everything FOR ALL TABLES",
                   "CREATE PUBLICATION inserts FOR ALL TABLES WITH (publish = 'insert')")
    try:
        assert check(server, publication="everything").status is CheckStatus.PASS
        result = check(server, publication="inserts")
        assert result.status is CheckStatus.FAIL  # updates and deletes would be silently lost
        finding = only(result, "publication_operations")
        assert "insert-only" in finding.message and finding.observed == "insert"
        assert not [f for f in result.findings if f.code == "table_not_in_publication"]
    finally:
        server.execute("DROP PUBLICATION everything", "DROP PUBLICATION inserts")


def test_role_that_cannot_create_gets_owner_statement_which_works(server: Server) -> None:
    dsn = add_cdc_role(server)
    result = check(server, dsn=dsn)
    assert result.status is CheckStatus.WARN
    finding = only(result, "publication_cannot_create")
    assert "lacks CREATE on the database" in finding.message and "does not own" in finding.message
    assert "'postgres'" in finding.remediation.steps_text()[0]
    server.execute(*finding.remediation.sql_text())  # as the owner (the superuser here)
    try:
        assert check(server, dsn=dsn, publication="cdc_publication").status is CheckStatus.PASS
    finally:
        server.execute("DROP PUBLICATION cdc_publication")
    owner = check(server)  # the superuser may create it: info with the statement
    assert owner.status is CheckStatus.PASS
    assert only(owner, "publication_can_create").remediation.sql_text()[0].startswith('CREATE PUBLICATION "cdc_publication"')


def test_partitions_are_covered_through_their_leaves(server: Server) -> None:
    server.execute("CREATE SCHEMA part", "CREATE TABLE part.m (id int, PRIMARY KEY (id)) PARTITION BY RANGE (id)",
                   "CREATE TABLE part.m1 PARTITION OF part.m FOR VALUES FROM (0) TO (10)",
                   "CREATE PUBLICATION parts FOR TABLE part.m")
    try:
        opts = Options(dsn=server.dsn(), checks=["publication"], schemas=["part"], publication="parts")
        result = run_preflight(opts).check("publication")
        assert result.status is CheckStatus.PASS, result.findings
        assert only(result, "publish_via_partition_root_off").object == "parts"
        server.execute("ALTER PUBLICATION parts SET (publish_via_partition_root = true)")
        assert not run_preflight(opts).check("publication").findings
    finally:
        server.execute("DROP PUBLICATION parts", "DROP SCHEMA part CASCADE")


@pytest.mark.only_on("local", "pg16", "pg17", "pg18")  # column lists exist from PostgreSQL 15
def test_column_list_without_key_fails_and_its_fix_works(server: Server) -> None:
    server.execute("CREATE PUBLICATION cols FOR TABLE shop.orders (v), shop.items, \"Sales EU\".\"a\"\"b; DROP\"")
    try:
        result = check(server, publication="cols")
        assert result.status is CheckStatus.FAIL  # UPDATE/DELETE on shop.orders fail on the source
        finding = only(result, "column_list_omits_key")
        assert finding.object == "shop.orders" and "id" in finding.message
        members = "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'cols' ORDER BY 1, 2"
        before = server.execute(members)
        server.execute(*finding.remediation.sql_text())
        assert not [f for f in check(server, publication="cols").findings if f.code == "column_list_omits_key"]
        assert server.execute(members) == before  # the other members stay: no SET TABLE replacing the list
    finally:
        server.execute("DROP PUBLICATION cols")


def test_wal2json_needs_no_publication(server: Server) -> None:
    result = check(server, plugin="wal2json", publication="nope")
    assert result.status is CheckStatus.PASS
    assert [f.code for f in result.findings] == ["publication_not_needed"]


def test_insert_only_publication_turns_missing_identity_into_a_warning(servers: Callable[..., Server]) -> None:
    server = servers()
    server.execute("CREATE SCHEMA io", "CREATE TABLE io.events (at timestamptz, what text)",
                   "CREATE PUBLICATION inserts FOR TABLE io.events WITH (publish = 'insert')",
                   "CREATE PUBLICATION everything FOR TABLE io.events")
    soft = run_preflight(Options(dsn=server.dsn(), schemas=["io"], publication="inserts")).check("table_keys")
    assert soft.status.value == "warn"
    assert "publishes neither UPDATE nor DELETE" in soft.findings[0].message
    hard = run_preflight(Options(dsn=server.dsn(), schemas=["io"], publication="everything")).check("table_keys")
    assert hard.status.value == "fail"
