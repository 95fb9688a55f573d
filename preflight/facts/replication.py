"""Facts about replication slots and walsenders, with columns chosen by server version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import CHECKER_SEES_ALL_SESSIONS, FactContext, Scope, SqlFact
from preflight.pg_versions import DECODING_ON_STANDBY, FAILOVER_SLOTS, SLOT_STATISTICS, SLOT_WAL_STATUS, supports

CURRENT_LSN = (
    "CASE WHEN pg_catalog.pg_is_in_recovery() "
    "THEN COALESCE(pg_catalog.pg_last_wal_receive_lsn(), pg_catalog.pg_last_wal_replay_lsn()) "
    "ELSE pg_catalog.pg_current_wal_lsn() END"
)


@dataclass(frozen=True, slots=True)
class SlotRow:
    """One replication slot; columns a server version lacks stay None."""

    slot_name: str
    slot_type: str
    active: bool
    plugin: str | None = None
    database: str | None = None
    temporary: bool = False
    active_pid: int | None = None
    xmin: str | None = None
    catalog_xmin: str | None = None
    restart_lsn: str | None = None
    confirmed_flush_lsn: str | None = None
    wal_status: str | None = None  # 13+
    safe_wal_size: int | None = None  # 13+
    two_phase: bool | None = None  # 14+
    conflicting: bool | None = None  # 16+
    inactive_since: str | None = None  # 17+
    invalidation_reason: str | None = None  # 17+
    failover: bool | None = None  # 17+
    synced: bool | None = None  # 17+
    retained_bytes: int | None = None
    client_application: str | None = None
    client_addr: str | None = None


@dataclass(frozen=True, slots=True)
class WalsendersFact:
    """Walsender processes: streaming ones, all of them, their pids, and whether the checker sees every session.

    The checker's own replication-path proof may be one of them (it runs beside the catalog reads): the
    check leaves it out by its process id (``pids``), never by its application_name, which any tenant
    can copy.
    """

    streaming: int
    walsenders: int
    can_see_all: bool
    pids: list[int] | None = None  # every walsender's pid (visible to every role); None in older snapshots

    def in_use(self, own_pid: int | None) -> int:
        """Walsenders in use, without the checker's own probe."""
        if self.pids is None:
            return max(self.walsenders, self.streaming)
        return len(set(self.pids) - {own_pid})


def slot_columns(version_num: int) -> list[str]:
    """The pg_replication_slots columns this version has (never guessed at run time)."""
    columns = ["slot_name", "plugin", "slot_type", "database", "temporary", "active", "active_pid",
               "xmin", "catalog_xmin", "restart_lsn", "confirmed_flush_lsn"]
    if supports(version_num, SLOT_WAL_STATUS):
        columns += ["wal_status", "safe_wal_size"]
    if supports(version_num, SLOT_STATISTICS):
        columns += ["two_phase"]
    if supports(version_num, DECODING_ON_STANDBY):
        columns += ["conflicting"]
    if supports(version_num, FAILOVER_SLOTS):
        columns += ["inactive_since", "invalidation_reason", "failover", "synced"]
    return columns


def _slots(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    cols = ", ".join(f"s.{c}" for c in slot_columns(ctx.version_num))
    return (
        f"""
        SELECT {cols},
               pg_catalog.pg_wal_lsn_diff({CURRENT_LSN}, s.restart_lsn)::pg_catalog.int8 AS retained_bytes,
               r.application_name AS client_application, r.client_addr::pg_catalog.text AS client_addr
          FROM pg_catalog.pg_replication_slots AS s
          LEFT JOIN pg_catalog.pg_stat_replication AS r ON r.pid = s.active_pid
         ORDER BY s.slot_name
        """,
        {},
    )


def _walsenders(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        f"""
        SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_replication AS r)::pg_catalog.int4 AS streaming,
               (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity AS a
                 WHERE a.backend_type = 'walsender')::pg_catalog.int4 AS walsenders,
               {CHECKER_SEES_ALL_SESSIONS} AS can_see_all,
               ARRAY(SELECT w.pid FROM pg_catalog.pg_stat_get_wal_senders() AS w
                     UNION SELECT a.pid FROM pg_catalog.pg_stat_activity AS a WHERE a.backend_type = 'walsender'
                     ORDER BY 1) AS pids
        """,
        {},
    )


SLOTS = SqlFact.rows("slots", "every replication slot of the cluster, with retained WAL", SlotRow, _slots,
                     scope=Scope.CLUSTER)
WALSENDERS = SqlFact.one("walsenders", "walsender processes in use (streaming and starting) and their pids",
                         WalsendersFact, _walsenders, scope=Scope.CLUSTER)
