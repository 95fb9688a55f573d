"""Class 2: the checker's own session through a real PgBouncer, and the two-session proof of the endpoint."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from preflight import Options, run_preflight
from preflight.models import CheckStatus, Report
from tests.conftest import PLUMBING
from tests.pgbouncer import Bouncer, bouncer
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role
from tests.test_read_only_proof_servers import READS, logged_statements, wait_for_log

pytestmark = PLUMBING


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    started = servers(log_statement="all", log_line_prefix="%a|", log_min_messages="warning")
    add_cdc_role(started)
    started.execute(f"GRANT pg_read_all_stats TO {CDC_USER}")
    return started


@pytest.fixture(scope="module")
def session_pool(server: Server) -> Iterator[Bouncer]:
    with bouncer(server, "session", {CDC_USER: CDC_PASSWORD}) as running:
        yield running


@pytest.fixture(scope="module")
def transaction_pool(server: Server) -> Iterator[Bouncer]:
    with bouncer(server, "transaction", {CDC_USER: CDC_PASSWORD}) as running:
        yield running


def codes(report: Report, check_id: str) -> list[str]:
    return [f.code for f in report.check(check_id).findings]


def test_direct_server_is_session_stable(server: Server) -> None:
    report = run_preflight(Options(dsn=server.dsn(user=CDC_USER, password=CDC_PASSWORD), checks=["session_endpoint"]))
    assert codes(report, "session_endpoint") == ["session_stable"]
    assert report.check("session_endpoint").status is CheckStatus.PASS


def test_checker_session_works_through_pgbouncer_defaults(session_pool: Bouncer) -> None:
    """PgBouncer refuses the options startup parameter; the checker reconnects without it and still reads."""
    report = run_preflight(Options(dsn=session_pool.dsn(CDC_USER)))
    assert report.check("reachability").status is CheckStatus.PASS
    assert "unsupported startup parameter: options" in session_pool.log()
    assert report.check("logical_replication").status is not CheckStatus.ERROR
    # its replication connection is refused by the pooler, and said so
    grants = report.check("grants")
    assert any(f.code == "replication_connection_failed" and "pooler" in f.message for f in grants.findings), grants
    assert codes(report, "session_endpoint") == ["proxied_endpoint"]


def test_session_settings_hold_without_startup_options(transaction_pool: Bouncer) -> None:
    """Through a transaction pool the settings ride as SET LOCAL in the catalog transaction."""
    from preflight.connection import open_session, parse_dsn
    from preflight.connection.session import local_settings, used_startup_options

    conn = open_session(parse_dsn(transaction_pool.dsn(CDC_USER)), 5, 7, 3)
    try:
        assert not used_startup_options(conn)
        with conn.pipeline():
            for statement in local_settings(conn):
                conn.execute(statement)
            cursor = conn.execute("SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), "
                                  "current_setting('search_path'), current_setting('transaction_read_only')")
        assert cursor.fetchone() == ("7s", "3s", '""', "on")
        conn.rollback()
    finally:
        conn.close()


def test_transaction_pooler_is_caught(transaction_pool: Bouncer) -> None:
    report = run_preflight(Options(dsn=transaction_pool.dsn(CDC_USER), checks=["session_endpoint"]))
    result = report.check("session_endpoint")
    assert codes(report, "session_endpoint") == ["transaction_pooled"]
    assert result.status is CheckStatus.FAIL
    assert "127.0.0.1 port" in result.findings[0].remediation.steps_text()[0]


def test_statement_pooler_is_caught(server: Server) -> None:
    with bouncer(server, "statement", {CDC_USER: CDC_PASSWORD}) as running:
        report = run_preflight(Options(dsn=running.dsn(CDC_USER), checks=["session_endpoint"]))
    assert codes(report, "session_endpoint") == ["statement_pooled"], report.check("session_endpoint").findings


def test_dsn_that_targets_a_reader_fails(server: Server) -> None:
    dsn = server.dsn(user=CDC_USER, password=CDC_PASSWORD) + " target_session_attrs=prefer-standby"
    report = run_preflight(Options(dsn=dsn, checks=["session_endpoint"]))
    assert codes(report, "session_endpoint") == ["dsn_targets_reader", "session_stable"]
    assert report.check("session_endpoint").status is CheckStatus.FAIL


def test_multi_host_dsn_without_writer_pin_warns(server: Server) -> None:
    host, port = server.host, server.port  # type: ignore[attr-defined]
    dsn = f"host={host},{host} port={port},{port} user={CDC_USER} password={CDC_PASSWORD} dbname=postgres"
    report = run_preflight(Options(dsn=dsn, checks=["session_endpoint"]))
    assert codes(report, "session_endpoint") == ["dsn_hosts_unpinned", "session_stable"]
    pinned = run_preflight(Options(dsn=dsn + " target_session_attrs=read-write", checks=["session_endpoint"]))
    assert codes(pinned, "session_endpoint") == ["session_stable"]


def test_pooler_refusal_is_classified(server: Server) -> None:
    import psycopg

    with bouncer(server, "session", {CDC_USER: CDC_PASSWORD}, max_client_conn="1") as running, \
            psycopg.connect(running.dsn(CDC_USER)):
        report = run_preflight(Options(dsn=running.dsn(CDC_USER), checks=["reachability"]))
    reach = report.check("reachability")
    assert codes(report, "reachability") == ["connect_pooler"], reach
    assert "max_client_conn" in reach.findings[0].message


def test_every_statement_through_a_transaction_pool_is_a_read(server: Server, transaction_pool: Bouncer) -> None:
    """The whole check through PgBouncer in transaction mode: the settings ride as SET LOCAL, nothing writes."""
    from preflight import pgserver

    assert isinstance(server, pgserver.LocalServer)
    since = len((server.root / "server.log").read_text(errors="replace"))
    report = run_preflight(Options(dsn=transaction_pool.dsn(CDC_USER)))
    assert not [c.id for c in report.checks if c.status is CheckStatus.ERROR]
    wait_for_log(server)
    statements = logged_statements(server, since)
    assert [s for s in statements if not READS.match(s)] == []
    assert "SET LOCAL statement_timeout = 30000" in statements
    assert "SET LOCAL search_path = ''" in statements


def test_a_proof_that_cannot_run_is_said(server: Server) -> None:
    """A session pool of one server connection: the checker's own session holds it, the proof's sessions wait."""
    with bouncer(server, "session", {CDC_USER: CDC_PASSWORD}, default_pool_size="1", query_wait_timeout="1") as running:
        report = run_preflight(Options(dsn=running.dsn(CDC_USER), checks=["session_endpoint"]))
    [finding] = report.check("session_endpoint").findings
    assert (finding.code, finding.severity.value) == ("session_probe_failed", "warning")
    assert "could not run" in finding.message


class RoundRobin:
    """A TCP load balancer in front of two servers: each new connection goes to the next one (a reader endpoint)."""

    def __init__(self, ports: list[int]) -> None:
        import socket
        import threading

        self.ports, self.count = ports, 0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        import socket
        import threading

        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.ports[self.count % len(self.ports)]))
            self.count += 1
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: Any, target: Any) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(2)

    def close(self) -> None:
        self.listener.close()


def test_sessions_on_different_servers_cannot_share_a_snapshot(server: Server, servers: Callable[..., Server]) -> None:
    other = servers()
    add_cdc_role(other)
    balancer = RoundRobin([server.port, other.port])  # type: ignore[attr-defined]
    try:
        dsn = f"host=127.0.0.1 port={balancer.port} user={CDC_USER} password={CDC_PASSWORD} dbname=postgres"
        report = run_preflight(Options(dsn=dsn, checks=["session_endpoint"]))
    finally:
        balancer.close()
    [finding] = report.check("session_endpoint").findings
    assert (finding.code, finding.severity.value) == ("snapshot_not_shared", "error")
    assert "invalid snapshot identifier" in finding.message
