"""The opt-in plugin probe: prove that an output plugin loads by creating a TEMPORARY logical slot.

There is no catalog of installed output plugins; the only proof is to use one. The probe opens its
own connection (autocommit, the same timeouts and ``application_name`` as the read-only session),
creates a TEMPORARY slot with a unique name, drops it and closes. A temporary slot dies with its
session, so even a SIGKILLed run cannot leak it. Slot creation waits for every transaction that
holds an xid (prepared ones included): those are looked up first, and the wait is bounded by
``lock_timeout`` / ``statement_timeout``. Never probes on a standby before 16. Never raises for I/O:
outcomes are data (classified, scrubbed).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import sql

from preflight.connection import classify, connect_kwargs, parse_dsn, scrub
from preflight.facts.base import FactContext, ProbeFact, ProbeStatus, Scope
from preflight.pg_versions import DECODING_ON_STANDBY, supports


class PluginProbeKind(StrEnum):
    """Why the probe did not prove the plugin (or was not run)."""

    LIBRARY_MISSING = "library_missing"
    NOT_ALLOWED = "not_allowed"
    PRIVILEGE = "privilege"
    TIMEOUT = "timeout"
    IN_RECOVERY = "in_recovery"
    WAL_LEVEL = "wal_level"
    NO_FREE_SLOT = "no_free_slot"
    OTHER = "other"
    CONNECT = "connect"
    STANDBY_BEFORE_16 = "standby_before_16"
    NOT_REQUESTED = "not_requested"


@dataclass(frozen=True, slots=True)
class ProbeBlockers:
    """Transactions holding an xid when the probe started: slot creation waits for them."""

    xid_sessions: int
    prepared: int
    oldest_xact_s: float | None = None
    pids: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PluginProbeResult:
    """The plugin probe's outcome: ok, failed (kind, SQLSTATE, scrubbed detail and hint) or skipped (kind, reason)."""

    status: ProbeStatus
    plugin: str
    kind: PluginProbeKind | None = None
    wait_bound_s: float | None = None
    blockers: ProbeBlockers | None = None
    slot_name: str | None = None
    reason: str | None = None
    message: str | None = None
    sqlstate: str | None = None
    detail: str | None = None
    hint: str | None = None

PROBE_PREFIX = "pg_preflight_probe_"

_BLOCKERS_SQL = """
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_stat_activity AS a
             WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid())::pg_catalog.int4 AS xid_sessions,
           (SELECT pg_catalog.count(*) FROM pg_catalog.pg_prepared_xacts)::pg_catalog.int4 AS prepared,
           (SELECT pg_catalog.max(pg_catalog.date_part('epoch', pg_catalog.now() - a.xact_start))::pg_catalog.float8
              FROM pg_catalog.pg_stat_activity AS a
             WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid()) AS oldest_xact_s,
           (SELECT pg_catalog.array_agg(a.pid ORDER BY a.xact_start) FROM pg_catalog.pg_stat_activity AS a
             WHERE a.backend_xid IS NOT NULL AND a.pid <> pg_catalog.pg_backend_pid()) AS pids,
           pg_catalog.pg_is_in_recovery() AS in_recovery,
           pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS version_num
"""


def probe_slot_name() -> str:
    """Unique per run and recognisable: pg_preflight_probe_<pid>_<random>."""
    return f"{PROBE_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"


def classify_probe_error(exc: psycopg.Error, text: str) -> PluginProbeKind:
    """The kind of a failed slot creation, from its SQLSTATE (and message where states are shared)."""
    state = exc.sqlstate or ""
    if state == "58P01":
        return PluginProbeKind.LIBRARY_MISSING
    if state == "42501":
        return PluginProbeKind.NOT_ALLOWED if "output plugin" in text else PluginProbeKind.PRIVILEGE
    if state in ("55P03", "57014"):
        return PluginProbeKind.TIMEOUT
    if state == "0A000" or "recovery" in text:
        return PluginProbeKind.IN_RECOVERY
    if state == "55000":
        return PluginProbeKind.WAL_LEVEL
    if state == "53400":
        return PluginProbeKind.NO_FREE_SLOT
    return PluginProbeKind.OTHER


