"""Open transactions of other sessions and prepared transactions: what makes slot creation wait.

Creating a logical slot waits until every transaction that holds a transaction ID when it starts
has ended, prepared ones included, and the slot's initial snapshot is held back meanwhile.
Other roles' ``pg_stat_activity`` rows read ``<insufficient privilege>`` unless the checker is a
superuser or a ``pg_read_all_stats`` (``pg_monitor``) member: those that are client backends (not the
server's own background processes, not walsenders) are counted, so that a check can say "could not
see" rather than "none". ``backend_xid`` stays visible on hidden rows: how many of them hold an xid
(and so would make slot creation wait) is known even when their age and state are not. Ages are raw seconds: the threshold is applied by the
check, so a saved snapshot can be judged again with another ``--max-xact-age``.

The tool's own sessions are left out by process id, never by ``application_name``: any tenant can
name a session ``pg-preflight``. This session is ``pg_backend_pid()``; the plugin probe connects only
after the catalog reads, and the replication proof beside them is a walsender that never holds an xid
(neither a client backend nor a transaction: it is not among these rows). A caller that opens a session
of its own earlier passes its pid (``own_pids``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from preflight.facts.base import CHECKER_SEES_ALL_SESSIONS, HIDDEN_CLIENT_SESSION, FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class OpenTransaction:
    """Another session's open transaction (columns read NULL for sessions the checker cannot see)."""

    pid: int
    has_xid: bool
    has_xmin: bool
    usename: str | None = None
    application_name: str | None = None
    datname: str | None = None
    state: str | None = None
    backend_type: str | None = None
    xact_age_s: float | None = None
    state_age_s: float | None = None


@dataclass(frozen=True, slots=True)
class PreparedTransaction:
    """A prepared (two-phase) transaction waiting for COMMIT / ROLLBACK PREPARED."""

    gid: str
    owner: str | None = None
    database: str | None = None
    xid: str | None = None
    age_s: float | None = None


@dataclass(frozen=True, slots=True)
class ActivityFact:
    """The oldest open and prepared transactions (at most ROW_LIMIT each) and how many sessions were hidden."""

    can_see_all: bool
    role: str
    hidden_sessions: int
    sessions: list[OpenTransaction]
    prepared: list[PreparedTransaction]
    hidden_xid_sessions: int = 0  # hidden sessions holding an xid: backend_xid is visible to every role


ROW_LIMIT = 200  # the oldest ones are what matter; counts stay exact

ACTIVITY_SQL = f"""
    WITH others AS (
        SELECT a.* FROM pg_catalog.pg_stat_activity AS a
         WHERE a.pid <> pg_catalog.pg_backend_pid()
           AND a.pid <> ALL(%(own_pids)s::pg_catalog.int4[])
    ),
    open_xacts AS (
        SELECT o.pid, o.usename::pg_catalog.text AS usename, o.application_name, o.datname::pg_catalog.text AS datname,
               o.state, o.backend_type, o.backend_xid IS NOT NULL AS has_xid, o.backend_xmin IS NOT NULL AS has_xmin,
               pg_catalog.date_part('epoch', pg_catalog.now() - o.xact_start)::pg_catalog.float8 AS xact_age_s,
               pg_catalog.date_part('epoch', pg_catalog.now() - o.state_change)::pg_catalog.float8 AS state_age_s
          FROM others AS o
         WHERE o.xact_start IS NOT NULL
           AND (o.backend_type = 'client backend' OR o.backend_xid IS NOT NULL)
         ORDER BY o.xact_start
         LIMIT %(limit)s
    ),
    prepared AS (
        SELECT p.gid, p.owner::pg_catalog.text AS owner, p.database::pg_catalog.text AS database,
               p.transaction::pg_catalog.text AS xid,
               pg_catalog.date_part('epoch', pg_catalog.now() - p.prepared)::pg_catalog.float8 AS age_s
          FROM pg_catalog.pg_prepared_xacts AS p
         ORDER BY p.prepared
         LIMIT %(limit)s
    )
    SELECT {CHECKER_SEES_ALL_SESSIONS} AS can_see_all,
           CURRENT_USER::pg_catalog.text AS role,
           (SELECT pg_catalog.count(*) FROM others AS a WHERE {HIDDEN_CLIENT_SESSION})::pg_catalog.int4
             AS hidden_sessions,
           (SELECT pg_catalog.count(*) FROM others AS a
             WHERE {HIDDEN_CLIENT_SESSION} AND a.backend_xid IS NOT NULL)::pg_catalog.int4 AS hidden_xid_sessions,
           (SELECT COALESCE(pg_catalog.json_agg(x), '[]'::pg_catalog.json) FROM open_xacts AS x) AS sessions,
           (SELECT COALESCE(pg_catalog.json_agg(p), '[]'::pg_catalog.json) FROM prepared AS p) AS prepared
"""


def activity_params(own_pids: Sequence[int] = ()) -> dict[str, Any]:
    return {"own_pids": list(own_pids), "limit": ROW_LIMIT}


def _activity(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return ACTIVITY_SQL, activity_params()


ACTIVITY = SqlFact.one(
    "activity",
    "other sessions' open transactions (age, state, xid) and prepared transactions; hidden sessions counted",
    ActivityFact,
    _activity,
    scope=Scope.CLUSTER,  # pg_stat_activity and pg_prepared_xacts list every database's sessions
)
