"""Actions that are not catalog reads: proving the replication path with its own connection.

Catalog attributes are hints (attributes are not inherited; RDS grants replication through a role
while ``rolreplication`` reads false). The proof is what the consumer will do: open a
``replication=database`` connection with the same DSN and run ``IDENTIFY_SYSTEM``. The probe is
bounded by the connect timeout, always closed, returns failures as data (classified, scrubbed) and
changes nothing on the server.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import psycopg

from preflight.connection import Dsn, classify, connect_kwargs, parse_dsn, scrub
from preflight.connection.session import connect
from preflight.facts.base import FactContext, ProbeFact, ProbeStatus, Scope


@dataclass(frozen=True, slots=True)
class ReplicationProbeResult:
    """The replication path: proven (IDENTIFY_SYSTEM's answer), failed (kind, plain words, advice, the
    server's scrubbed message) or skipped (reason)."""

    status: ProbeStatus
    kind: str | None = None
    message: str | None = None
    advice: str | None = None
    detail: str | None = None
    reason: str | None = None
    systemid: str | None = None
    timeline: int | None = None
    xlogpos: str | None = None
    dbname: str | None = None
    backend_pid: int | None = None  # the probe's walsender: the connection counts leave it out by this pid

# (kind, substrings of the server's or the pooler's message, plain words, what to do); first match wins.
_REPLICATION_FAILURES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("no_replication_privilege",
     ("must be superuser or replication role", "permission denied to start WAL sender"),
     "the role may not start a walsender: it lacks the REPLICATION attribute (or the provider's replication role)",
     "Give the role replication (ALTER ROLE ... WITH REPLICATION, or GRANT rds_replication on RDS/Aurora)."),
    ("pooler",
     ("unsupported startup parameter", "pgbouncer", "PgBouncer", "Supavisor", "supavisor", "odyssey"),
     "a connection pooler answered and refused the replication connection",
     "Point the CDC connection at the database's direct (non-pooled) endpoint: poolers cannot carry replication."),
    ("no_walsender",
     ("exceeds max_wal_senders", "number of requested standby connections"),
     "no walsender is free (max_wal_senders reached or 0)",
     "Raise max_wal_senders (restart) or stop an unused consumer (see slot_capacity)."),
    ("role_connection_limit",
     ("too many connections for role",),
     "the role's CONNECTION LIMIT is reached",
     "Raise the role's connection limit (ALTER ROLE ... CONNECTION LIMIT) or close its idle sessions."),
]

HBA_NOTE = (
    " A replication=database connection is matched in pg_hba.conf like an ordinary connection to that "
    "database (the 'replication' keyword matches only physical replication)."
)


def classify_replication_failure(exc: BaseException, secrets: list[str]) -> ReplicationProbeResult:
    """The failure as data: kind, plain words, advice, and the scrubbed server message."""
    text = scrub(str(exc).strip() or type(exc).__name__, secrets)
    for kind, needles, message, advice in _REPLICATION_FAILURES:
        if any(n in text for n in needles):
            return ReplicationProbeResult(ProbeStatus.FAILED, kind=kind, message=message, advice=advice, detail=text)
    failure = classify(exc, secrets)
    advice = failure.advice + (HBA_NOTE if failure.kind == "pg_hba" else "")
    return ReplicationProbeResult(ProbeStatus.FAILED, kind=failure.kind, message=failure.message, advice=advice,
                                  detail=failure.detail)


def identify_system(dsn_text: str | None, connect_timeout: float, statement_timeout: float,
                    lock_timeout: float) -> ReplicationProbeResult:
    """Open a ``replication=database`` connection and run IDENTIFY_SYSTEM; never raises for I/O."""
    conn, result = prove_replication(dsn_text, connect_timeout, statement_timeout, lock_timeout)
    if conn is not None:
        conn.close()
    return result


def prove_replication(dsn_text: str | None, connect_timeout: float, statement_timeout: float,
                      lock_timeout: float, parsed: Dsn | None = None,
                      ) -> tuple[psycopg.Connection[Any] | None, ReplicationProbeResult]:
    """IDENTIFY_SYSTEM on a new ``replication=database`` connection (the session's timeouts and name); on
    success the connection is returned open (autocommit, the simple query protocol only), else closed.
    ``parsed``: ``dsn_text`` parsed already (a run of many databases parses each once)."""
    dsn = parsed if parsed is not None else parse_dsn(dsn_text)
    kwargs = connect_kwargs(dsn, connect_timeout, statement_timeout, lock_timeout)
    conn: psycopg.Connection[Any] | None = None
    try:
        # The replication protocol refuses prepared statements: prepare_threshold=None, autocommit.
        conn, _ = connect(dsn, kwargs, autocommit=True, replication="database")
        pid = conn.info.backend_pid
        row = conn.execute("IDENTIFY_SYSTEM").fetchone()
    except (psycopg.Error, OSError) as exc:
        failed = classify_replication_failure(exc, dsn.secrets())  # the secrets only where a message may hold one
        if conn is None:
            return None, failed
        pid = conn.info.backend_pid
        conn.close()
        return None, dataclasses.replace(failed, backend_pid=pid)
    if row is None:
        conn.close()
        return None, ReplicationProbeResult(ProbeStatus.FAILED, kind="other", message="IDENTIFY_SYSTEM returned no row",
                                            advice="Check that the endpoint is PostgreSQL itself, not a proxy.",
                                            detail="", backend_pid=pid)
    systemid, timeline, xlogpos, dbname = row[0], row[1], row[2], row[3]
    return conn, ReplicationProbeResult(ProbeStatus.OK, systemid=str(systemid), timeline=int(timeline),
                                        xlogpos=str(xlogpos), dbname=dbname, backend_pid=pid)


def _replication_probe(conn: Any, ctx: FactContext) -> ReplicationProbeResult:
    opts = ctx.options
    if opts.role:
        return ReplicationProbeResult(
            ProbeStatus.SKIPPED,
            reason=f"--role audit: the checker's own DSN does not log in as {opts.role}, so it cannot "
                   "prove that role's replication connection")
    return identify_system(opts.dsn, opts.connect_timeout, opts.statement_timeout, opts.lock_timeout)


REPLICATION_PROBE = ProbeFact(
    "replication_probe",
    "a replication=database connection with the same DSN running IDENTIFY_SYSTEM (skipped with --role)",
    ReplicationProbeResult,
    _replication_probe,
    # a replication=database connection is matched in pg_hba.conf by database name and needs CONNECT on it
    scope=Scope.DATABASE,
)
