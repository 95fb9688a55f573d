"""The replication-path proof connects alongside the catalog session, and the catalog does not count it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from preflight import run_preflight, runner
from preflight.connection import APPLICATION_NAME, Dsn, open_session, parse_dsn
from preflight.facts import (
    ROLE,
    SERVER,
    WALSENDERS,
    FactContext,
    ProbeFact,
    ProbeStatus,
    ReplicationProbeResult,
    Scope,
    SqlFact,
)
from preflight.facts.replication_probe import REPLICATION_PROBE
from preflight.options import Options
from tests.servers import CDC_PASSWORD, Server, add_cdc_role

WAIT_S = 20.0  # a bound for waiting on the other thread, never a measured time


@contextmanager
def walsender(dsn: str, application_name: str) -> Iterator[psycopg.Connection[Any]]:
    """A replication=database connection held open (it occupies a walsender until closed)."""
    conn = psycopg.connect(dsn, autocommit=True, prepare_threshold=None, replication="database",
                           application_name=application_name)
    try:
        conn.execute("IDENTIFY_SYSTEM").fetchone()
        yield conn
    finally:
        conn.close()


def test_a_tenant_walsender_named_like_the_tool_is_counted_the_tools_own_probe_is_not(
        logical_server: Server) -> None:
    dsn = add_cdc_role(logical_server)
    options = Options(dsn=dsn)
    with walsender(dsn, APPLICATION_NAME) as impostor, walsender(dsn, "a real consumer") as consumer, \
            walsender(dsn, "stands in for the probe") as probe:
        snapshot = runner.take_snapshot(parse_dsn(dsn), options, [WALSENDERS, ROLE])
        pids = {impostor.info.backend_pid, consumer.info.backend_pid, probe.info.backend_pid}
        own = probe.info.backend_pid
    assert snapshot.failures == {}
    senders = snapshot.facts["walsenders"]
    assert set(senders.pids or []) == pids, senders
    assert senders.in_use(own) == 2  # the tenant's "pg-preflight" and the consumer; not the tool's probe
    role = snapshot.facts["role"]
    # the catalog session and the three walsenders, of which the probe is left out by its pid
    assert role.connections_without(own)[0] == 3, role
    assert role.connections_without(None)[0] == 4, role


def test_the_tools_own_probe_is_not_counted_by_a_whole_run(logical_server: Server) -> None:
    """A whole run with the probe alongside the catalog reads: only the tenant's walsender is in use."""
    dsn = add_cdc_role(logical_server)
    with walsender(dsn, APPLICATION_NAME):
        report = run_preflight(Options(dsn=dsn, checks=["slot_capacity"]))
    probe = report.check("slot_capacity")
    assert ", 1/" in probe.summary and "walsenders in use" in probe.summary, probe.summary


