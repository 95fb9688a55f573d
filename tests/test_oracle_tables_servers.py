"""The oracle for what the consumer receives of each table: PostgreSQL replicates, and pg-preflight's verdict
must agree with what arrived.

- Row-level security: a native subscription (its connection's role) and a CDC slot's initial copy (a snapshot
  read as the CDC role) receive fewer rows than the table holds, with no error; ``row_security`` fails exactly
  then, and its printed policy makes both copies whole.
- Generated columns: the columns pgoutput announces for a table (its Relation message) leave generated ones out
  before 18, and on 18 include stored ones only with ``publish_generated_columns = stored``; ``columns`` warns
  exactly when a generated column is missing.
"""

from __future__ import annotations

import secrets
import struct
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from preflight import Options, run_preflight
from preflight.models import CheckResult
from tests import oracle
from tests.oracle import run
from tests.servers import CDC_USER, Server, add_cdc_role

pytestmark = [pytest.mark.server]

PUB = "cdc_publication"
ROWS = 5


@pytest.fixture(scope="module")
def subscriber(servers: Callable[..., Server]) -> Server:
    """The second server, with the CDC role too (the copied schema's policies name it)."""
    server = servers(wal_retrieve_retry_interval="200ms")
    add_cdc_role(server)
    return server


@pytest.fixture()
def source(servers: Callable[..., Server]) -> Iterator[Server]:
    server = servers()
    yield server
    server.destroy()


def verdict(dsn: str, check_id: str, *, role: str | None = None) -> CheckResult:
    return run_preflight(Options(dsn=dsn, checks=[check_id], role=role)).check(check_id)


def native_copy_rows(source: Server, subscriber: Server, cdc_dsn: str, table: str) -> int:
    """Rows a native subscription (connecting as the CDC role) copied of ``table`` once its copy is done."""
    name = f"oracle_{secrets.token_hex(4)}"
    oracle.copy_schema(source, subscriber, name)
    offset = oracle._log_offset(subscriber)
    try:
        run(subscriber, sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}").format(
            sql.Identifier(name), sql.Literal(cdc_dsn + f" application_name={name}"), sql.Identifier(PUB)), dbname=name)
        assert oracle._await_copy(subscriber, name, offset) == []
        return int(run(subscriber, sql.SQL("SELECT count(*) FROM {}").format(oracle.qualified(table)), dbname=name)[0][0])
    finally:
        oracle._drop_subscription(source, subscriber, name)


def slot_copy_rows(source: Server, cdc_dsn: str, table: str) -> int:
    """Rows a CDC connector's initial copy reads: a slot created over a replication connection as the CDC role,
    the table read in the slot's own snapshot (USE_SNAPSHOT) in that session."""
    slot = f"oracle_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(cdc_dsn, replication="database", autocommit=True, prepare_threshold=None) as conn:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            conn.execute(sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput USE_SNAPSHOT").format(sql.Identifier(slot)))
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(oracle.qualified(table))).fetchone()
            conn.execute("COMMIT")
        assert row is not None
        return int(row[0])
    finally:
        oracle.drop_slot(source, slot)


