"""Write activity per database (``pg_stat_database``): is the selected database quiet on a busy cluster?

A slot advances only when its consumer confirms a position, and many consumers confirm only what they
received: on a database with no changes to send, the slot's ``restart_lsn`` stays while the rest of the
cluster writes WAL, and that WAL is kept. The counters are cumulative since each database's statistics
reset: a share of writes, not a rate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class DatabaseActivityRow:
    """One database's counters since its statistics reset (``is_current``: the database this run judges)."""

    datname: str
    is_current: bool
    xact_commit: int
    tuples_written: int  # tup_inserted + tup_updated + tup_deleted
    seconds_since_reset: float | None  # None: never reset (since the cluster was created)


def _database_activity(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT s.datname::pg_catalog.text AS datname, s.datname = pg_catalog.current_database() AS is_current,
               s.xact_commit, (s.tup_inserted + s.tup_updated + s.tup_deleted) AS tuples_written,
               pg_catalog.date_part('epoch', pg_catalog.now() - s.stats_reset)::pg_catalog.float8 AS seconds_since_reset
          FROM pg_catalog.pg_stat_database AS s
          JOIN pg_catalog.pg_database AS d ON d.oid = s.datid
         WHERE NOT d.datistemplate  -- template1's writes are its set-up's (initdb, extensions), not a workload
         ORDER BY s.datname
        """,
        {},
    )


def marked_for(rows: list[DatabaseActivityRow], dbname: str) -> list[DatabaseActivityRow]:
    """The rows another database reads: the same counters, ``dbname``'s row current."""
    return [replace(r, is_current=r.datname == dbname) for r in rows]


DATABASE_ACTIVITY = SqlFact.rows(
    "database_activity",
    "write counters of every non-template database (pg_stat_database), the current one marked",
    DatabaseActivityRow,
    _database_activity,
    scope=Scope.DATABASE,  # which row is the current database
    for_database=marked_for,  # the counters are the cluster's: --all-databases reads them once
)
