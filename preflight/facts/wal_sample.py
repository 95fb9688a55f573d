"""The server's WAL rate measured over a window (``--sample SECONDS``): the current WAL position read twice.

Read-only: ``pg_current_wal_lsn()`` on a primary; on a standby the last received (else replayed)
position, which advances as fast as the primary writes. Each reading is its own short read-only
transaction and the window is waited out between them with no transaction open, so neither
``statement_timeout`` nor ``idle_in_transaction_session_timeout`` bounds the window; the window itself
is bounded by the ``--sample`` option (at most an hour). Without ``--sample`` the probe reads nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from preflight.facts.base import FactContext, ProbeFact, ProbeStatus, Scope
from preflight.facts.replication import CURRENT_LSN


@dataclass(frozen=True, slots=True)
class WalSample:
    """Two readings of the WAL position ``seconds`` apart (server clock); skipped without ``--sample``."""

    status: ProbeStatus
    reason: str | None = None
    start_lsn: str | None = None
    end_lsn: str | None = None
    wal_bytes: int | None = None
    seconds: float | None = None
    in_recovery: bool | None = None


def lsn_bytes(lsn: str) -> int:
    """A pg_lsn text ``X/Y`` as a byte position."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


_READING = (f"SELECT ({CURRENT_LSN})::pg_catalog.text, pg_catalog.pg_is_in_recovery(), "
            "EXTRACT(EPOCH FROM pg_catalog.clock_timestamp())::pg_catalog.float8")


def _reading(conn: psycopg.Connection[Any]) -> tuple[str | None, bool, float]:
    row = conn.execute(_READING).fetchone()
    conn.rollback()  # no transaction stays open across the window
    if row is None:
        raise psycopg.DataError("the WAL position query returned no row")
    return row[0], bool(row[1]), float(row[2])


def _wal_sample(conn: Any, ctx: FactContext) -> WalSample:
    window = ctx.options.sample
    if not window:
        return WalSample(ProbeStatus.SKIPPED, reason="not requested (--sample SECONDS measures the WAL rate)")
    conn.rollback()
    start, in_recovery, started = _reading(conn)
    time.sleep(window)  # the measurement window the user asked for
    end, _, ended = _reading(conn)
    if start is None or end is None:
        return WalSample(ProbeStatus.FAILED, reason="the standby reports no received or replayed WAL position",
                         in_recovery=in_recovery)
    return WalSample(ProbeStatus.OK, start_lsn=start, end_lsn=end, wal_bytes=max(lsn_bytes(end) - lsn_bytes(start), 0),
                     seconds=round(ended - started, 3), in_recovery=in_recovery)


WAL_SAMPLE = ProbeFact(
    "wal_sample",
    "the WAL written over the --sample window (current WAL position read twice; skipped without --sample)",
    WalSample,
    _wal_sample,
    scope=Scope.CLUSTER,  # the WAL position is the server's
)