@pytest.mark.only_on("local")
def test_row_security_shortens_the_initial_copy_exactly_when_row_security_fails(
        source: Server, subscriber: Server) -> None:
    cdc_dsn = add_cdc_role(source)
    run(source, "CREATE TABLE public.accounts (id int PRIMARY KEY, tenant int)",
        f"INSERT INTO public.accounts SELECT g, g % 2 FROM generate_series(1, {ROWS}) AS g",
        f"GRANT SELECT ON public.accounts TO {CDC_USER}",
        f"CREATE PUBLICATION {PUB} FOR TABLE public.accounts",
        "ALTER TABLE public.accounts ENABLE ROW LEVEL SECURITY")
    result = verdict(source.dsn(), "row_security", role=CDC_USER)
    assert [f.code for f in result.findings] == ["row_security_filters_copy"]
    assert (native_copy_rows(source, subscriber, cdc_dsn, "public.accounts"),
            slot_copy_rows(source, cdc_dsn, "public.accounts")) == (0, 0)  # no policy: nothing, silently

    run(source, "CREATE POLICY tenant_one ON public.accounts FOR SELECT USING (tenant = 1)")
    assert [f.code for f in verdict(source.dsn(), "row_security", role=CDC_USER).findings] == [
        "row_security_filters_copy"]
    assert (native_copy_rows(source, subscriber, cdc_dsn, "public.accounts"),
            slot_copy_rows(source, cdc_dsn, "public.accounts")) == (3, 3)  # only tenant 1's rows

    run(source, *result.findings[0].remediation.sql_text())  # the printed policy, as printed
    assert verdict(source.dsn(), "row_security", role=CDC_USER).findings == []
    assert (native_copy_rows(source, subscriber, cdc_dsn, "public.accounts"),
            slot_copy_rows(source, cdc_dsn, "public.accounts")) == (ROWS, ROWS)


def announced_columns(source: Server, table: str) -> list[str]:
    """The columns pgoutput (protocol 1) announces for ``table`` in its Relation message after an INSERT."""
    slot = f"oracle_{secrets.token_hex(4)}"
    run(source, sql.SQL("SELECT pg_catalog.pg_create_logical_replication_slot({}, 'pgoutput')").format(sql.Literal(slot)))
    try:
        run(source, sql.SQL("INSERT INTO {0} (id, x) SELECT COALESCE(max(id), 0) + 1, 7 FROM {0}").format(
            oracle.qualified(table)))
        deadline = time.monotonic() + oracle.DEADLINE_S
        while time.monotonic() < deadline:
            rows = run(source, sql.SQL("SELECT data FROM pg_catalog.pg_logical_slot_get_binary_changes({}, NULL, NULL, "
                                       "'proto_version', '1', 'publication_names', {})").format(
                sql.Literal(slot), sql.Literal(PUB)))
            for (data,) in rows:
                if bytes(data)[:1] == b"R":
                    return _relation_columns(bytes(data))
            time.sleep(oracle.POLL_S)
        raise AssertionError("no Relation message within the deadline")
    finally:
        oracle.drop_slot(source, slot)


def _relation_columns(data: bytes) -> list[str]:
    """Column names of a pgoutput Relation message: 'R', relid, namespace, name, replident, natts, columns."""
    pos = 5
    for _ in range(2):  # namespace, relation name
        pos = data.index(b"\0", pos) + 1
    pos += 1  # replica identity
    (natts,) = struct.unpack_from("!h", data, pos)
    pos += 2
    names = []
    for _ in range(natts):
        end = data.index(b"\0", pos + 1)
        names.append(data[pos + 1:end].decode())
        pos = end + 1 + 8  # type oid, type modifier
    return names


@pytest.mark.only_on("local", "pg18")
def test_generated_columns_reach_the_consumer_exactly_when_columns_says_so(source: Server) -> None:
    run(source, "CREATE TABLE public.gen (id int PRIMARY KEY, x int, doubled int GENERATED ALWAYS AS (x * 2) STORED)",
        f"CREATE PUBLICATION {PUB} FOR TABLE public.gen")
    missing = {f.object for f in verdict(source.dsn(), "columns").findings if f.code == "generated_columns_not_published"}
    assert announced_columns(source, "public.gen") == ["id", "x"]
    assert missing == {"public.gen"}
    if source.version < 18:
        return
    run(source, f"ALTER PUBLICATION {PUB} SET (publish_generated_columns = stored)")
    missing = {f.object for f in verdict(source.dsn(), "columns").findings if f.code == "generated_columns_not_published"}
    assert announced_columns(source, "public.gen") == ["id", "x", "doubled"]
    assert missing == set()
