"""Transactions that would make slot creation wait, watched until they end or the bound passes.

Creating a logical slot waits until every transaction that holds a transaction ID when it starts has
ended, prepared ones included. A busy primary always has short writes holding an xid for a few
milliseconds (a client that sends each statement of its transaction separately is even "idle in
transaction" between them): one reading cannot tell those from a transaction that stays. So the fact is
read in two steps, with what every role can see:

1. in the catalog pipeline, the running xids (``pg_current_snapshot()``, ``txid_current_snapshot()``
   before 13, and each session's ``backend_xid``: a snapshot does not list the xids at or above its
   ``xmax``), the other sessions' open transactions and the prepared ones;
2. only when xids other than prepared ones were running (``watch_xids``, after the pipeline): the snapshot
   is read again, each time in a new short read-only transaction, until every one of them has ended or
   the bound has passed (``XID_WAIT_BOUND_S``, or ``--max-xact-age`` when smaller). The xids still
   running then are recorded (``XidWatch.held``) with how long they were watched, and the sessions are
   read again so that their state and ages are those of that moment.

A quiet server pays nothing; short writes end within milliseconds of the first reading. ``backend_xid``,
``backend_xmin``, the pid, user, database and application name of every session are visible to every
role; its state, query and ages only to a superuser or a ``pg_read_all_stats`` (``pg_monitor``) member.
Hidden client backends are counted, and listed when they hold an xid, so that a check can name them.
Ages are taken on ``clock_timestamp()`` (the checker's own transaction may have started earlier) and
never negative. Raw seconds are kept: thresholds are applied by the check, and a saved snapshot holds
the watch's result, so it can be judged again without a server.

The tool's own sessions are left out by process id, never by ``application_name``: any tenant can
name a session ``pg-preflight``. This session is ``pg_backend_pid()``; the plugin probe connects only
after the catalog reads, and the replication proof beside them is a walsender that never holds an xid.
A caller that opens a session of its own earlier passes its pid (``own_pids``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from preflight.facts.base import CHECKER_SEES_ALL_SESSIONS, HIDDEN_CLIENT_SESSION, FactContext, Scope, SqlFact
from preflight.pg_versions import PG_CURRENT_SNAPSHOT, supports

# A transaction still holding its xid after this long is not a short write that ends on its own: the watch
# stops there (or at --max-xact-age when smaller), and what is still running then makes slot creation wait.
XID_WAIT_BOUND_S = 10.0
# The watch re-reads the snapshot after these pauses (doubling), so short writes are seen ending within
# milliseconds and a long wait costs a few reads a second.
FIRST_POLL_S = 0.005
LAST_POLL_S = 0.25


@dataclass(frozen=True, slots=True)
class OpenTransaction:
    """Another session's open transaction. ``hidden``: the checker may not see its state and ages (they read
    NULL); its pid, user, database, application and xids are visible to every role."""

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
    xid: str | None = None
    hidden: bool = False


@dataclass(frozen=True, slots=True)
class PreparedTransaction:
    """A prepared (two-phase) transaction waiting for COMMIT / ROLLBACK PREPARED."""

    gid: str
    owner: str | None = None
    database: str | None = None
    xid: str | None = None
    age_s: float | None = None


@dataclass(frozen=True, slots=True)
class XidWatch:
    """The xids (prepared ones left out) running at the first reading, read again until they ended or
    ``bound_s`` passed: ``held`` are those still running then, after ``watched_s`` seconds (server clock)."""

    running: int
    held: list[str] = field(default_factory=list)
    watched_s: float = 0.0
    bound_s: float = XID_WAIT_BOUND_S


@dataclass(frozen=True, slots=True)
class ActivityFact:
    """The oldest open and prepared transactions (at most ROW_LIMIT each), how many sessions were hidden, the
    running xids when first read (``snapshot``, as ``xmin:xmax:xip,...``) and what the watch saw of them."""

    can_see_all: bool
    role: str
    hidden_sessions: int
    sessions: list[OpenTransaction]
    prepared: list[PreparedTransaction]
    hidden_xid_sessions: int = 0  # hidden sessions holding an xid: backend_xid is visible to every role
    hidden_snapshot_sessions: int = 0  # hidden sessions holding a snapshot but no xid: their age is unknown
    snapshot: str | None = None
    observed_at: float | None = None  # the server's clock_timestamp() at that reading, as epoch seconds
    watch: XidWatch | None = None  # None: not watched (a snapshot saved before the watch existed)


ROW_LIMIT = 200  # the oldest ones are what matter; counts stay exact


def snapshot_function(version_num: int) -> str:
    """The running xids as ``xmin:xmax:xip,...`` (64-bit, epoch included): any role may call it."""
    return "pg_catalog.pg_current_snapshot()" if supports(version_num, PG_CURRENT_SNAPSHOT) else "pg_catalog.txid_current_snapshot()"


# Seconds since a timestamp on the server's clock, never negative; NULL stays NULL (a hidden session's ages).
_SESSION_AGE = ("CASE WHEN {0} IS NOT NULL THEN GREATEST(pg_catalog.date_part('epoch', pg_catalog.clock_timestamp() - {0}),"
                " 0) END::pg_catalog.float8")

ACTIVITY_SQL = f"""
    WITH others AS (
        SELECT a.* FROM pg_catalog.pg_stat_activity AS a
         WHERE a.pid <> pg_catalog.pg_backend_pid()
           AND a.pid <> ALL(%(own_pids)s::pg_catalog.int4[])
    ),
    open_xacts AS (
        SELECT a.pid, a.usename::pg_catalog.text AS usename, a.application_name, a.datname::pg_catalog.text AS datname,
               a.state, a.backend_type, a.backend_xid IS NOT NULL AS has_xid, a.backend_xmin IS NOT NULL AS has_xmin,
               {_SESSION_AGE.format("a.xact_start")} AS xact_age_s,
               {_SESSION_AGE.format("a.state_change")} AS state_age_s,
               a.backend_xid::pg_catalog.text AS xid,
               a.query = '<insufficient privilege>' AS hidden
          FROM others AS a
         WHERE (a.xact_start IS NOT NULL AND a.backend_type = 'client backend') OR a.backend_xid IS NOT NULL
         ORDER BY a.backend_xid IS NULL, pg_catalog.age(a.backend_xid) DESC, a.xact_start
         LIMIT %(limit)s
    ),
    prepared AS (
        SELECT p.gid, p.owner::pg_catalog.text AS owner, p.database::pg_catalog.text AS database,
               p.transaction::pg_catalog.text AS xid, {_SESSION_AGE.format("p.prepared")} AS age_s
          FROM pg_catalog.pg_prepared_xacts AS p
         ORDER BY p.prepared
         LIMIT %(limit)s
    )
    SELECT {CHECKER_SEES_ALL_SESSIONS} AS can_see_all,
           CURRENT_USER::pg_catalog.text AS role,
           (SELECT pg_catalog.count(*) FROM others AS a WHERE {HIDDEN_CLIENT_SESSION})::pg_catalog.int4
             AS hidden_sessions,
           (SELECT COALESCE(pg_catalog.json_agg(x), '[]'::pg_catalog.json) FROM open_xacts AS x) AS sessions,
           (SELECT COALESCE(pg_catalog.json_agg(p), '[]'::pg_catalog.json) FROM prepared AS p) AS prepared,
           (SELECT pg_catalog.count(*) FROM others AS a
             WHERE {HIDDEN_CLIENT_SESSION} AND a.backend_xid IS NOT NULL)::pg_catalog.int4 AS hidden_xid_sessions,
           (SELECT pg_catalog.count(*) FROM others AS a WHERE {HIDDEN_CLIENT_SESSION}
               AND a.backend_xid IS NULL AND a.backend_xmin IS NOT NULL)::pg_catalog.int4 AS hidden_snapshot_sessions,
           ({{snapshot}})::pg_catalog.text AS snapshot,
           pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())::pg_catalog.float8 AS observed_at
