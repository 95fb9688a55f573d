"""Facts for what breaks a slot later: physical standbys (failover), decoding statistics (large
transactions), the slot's age against its publication's, and recovery conflicts on a standby source.

Every query is a read of statistics views or catalogs, chosen by server version; a view this version
lacks yields no rows (or a null row), never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact
from preflight.pg_versions import DECODING_ON_STANDBY, SLOT_STATISTICS, supports


@dataclass(frozen=True, slots=True)
class StandbyRow:
    """A physical walsender streaming from this server (a standby or a base backup), with the physical slot it
    uses (None: none). ``feedback_xmin``: the xmin its standby reports (hot_standby_feedback on), through the
    slot's xmin or the walsender's backend_xmin; null when off or when the checker may not see it."""

    pid: int
    application_name: str | None = None
    client_addr: str | None = None
    state: str | None = None
    sync_state: str | None = None
    slot_name: str | None = None
    feedback_xmin: str | None = None


def _standbys(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    # A walsender without a database is physical (a logical one is connected to its database); datid is visible
    # to every role, as are pg_replication_slots' rows.
    return (
        """
        SELECT r.pid, r.application_name, r.client_addr::pg_catalog.text AS client_addr, r.state, r.sync_state,
               s.slot_name, COALESCE(s.xmin, r.backend_xmin)::pg_catalog.text AS feedback_xmin
          FROM pg_catalog.pg_stat_replication AS r
          JOIN pg_catalog.pg_stat_activity AS a ON a.pid = r.pid
          LEFT JOIN pg_catalog.pg_replication_slots AS s ON s.active_pid = r.pid AND s.slot_type = 'physical'
         WHERE a.datid IS NULL
         ORDER BY r.pid
        """,
        {},
    )


@dataclass(frozen=True, slots=True)
class SlotStatsRow:
    """pg_stat_replication_slots (14+): transactions spilled to disk and streamed, since the last reset."""

    slot_name: str
    spill_txns: int = 0
    spill_count: int = 0
    spill_bytes: int = 0
    stream_txns: int = 0
    stream_bytes: int = 0
    total_txns: int = 0
    total_bytes: int = 0
    stats_reset: str | None = None


def _slot_stats(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    if not supports(ctx.version_num, SLOT_STATISTICS):
        return "SELECT NULL::pg_catalog.text AS slot_name WHERE false", {}
    return (
        """
        SELECT t.slot_name::pg_catalog.text AS slot_name, t.spill_txns, t.spill_count, t.spill_bytes,
               t.stream_txns, t.stream_bytes, t.total_txns, t.total_bytes, t.stats_reset::pg_catalog.text AS stats_reset
          FROM pg_catalog.pg_stat_replication_slots AS t
         ORDER BY t.slot_name
        """,
        {},
    )


@dataclass(frozen=True, slots=True)
class SlotPublicationAge:
    """A logical slot of this database against a publication of it. ``xids_between``: transaction ids assigned
    after the slot's catalog_xmin and before the publication's row was written (``age(catalog_xmin) -
    age(pg_publication.xmin)``): above 0, transactions that wrote after the slot's horizon and before the
    publication existed; 0 or below, the publication is at least as old as everything the slot still decodes.
    ``shares_horizon_with``: another slot whose horizon (xmin or catalog_xmin) is at least as old: a slot created
    while it existed inherited that older horizon, and then ``xids_between`` also counts transactions from before
    this slot existed."""

    slot_name: str
    plugin: str | None
    active: bool
    pubname: str
    xids_between: int
    shares_horizon_with: str | None = None


def _publication_age(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    # age() of a frozen xid is INT_MAX: a frozen publication row reads as older than any slot, which it is.
    return (
        """
        SELECT s.slot_name::pg_catalog.text AS slot_name, s.plugin::pg_catalog.text AS plugin, s.active,
               p.pubname::pg_catalog.text AS pubname,
               (pg_catalog.age(s.catalog_xmin) - pg_catalog.age(p.xmin))::pg_catalog.int8 AS xids_between,
               (SELECT pg_catalog.min(o.slot_name::pg_catalog.text) FROM pg_catalog.pg_replication_slots AS o
                 WHERE o.slot_name <> s.slot_name
                   AND GREATEST(pg_catalog.age(o.xmin), pg_catalog.age(o.catalog_xmin))
                       >= pg_catalog.age(s.catalog_xmin)) AS shares_horizon_with
          FROM pg_catalog.pg_replication_slots AS s
         CROSS JOIN pg_catalog.pg_publication AS p
         WHERE s.slot_type = 'logical' AND s.database = pg_catalog.current_database()
           AND s.catalog_xmin IS NOT NULL
         ORDER BY s.slot_name, p.pubname
        """,
        {},
    )


@dataclass(frozen=True, slots=True)
class RecoveryConflicts:
    """pg_stat_database_conflicts for this database: queries a standby cancelled to keep replaying WAL, and
    (16+) logical slots it invalidated. All zero on a primary."""

    tablespace: int = 0
    lock: int = 0
    snapshot: int = 0
    bufferpin: int = 0
    deadlock: int = 0
    logical_slot: int | None = None  # 16+

    @property
    def cancelled_queries(self) -> int:
        return self.tablespace + self.lock + self.snapshot + self.bufferpin + self.deadlock


def _conflicts(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    slot = "c.confl_active_logicalslot" if supports(ctx.version_num, DECODING_ON_STANDBY) else "NULL::pg_catalog.int8"
    return (
        f"""
        SELECT c.confl_tablespace AS tablespace, c.confl_lock AS lock, c.confl_snapshot AS snapshot,
               c.confl_bufferpin AS bufferpin, c.confl_deadlock AS deadlock, {slot} AS logical_slot
          FROM pg_catalog.pg_stat_database_conflicts AS c
         WHERE c.datname = pg_catalog.current_database()
        """,
        {},
    )


STANDBYS = SqlFact.rows("standbys", "physical walsenders streaming from this server, their slots and feedback",
                        StandbyRow, _standbys, scope=Scope.CLUSTER)
SLOT_STATS = SqlFact.rows("slot_stats", "decoding statistics of every logical slot: spilled and streamed "
                          "transactions (14+, else none)", SlotStatsRow, _slot_stats, scope=Scope.CLUSTER)
PUBLICATION_AGE = SqlFact.rows("publication_age", "this database's logical slots against its publications: "
                               "transactions between the slot's catalog_xmin and the publication's creation",
                               SlotPublicationAge, _publication_age, scope=Scope.DATABASE)
RECOVERY_CONFLICTS = SqlFact.optional("recovery_conflicts", "queries and slots this database lost to recovery "
                                      "conflicts (pg_stat_database_conflicts)", RecoveryConflicts, _conflicts,
                                      scope=Scope.DATABASE)
