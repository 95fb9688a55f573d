"""WAL generation since the last statistics reset (pg_stat_wal, 14+), to size max_slot_wal_keep_size.

Before 14 the view does not exist: the query returns no row, so the fact is null rather than an error.

An average is only a rate when its window is long enough: ``MIN_RATE_WINDOW_S`` (an hour). Moments
after ``pg_stat_reset_shared('wal')`` (or a crash, which resets statistics) the average is whatever ran
since then (a bulk load, a VACUUM, an index build), and a day's extrapolation multiplies that accident by
24 or more. An hour spans several checkpoints (``checkpoint_timeout`` defaults to 5 min; each one's
full-page writes are part of the steady rate) and evens out short bursts; a shorter window says the rate
is unknown and points to ``--sample SECONDS``, which measures the current rate over a window the user chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact
from preflight.pg_versions import PG_STAT_WAL, supports

MIN_RATE_WINDOW_S = 3600.0  # the shortest pg_stat_wal window whose average is used as a rate


@dataclass(frozen=True, slots=True)
class WalStats:
    """WAL generated since pg_stat_wal was last reset."""

    wal_bytes: int | None
    stats_reset: str | None = None
    seconds_since_reset: float | None = None

    def rate_window_too_short(self) -> bool:
        """Reset less than ``MIN_RATE_WINDOW_S`` ago: the average is no rate to extrapolate (module docstring)."""
        return self.seconds_since_reset is not None and self.seconds_since_reset < MIN_RATE_WINDOW_S


def _wal_stats(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    if not supports(ctx.version_num, PG_STAT_WAL):
        return "SELECT NULL::pg_catalog.int8 AS wal_bytes WHERE false", {}
    return (
        """
        SELECT w.wal_bytes::pg_catalog.int8 AS wal_bytes,
               w.stats_reset,
               EXTRACT(EPOCH FROM (pg_catalog.now() - w.stats_reset))::pg_catalog.float8 AS seconds_since_reset
          FROM pg_catalog.pg_stat_wal AS w
        """,
        {},
    )


WAL_STATS = SqlFact.optional("wal_stats", "WAL bytes generated since pg_stat_wal was reset (14+, else null)", WalStats,
                              _wal_stats, scope=Scope.CLUSTER)