"""

_POLL_SQL = ("SELECT ({snapshot})::pg_catalog.text, "
             "pg_catalog.date_part('epoch', pg_catalog.clock_timestamp())::pg_catalog.float8")


def activity_params(own_pids: Sequence[int] = ()) -> dict[str, Any]:
    return {"own_pids": list(own_pids), "limit": ROW_LIMIT}


def activity_sql(version_num: int) -> str:
    return ACTIVITY_SQL.replace("{snapshot}", snapshot_function(version_num))


def running_xids(snapshot: str | None) -> set[str]:
    """The xids a ``xmin:xmax:xip,...`` snapshot lists as running, as 32-bit xids (how ``backend_xid`` and
    ``pg_prepared_xacts.transaction`` read): within the running ones, the epoch never tells two apart.
    A snapshot does not list the running xids at or above its ``xmax``: see ``is_running``."""
    if not snapshot or snapshot.count(":") != 2:
        return set()
    return {str(int(x) & 0xFFFFFFFF) for x in snapshot.split(":")[2].split(",") if x.strip()}


def is_running(xid: str, snapshot: str | None) -> bool:
    """Whether a snapshot says this (recent, 32-bit) xid is still running: listed, or at or above its ``xmax``
    (no xid that high has completed yet). Modulo 2^32, as the server compares xids."""
    if not snapshot or snapshot.count(":") != 2:
        return False
    xmax = int(snapshot.split(":")[1]) & 0xFFFFFFFF
    return xid in running_xids(snapshot) or (int(xid) - xmax) % 2**32 < 2**31


def watch_bound(max_xact_age: float) -> float:
    return min(XID_WAIT_BOUND_S, max_xact_age)


def _poll(conn: psycopg.Connection[Any], query: str) -> tuple[str | None, float]:
    row = conn.execute(query).fetchone()
    conn.rollback()  # each reading is its own short read-only transaction: a new snapshot each time
    if row is None:
        raise psycopg.DataError("the snapshot query returned no row")
    return row[0], float(row[1])


def watch_xids(conn: psycopg.Connection[Any], first: ActivityFact, ctx: FactContext) -> ActivityFact:
    """Read the running xids again until those of the first reading have ended or the bound has passed.

    The first reading's running xids: those its snapshot lists, and the sessions' ``backend_xid`` (a snapshot
    does not list xids at or above its ``xmax``), prepared ones left out (they never end by themselves).
    """
    bound = watch_bound(ctx.options.max_xact_age)
    listed = running_xids(first.snapshot) | {s.xid for s in first.sessions if s.xid}
    watched = {x for x in listed if is_running(x, first.snapshot)} - {p.xid for p in first.prepared if p.xid}
    if not watched or first.observed_at is None:
        return dataclasses.replace(first, watch=XidWatch(running=len(watched), bound_s=bound))
    conn.rollback()  # no snapshot of the catalog reads is kept open while watching
    query = _POLL_SQL.format(snapshot=snapshot_function(ctx.version_num))
    pause, held, elapsed = FIRST_POLL_S, watched, 0.0
    while True:
        snapshot, now = _poll(conn, query)
        held, elapsed = {x for x in held if is_running(x, snapshot)}, max(now - first.observed_at, 0.0)
        if not held or elapsed >= bound:
            break
        time.sleep(min(pause, bound - elapsed))  # the watch window: bounded, no transaction open
        pause = min(pause * 2, LAST_POLL_S)
    latest = first
    if held:  # describe what stayed as it is now: state and ages at the end of the watch
        row = conn.execute(f"SELECT pg_catalog.row_to_json(q) FROM ({activity_sql(ctx.version_num)}) AS q",
                           activity_params()).fetchone()
        conn.rollback()
        if row is not None:
            latest = ACTIVITY.decode(row[0])
            held = {x for x in held if is_running(x, latest.snapshot)}  # one may have ended since the last poll
    return dataclasses.replace(latest, watch=XidWatch(running=len(watched), held=sorted(held, key=int),
                                                      watched_s=round(elapsed, 3), bound_s=bound))


def _activity(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return activity_sql(ctx.version_num), activity_params()


ACTIVITY = SqlFact.one(
    "activity",
    "the running xids and other sessions' open transactions (xid, state, age) and prepared transactions, the xids "
    "watched until they end or the bound passes; hidden sessions counted",
    ActivityFact,
    _activity,
    scope=Scope.CLUSTER,  # pg_stat_activity and pg_prepared_xacts list every database's sessions
    follow=watch_xids,
)
