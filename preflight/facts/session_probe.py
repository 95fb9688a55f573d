"""Is the DSN one session-stable primary backend? Two read-only sessions of the DSN prove it.

A CDC consumer keeps state on its session (the exported snapshot of its slot, read by a second
session with ``SET TRANSACTION SNAPSHOT``; prepared statements; its transaction) and expects every
session of the DSN to reach the same server. A pooler in transaction mode hands the next transaction
to whichever server connection is free, and a reader endpoint may put the second session on another
server. The proof, all reads, with the catalog session (its reads done) as A and one new session B
(a connection costs far more than a round trip): A exports a snapshot in a ``REPEATABLE READ READ ONLY``
transaction, session B imports it (``SET TRANSACTION SNAPSHOT``; only the server holding it can), A
ends its transaction, then B runs one more transaction: under transaction pooling B may now run on the
backend A released. The process id the server reports is compared with the one the endpoint gave at
start-up (a pooler gives its own), and the server's own address is read: the host to use instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from preflight.connection import Dsn, parse_dsn, scrub
from preflight.connection.session import (
    end_transaction,
    local_settings,
    open_session,
    transaction_in_one_round,
    used_startup_options,
)
from preflight.facts.base import FactContext, ProbeFact, ProbeStatus, Scope
from preflight.pg_versions import TRANSACTION_TIMEOUT, supports


@dataclass(frozen=True, slots=True)
class SessionProbeResult:
    """What two sessions of the DSN saw; ``kind`` names a failure (``statement_pooling``,
    ``snapshot_not_shared``, ``connect``, ``other``)."""

    status: ProbeStatus
    startup_options: bool | None = None  # the endpoint accepted the ``options`` startup parameter
    announced_pid: int | None = None  # the process id the endpoint gave at start-up (BackendKeyData)
    first_pid: int | None = None  # session A's backend, as the server reports it
    second_pid: int | None = None  # session B's backend while it imported A's snapshot
    second_pid_again: int | None = None  # session B's backend in its next transaction
    snapshot_shared: bool | None = None
    in_recovery: bool | None = None
    default_read_only: bool | None = None
    server_addr: str | None = None  # the backend's own address and port (inet_server_addr/port)
    server_port: int | None = None
    kind: str | None = None
    detail: str | None = None
    reason: str | None = None

    @property
    def proxied(self) -> bool:
        """Something between the client and the server answered the start-up (its own process id)."""
        return self.announced_pid is not None and self.first_pid is not None and self.announced_pid != self.first_pid

    @property
    def session_moves(self) -> bool:
        """One client session ran on two backends, or two sessions on one: transaction pooling."""
        return (self.second_pid_again is not None and self.second_pid is not None
                and self.second_pid_again != self.second_pid)


_FIRST = ("SELECT pg_catalog.pg_export_snapshot(), pg_catalog.pg_backend_pid(), pg_catalog.pg_is_in_recovery(), "
          "pg_catalog.current_setting('default_transaction_read_only') = 'on', "
          "pg_catalog.host(pg_catalog.inet_server_addr()), pg_catalog.inet_server_port()")


SNAPSHOT_BEGIN = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"  # a snapshot to export, and to import
INVALID_SNAPSHOT = "22023"  # invalid_parameter_value: "invalid snapshot identifier"


def _settings(conn: psycopg.Connection[Any]) -> None:
    """The session's settings at the start of a transaction (queued in the caller's pipeline)."""
    for statement in local_settings(conn):  # where a pooler refused the startup options
        conn.execute(statement)
    if supports(conn.info.server_version, TRANSACTION_TIMEOUT):  # a stored transaction_timeout must not end the proof (see gather)
        conn.execute("SET LOCAL transaction_timeout = 0")


def prove_session(first: psycopg.Connection[Any], dsn_text: str | None, connect_timeout: float,
                  statement_timeout: float, lock_timeout: float, secrets: list[str]) -> SessionProbeResult:
    """Run the two-session proof with the catalog session as the first one (its reads are done) and one new
    session of the DSN; failures are data (classified, scrubbed), never raised for I/O."""
    dsn = parse_dsn(dsn_text)
    own = None  # a first session of the proof's own when the catalog session was lost (a statement pooler ends it)
    try:
        if first.closed or first.broken:
            first = own = open_session(dsn, connect_timeout, statement_timeout, lock_timeout)
        second = open_session(dsn, connect_timeout, statement_timeout, lock_timeout)
    except psycopg.Error as exc:
        if own is not None:
            own.close()
        return SessionProbeResult(ProbeStatus.FAILED, kind="connect", detail=scrub(str(exc).strip(), secrets))
    base: dict[str, Any] = {"startup_options": used_startup_options(first), "announced_pid": first.info.backend_pid}
    try:
        first.rollback()  # the catalog reads' transaction, if one is open (read only: nothing to keep)
        with transaction_in_one_round(first, SNAPSHOT_BEGIN, end=None):  # left open: its snapshot is exported
            _settings(first)
            cursor = first.execute(_FIRST)
        row = cursor.fetchone()
        assert row is not None
        snapshot, first_pid, in_recovery, read_only, addr, port = row
        base.update(first_pid=first_pid, in_recovery=in_recovery, default_read_only=read_only, server_addr=addr,
                    server_port=port)
        try:
            with transaction_in_one_round(second, SNAPSHOT_BEGIN, end="COMMIT"):
                _settings(second)
                second.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                cursor = second.execute("SELECT pg_catalog.pg_backend_pid()")
        except psycopg.Error as exc:
            if exc.sqlstate != INVALID_SNAPSHOT and "snapshot" not in str(exc):
                raise  # not the import refused (a pooler's timeout, a lost connection): said as such below
            return SessionProbeResult(ProbeStatus.FAILED, **base, snapshot_shared=False, kind="snapshot_not_shared",
                                      detail=scrub(str(exc).strip(), secrets))
        pid = cursor.fetchone()
        end_transaction(first, "COMMIT")
        with transaction_in_one_round(second, end="COMMIT"):
            _settings(second)
            again_cursor = second.execute("SELECT pg_catalog.pg_backend_pid()")
        again = again_cursor.fetchone()
        return SessionProbeResult(ProbeStatus.OK, **base, snapshot_shared=True, second_pid=pid[0] if pid else None,
                                  second_pid_again=again[0] if again else None)
    except psycopg.Error as exc:
        text = scrub(str(exc).strip(), secrets)
        if first.broken or second.broken:  # in a pipeline a pooler's closing message is lost: ask once without
            text = _why_closed(dsn, connect_timeout, statement_timeout, lock_timeout, secrets) or text
        kind = "statement_pooling" if "statement pooling" in text else "other"
        return SessionProbeResult(ProbeStatus.FAILED, **base, kind=kind, detail=text)
    finally:
        second.close()
        if own is not None:
            own.close()
        else:
            end_transaction(first)


def _why_closed(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float,
                secrets: list[str]) -> str | None:
    """The endpoint's own message for closing a session at its first transaction (a statement pooler's), read
    without a pipeline, where its error arrives before the connection closes; None if none."""
    try:
        with open_session(dsn, connect_timeout, statement_timeout, lock_timeout) as conn:
            conn.execute("SELECT 1")
            conn.rollback()
    except psycopg.Error as exc:
        return scrub(str(exc).strip(), secrets)
    return None


def _session_probe(conn: Any, ctx: FactContext) -> SessionProbeResult:
    opts = ctx.options
    secrets = parse_dsn(opts.dsn).secrets()
    return prove_session(conn, opts.dsn, opts.connect_timeout, opts.statement_timeout, opts.lock_timeout, secrets)


SESSION_PROBE = ProbeFact(
    "session_probe",
    "the catalog session and one more session of the DSN: one exports a snapshot, the other imports it; their "
    "backends compared (after the catalog reads)",
    SessionProbeResult,
    _session_probe,
    # The DSN's endpoint (its pooler, proxy or balancer), proven in the DSN's database: with --all-databases the
    # other databases are reached through the same endpoint, and a pooler in front of one of them also fails that
    # database's replication proof (grants), which every database reads on its own walsender.
    scope=Scope.CLUSTER,
)
