"""Differential suite: pg-preflight's verdict against what PostgreSQL does when a consumer really replicates.

Each scenario builds a source, asks pg-preflight, replicates with a native subscription from a second
server and/or a CDC slot (tests/oracle.py), and asserts agreement: ``ready`` exactly when replication
works, and each failing check naming the failure PostgreSQL raised. Where the report is not ready, the
printed script is applied as printed (psql, superuser), the source re-checked and replicated again.

Where pg-preflight is wrong today the test still asserts the true behaviour and is marked
``xfail(strict=True)`` with the class and what goes wrong: the fix must remove the mark.
docs/oracle.md lists the scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from preflight import pgserver
from tests import oracle
from tests.oracle import Outcome, failing, native, preflight, run, script
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role

pytestmark = [pytest.mark.server, pytest.mark.only_on("local", "pg17")]

PUB = "cdc_publication"  # the name pg-preflight's printed CREATE PUBLICATION uses


@pytest.fixture(scope="module")
def subscriber(servers: Callable[..., Server]) -> Server:
    """The second server: one per module, a fresh database per subscription; failed workers retry fast."""
    return servers(wal_retrieve_retry_interval="200ms")


@pytest.fixture()
def source(servers: Callable[..., Server]) -> Iterator[Server]:
    """A fresh source per scenario (cheap: a copied template), prepared transactions allowed."""
    server = servers(max_prepared_transactions="5")
    yield server
    server.destroy()


def healthy(server: Server, *tables: str, publication: str | None = PUB) -> str:
    """Tables with keys, the CDC role allowed to read them, the publication the consumer uses: its DSN."""
    oracle.make_tables(server, *tables)
    dsn = add_cdc_role(server)
    for name in tables:
        run(server, psycopg.sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            psycopg.sql.Identifier(name.partition(".")[0]), psycopg.sql.Identifier(CDC_USER)))
        run(server, psycopg.sql.SQL("GRANT SELECT ON {} TO {}").format(oracle.qualified(name),
                                                                         psycopg.sql.Identifier(CDC_USER)))
    if publication:
        run(server, psycopg.sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
            psycopg.sql.Identifier(publication), psycopg.sql.SQL(", ").join(oracle.qualified(t) for t in tables)))
    return dsn


def replicate(source: Server, subscriber: Server, dsn: str, tables: list[str], writes: list[str] | None = None,
              publication: str = PUB) -> list[Outcome]:
    """Both consumers with pgoutput and the same publication."""
    writes = writes or tables
    return [native(source, subscriber, dsn, publication, writes),
            oracle.cdc(source, dsn, "pgoutput", tables, writes, publication)]


def agree(report: dict[str, object], outcomes: list[Outcome]) -> None:
    """ready exactly when every consumer's replication works."""
    works = all(o.works for o in outcomes)
    assert (report["status"] == "ready") == works, (report["status"], failing(report), [str(o) for o in outcomes])


def fix(source: Server, dsn: str, *args: str) -> dict[str, object]:
    """Apply the printed script as printed (superuser, psql); the re-check's report."""
    errors = oracle.apply(source, script(dsn, *args))
    assert errors == "", errors
    return preflight(dsn, *args)


# --------------------------------------------------------------------------------------------- healthy


def test_healthy_source_is_ready_and_replicates(source: Server, subscriber: Server, backend: object) -> None:
    dsn = healthy(source, "app.a", "app.b")
    report = preflight(dsn, "-s", "app", "--publication", PUB)
    outcomes = replicate(source, subscriber, dsn, ["app.a", "app.b"])
    outcomes.append(oracle.cdc(source, dsn, "test_decoding", ["app.a", "app.b"], ["app.a", "app.b"]))
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]
    assert report["status"] == "ready", failing(report)
    assert preflight(dsn, "-s", "app", "--publication", PUB, "--plugin", "test_decoding")["status"] == "ready"


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server only
def test_healthy_source_with_wal2json(source: Server, backend: object) -> None:
    dsn = healthy(source, "app.a", publication=None)
    outcome = oracle.cdc(source, dsn, "wal2json", ["app.a"], ["app.a"])
    assert outcome.works, outcome
    assert preflight(dsn, "-s", "app", "--plugin", "wal2json", "--probe")["status"] == "ready"


# -------------------------------------------------------------------------------- transactions blocking


def test_prepared_transaction_blocks_slot_creation(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    run(source, "CREATE TABLE public.side (i int)")  # the transaction's table is not replicated: its xid blocks
    run(source, "BEGIN; INSERT INTO public.side VALUES (1); PREPARE TRANSACTION 'oracle_prepared'")
    try:
        report = preflight(dsn, "-s", "app", "--publication", PUB)
        outcomes = replicate(source, subscriber, dsn, ["app.a"])
        assert all(o.said("slot creation waits for a transaction") for o in outcomes), [str(o) for o in outcomes]
        agree(report, outcomes)
        assert "long_transactions" in failing(report)
    finally:
        run(source, "ROLLBACK PREPARED 'oracle_prepared'")  # the manual step: no SQL fix can decide it
    assert preflight(dsn, "-s", "app", "--publication", PUB)["status"] == "ready"
    assert all(o.works for o in replicate(source, subscriber, dsn, ["app.a"]))


def test_idle_in_transaction_holding_xid_blocks_slot_creation(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    run(source, "CREATE TABLE public.side (i int)")
    with psycopg.connect(oracle.local(source).admin_dsn()) as idle:
        idle.execute("INSERT INTO public.side VALUES (1)")  # holds an xid, stays idle in transaction
        report = preflight(dsn, "-s", "app", "--publication", PUB)
        outcome = oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB)
        assert outcome.said("slot creation waits for a transaction"), outcome
        agree(report, [outcome])
        assert "long_transactions" in failing(report)
        idle.rollback()
    assert preflight(dsn, "-s", "app", "--publication", PUB)["status"] == "ready"
    assert oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB).works


# ---------------------------------------------------------------------------- publication beyond selection


def test_for_all_tables_reaches_a_keyless_table_outside_the_selection(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "other.log", keyless=["other.log"])
    run(source, "GRANT USAGE ON SCHEMA other TO cdc", "GRANT SELECT ON other.log TO cdc")
    run(source, "CREATE PUBLICATION allpub FOR ALL TABLES")
    args = ("-s", "app", "--publication", "allpub")
    report = preflight(dsn, *args)
    outcome = native(source, subscriber, dsn, "allpub", ["app.a", "other.log"])
    assert outcome.said('cannot update table "log" because it does not have a replica identity'), outcome
    agree(report, [outcome])
    assert "table_keys" in failing(report)
