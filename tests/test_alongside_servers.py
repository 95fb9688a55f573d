"""The replication-path proof connects alongside the catalog session, and the catalog does not count it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from preflight import runner
from preflight.connection import APPLICATION_NAME, Dsn, open_session, parse_dsn
from preflight.facts import ROLE, SERVER, WALSENDERS, FactContext, ProbeFact, ProbeStatus, ReplicationProbeResult
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


def test_the_checkers_own_walsender_is_not_counted_as_in_use(logical_server: Server) -> None:
    dsn = add_cdc_role(logical_server)
    options = Options(dsn=dsn)
    with walsender(dsn, APPLICATION_NAME), walsender(dsn, "a real consumer"):
        snapshot = runner.take_snapshot(parse_dsn(dsn), options, [WALSENDERS, ROLE])
    assert snapshot.failures == {}
    senders = snapshot.facts["walsenders"]
    assert (senders.walsenders, senders.streaming) == (1, 1), senders  # the consumer, not the probe
    role = snapshot.facts["role"]
    # the catalog session itself and the consumer's walsender; the held probe-named walsender is left out
    assert role.role_connections == 2, role
    assert role.database_connections >= 2, role


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

    probe = ProbeFact("replication_probe", "test", ReplicationProbeResult, run_probe)
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

    probe = ProbeFact("replication_probe", "test", ReplicationProbeResult, explode)
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