def test_the_proof_connects_before_the_catalog_session_does(logical_server: Server,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = add_cdc_role(logical_server)
    probe_started = threading.Event()
    seen: dict[str, bool] = {}

    def run_probe(conn: Any, ctx: FactContext) -> Any:
        probe_started.set()
        return REPLICATION_PROBE.run(conn, ctx)

    def open_session_after_the_probe(dsn: Dsn, *timeouts: float) -> psycopg.Connection[Any]:
        seen["probe started first"] = probe_started.wait(WAIT_S)
        return open_session(dsn, *timeouts)

    probe = ProbeFact("replication_probe", "test", ReplicationProbeResult, run_probe, scope=Scope.DATABASE)
    monkeypatch.setattr(runner, "open_session", open_session_after_the_probe)
    snapshot = runner.take_snapshot(parse_dsn(dsn), Options(dsn=dsn), [SERVER, probe])
    assert seen == {"probe started first": True}
    assert snapshot.facts["replication_probe"].status is ProbeStatus.OK, snapshot.facts
    assert "server" in snapshot.facts


def test_a_probe_that_raises_is_that_facts_failure_with_the_password_scrubbed(
        logical_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    dsn = add_cdc_role(logical_server)

    def explode(conn: Any, ctx: FactContext) -> Any:
        raise RuntimeError(f"could not reach the walsender with {CDC_PASSWORD}")

    probe = ProbeFact("replication_probe", "test", ReplicationProbeResult, explode, scope=Scope.DATABASE)
    snapshot = runner.take_snapshot(parse_dsn(dsn), Options(dsn=dsn), [SERVER, probe])
    assert "replication_probe" not in snapshot.facts
    failure = snapshot.failures["replication_probe"]
    assert failure.startswith("could not reach the walsender with ") and CDC_PASSWORD not in failure, failure
    assert "server" in snapshot.facts  # the catalog reads are not affected


def test_a_refused_catalog_session_reports_no_probe(logical_server: Server) -> None:
    add_cdc_role(logical_server)
    dsn = logical_server.dsn(user="cdc", password="not-the-password")
    snapshot = runner.take_snapshot(parse_dsn(dsn), Options(dsn=dsn), [SERVER, REPLICATION_PROBE])
    assert not snapshot.connect.ok
    assert snapshot.facts == {} and snapshot.failures == {}


@dataclass(frozen=True, slots=True)
class _Answer:
    answer: int


@dataclass(frozen=True, slots=True)
class _Echo:
    text: str


HOSTILE = "x'); SELECT 1; -- \\ \"q\" \u00e9 $$ %s"  # quotes, a ';', a comment, backslashes, dollar quotes


def _fact(name: str, sql: str) -> SqlFact[_Answer]:
    return SqlFact.one(name, "a test statement", _Answer, lambda ctx: (sql, {"v": 7}), scope=Scope.DATABASE)


@pytest.mark.only_on("local")
def test_on_the_walsender_one_failing_fact_is_its_own_failure(logical_server: Server) -> None:
    """--all-databases reads a database on its proof's walsender, every fact in one simple-protocol batch: a fact
    that fails is that fact's failure, the others are read (bound parameters included), and the session's
    own connection counts stay those of one catalog session."""
    dsn = add_cdc_role(logical_server)
    good, bad = _fact("good", "SELECT %(v)s::pg_catalog.int4 * 6 AS answer"), _fact("bad", "SELECT 1 / 0 AS answer")
    echo = SqlFact.rows("echo", "a parameter bound client-side", _Echo,
                        lambda ctx: ("SELECT %(s)s::pg_catalog.text AS text", {"s": HOSTILE}), scope=Scope.DATABASE)
    snapshot = runner.take_snapshot_on_walsender(parse_dsn(dsn), Options(dsn=dsn),
                                                 [good, bad, echo, SERVER, ROLE, REPLICATION_PROBE])
    assert snapshot.connect.ok
    proof = snapshot.facts[REPLICATION_PROBE.name]
    assert proof.status is ProbeStatus.OK and proof.backend_pid is None  # the proof's connection is the session
    assert snapshot.facts["good"] == _Answer(42)
    assert snapshot.facts["echo"] == [_Echo(HOSTILE)]  # quoted by psycopg, every character kept
    assert "bad" not in snapshot.facts and snapshot.failures["bad"].startswith("22012")  # division_by_zero
    assert snapshot.facts[SERVER.name].transaction_read_only == "on"
    role = snapshot.facts[ROLE.name]
    assert role.connections_without(proof.backend_pid) == (role.role_connections, role.database_connections)
    ordinary = runner.take_snapshot(parse_dsn(dsn), Options(dsn=dsn), [ROLE]).facts[ROLE.name]
    # the checker's own session counts as a client backend on either connection (headroom subtracts it)
    assert role.client_backends == ordinary.client_backends
    assert (role.role_connections, role.database_connections) == (ordinary.role_connections,
                                                                  ordinary.database_connections)
    assert CDC_PASSWORD not in str(snapshot.failures)
