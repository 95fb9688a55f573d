"""WAL generation since the last statistics reset (pg_stat_wal, 14+), to size max_slot_wal_keep_size.

Before 14 the view does not exist: the query returns no row, so the fact is null rather than an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class WalStats:
    """WAL generated since pg_stat_wal was last reset."""

    wal_bytes: int | None
    stats_reset: str | None = None
    seconds_since_reset: float | None = None


def _wal_stats(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    if ctx.version_num < 140000:
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