def _create_and_drop(conn: psycopg.Connection[Any], plugin: str) -> str:
    name = probe_slot_name()
    conn.execute(
        sql.SQL("SELECT pg_catalog.pg_create_logical_replication_slot({}, {}, temporary => true)").format(
            sql.Literal(name), sql.Literal(plugin)))
    conn.execute(sql.SQL("SELECT pg_catalog.pg_drop_replication_slot({})").format(sql.Literal(name)))
    return name


def probe_plugin(dsn_text: str | None, plugin: str, connect_timeout: float, statement_timeout: float,
                 lock_timeout: float) -> PluginProbeResult:
    """Create and drop a TEMPORARY slot with ``plugin``; the outcome (ok / kind of failure) as data."""
    dsn = parse_dsn(dsn_text)
    hidden = dsn.secrets()
    kwargs = connect_kwargs(dsn, connect_timeout, statement_timeout, lock_timeout)
    bound = min(statement_timeout, lock_timeout)
    try:
        conn = psycopg.connect(dsn.raw or "", autocommit=True, prepare_threshold=None, **kwargs)
    except (psycopg.Error, OSError) as exc:
        failure = classify(exc, hidden)
        return PluginProbeResult(ProbeStatus.FAILED, plugin, PluginProbeKind.CONNECT, wait_bound_s=bound,
                                 message=failure.message, detail=failure.detail)
    blockers: ProbeBlockers | None = None
    try:
        row = conn.execute(_BLOCKERS_SQL).fetchone()
        assert row is not None
        xid_sessions, prepared, oldest, pids, in_recovery, version_num = row
        blockers = ProbeBlockers(xid_sessions, prepared, oldest, list(pids or [])[:20])
        if in_recovery and not supports(version_num, DECODING_ON_STANDBY):
            return PluginProbeResult(
                ProbeStatus.SKIPPED, plugin, PluginProbeKind.STANDBY_BEFORE_16, wait_bound_s=bound, blockers=blockers,
                reason="a standby before PostgreSQL 16 cannot create logical slots: not probed")
        slot_name = _create_and_drop(conn, plugin)
        return PluginProbeResult(ProbeStatus.OK, plugin, wait_bound_s=bound, blockers=blockers, slot_name=slot_name)
    except psycopg.Error as exc:
        text = scrub(str(exc).strip(), hidden)
        hint = scrub(exc.diag.message_hint or "", hidden) if exc.diag else ""
        return PluginProbeResult(ProbeStatus.FAILED, plugin, classify_probe_error(exc, text), wait_bound_s=bound,
                                 blockers=blockers, sqlstate=exc.sqlstate,
                                 detail=text.splitlines()[0] if text else type(exc).__name__, hint=hint)
    finally:
        conn.close()  # a temporary slot still there (drop failed) goes with the session


def _plugin_probe(conn: Any, ctx: FactContext) -> PluginProbeResult:
    opts = ctx.options
    if not opts.probe:
        return PluginProbeResult(ProbeStatus.SKIPPED, opts.plugin, PluginProbeKind.NOT_REQUESTED,
                                 reason="not requested (--probe)")
    return probe_plugin(opts.dsn, opts.plugin, opts.connect_timeout, opts.statement_timeout, opts.lock_timeout)


PLUGIN_PROBE = ProbeFact(
    "plugin_probe",
    "with --probe: create and drop a TEMPORARY logical slot with --plugin on a separate connection",
    PluginProbeResult,
    _plugin_probe,
    # What it proves is the server's: the plugin's library loads and a slot can be created once every running
    # transaction of the cluster has ended. The temporary slot lives in the DSN's database only for the probe.
    scope=Scope.CLUSTER,
)
