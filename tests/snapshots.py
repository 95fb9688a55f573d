"""Snapshots for unit tests of pure check logic (no server), built from the facts' own row models.

Every builder returns the row model a live run produces (a healthy server's values by default), so
a test states only what it changes, and a field a row model does not have is a TypeError, not a
silently ignored dict key. ``make_snapshot`` refuses a fact whose value is not of its row model.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from preflight.facts import (
    FACTS,
    ActivityFact,
    ConnectOutcome,
    NotReplicatedFact,
    OpenTransaction,
    PluginProbeKind,
    PluginProbeResult,
    PluginSupport,
    PreparedTransaction,
    ProbeStatus,
    ProviderSignals,
    PublicationMember,
    PublicationRow,
    PublicationsFact,
    ReplicationProbeResult,
    RoleFact,
    SchemaRow,
    ServerFact,
    ServerInfo,
    SettingRow,
    SlotRow,
    Snapshot,
    TableRow,
    WalsendersFact,
    WalStats,
    XidWatch,
)

DEFAULT_SETTINGS: dict[str, tuple[str, str | None, str]] = {
    # name: (setting, unit, vartype)
    "wal_level": ("logical", None, "enum"),
    "max_replication_slots": ("10", None, "integer"),
    "max_wal_senders": ("10", None, "integer"),
    "wal_sender_timeout": ("60000", "ms", "integer"),
    "max_slot_wal_keep_size": ("10240", "MB", "integer"),
    "default_transaction_read_only": ("off", None, "bool"),
}


# pg_settings.context of the settings tests change (the rest: postmaster, i.e. a restart to change)
CONTEXTS = {"wal_sender_timeout": "sighup", "max_slot_wal_keep_size": "sighup", "hot_standby_feedback": "sighup",
            "default_transaction_read_only": "user"}


def setting_row(name: str, value: str, unit: str | None = None, vartype: str = "integer", **more: Any) -> SettingRow:
    fields: dict[str, Any] = {"context": CONTEXTS.get(name, "postmaster"), "source": "configuration file",
                              "reset_val": value, **more}
    return SettingRow(name=name, setting=value, unit=unit, vartype=vartype, **fields)


def server_fact(**over: Any) -> ServerFact:
    base = ServerFact(in_recovery=False, role="cdc", login_role="cdc", database="app", version="PostgreSQL",
                      server_version_num=150000, server_version="15.18", default_transaction_read_only="off",
                      transaction_read_only="on", is_superuser=False, has_replication_attribute=True)
    return dataclasses.replace(base, **over)


def walsenders(streaming: int = 0, senders: int = 0, can_see_all: bool = True) -> WalsendersFact:
    return WalsendersFact(streaming=streaming, walsenders=senders, can_see_all=can_see_all)


def slot(name: str, active: bool = False, slot_type: str = "logical", **more: Any) -> SlotRow:
    logical = slot_type == "logical"
    fields: dict[str, Any] = {
        "plugin": "pgoutput" if logical else None, "database": "app" if logical else None, "temporary": False,
        "active_pid": 4242 if active else None, "retained_bytes": 1024,
        "wal_status": "reserved", "client_application": None, "client_addr": None, **more,
    }
    return SlotRow(slot_name=name, slot_type=slot_type, active=active, **fields)


def table(schema: str, name: str, **over: Any) -> TableRow:
    """A permanent plain table with a primary key, owned by ``app``, readable by the judged role."""
    base = TableRow(schema=schema, name=name, relkind="r", relpersistence="p", relreplident="d", is_partition=False,
                    parent_schema=None, parent_name=None, has_primary_key=True, identity_index=None,
                    candidate_index=None, size_bytes=8192, estimated_rows=10, owner="app", judged_role_owns=True,
                    can_use_schema=True, can_select=True)
    return dataclasses.replace(base, **over)


def schema(name: str, can_use: bool | None = True, exists: bool = True, owner: str | None = "app") -> SchemaRow:
    return SchemaRow(name=name, exists=exists, owner=owner, can_use=can_use, can_create=False)


def role(**over: Any) -> RoleFact:
    """A login role with REPLICATION, CONNECT, no limits, that cannot see other roles' sessions."""
    base = RoleFact(
        rolname="cdc", exists=True, checker="cdc", is_checker=True, rolsuper=False, rolreplication=True,
        rolcanlogin=True, rolinherit=True, rolconnlimit=-1,
        memberships={"pg_read_all_stats": False, "pg_monitor": False, "pg_read_all_data": False},
        provider_roles=None, replication_via=None, replication_groups=None, database="app", datconnlimit=-1,
        can_connect=True, can_create=False, checker_sees_all=False, client_backends=5, hidden_sessions=0,
        role_connections=1, database_connections=3,
    )
    return dataclasses.replace(base, **over)


def replication_probe(status: ProbeStatus = ProbeStatus.OK, **more: Any) -> ReplicationProbeResult:
    if status is ProbeStatus.OK:
        more = {"systemid": "7713", "timeline": 1, "xlogpos": "0/1502000", "dbname": "app", **more}
    return ReplicationProbeResult(status=status, **more)


def plugin_support(version: int = 160015, allowlist: str | None = "pgoutput, test_decoding", visible: bool = True,
                   can_read: bool = True, role: str = "cdc") -> PluginSupport:
    return PluginSupport(server_version_num=version, in_recovery=False, role=role, is_superuser=False,
                         can_read_settings=can_read, allowlist_visible=visible,
                         output_plugin_libraries=allowlist if visible else None, allowlist_context="superuser")


def plugin_probe(status: ProbeStatus, kind: PluginProbeKind | None = None, plugin: str = "pgoutput",
                 **more: Any) -> PluginProbeResult:
    return PluginProbeResult(status=status, plugin=plugin, kind=kind, **more)


def publication(name: str, **over: Any) -> PublicationRow:
    base = PublicationRow(pubname=name, owner="app", puballtables=False, pubinsert=True, pubupdate=True,
                          pubdelete=True, pubtruncate=True, pubviaroot=False)
    return dataclasses.replace(base, **over)


def member(schema: str, name: str, **over: Any) -> PublicationMember:
    base = PublicationMember(schema=schema, name=name, relreplident="d", attnames=None, rowfilter=None,
                             identity_columns=["id"], related=None)
    return dataclasses.replace(base, **over)


def publications(pubs: list[PublicationRow] | None = None, members: list[PublicationMember] | None = None,
                 can_create: bool = True, superuser: bool = False,
                 unkeyed_elsewhere: list[list[str]] | None = None) -> PublicationsFact:
    return PublicationsFact(requested=None, judged_role="cdc", judged_role_is_superuser=superuser,
                            judged_role_can_create=can_create, publications=pubs or [], members=members or [],
                            unkeyed_elsewhere=unkeyed_elsewhere or [])


def session(pid: int, age_s: float | None, state: str | None = "active", xid: bool = True, user: str = "app",
            hidden: bool = False) -> OpenTransaction:
    """Another session's transaction; its xid (when it holds one) is ``1000 + pid``; ``hidden``: no state nor ages."""
    return OpenTransaction(pid=pid, usename=user, application_name="billing", datname="app",
                           state=None if hidden else state, backend_type=None if hidden else "client backend",
                           has_xid=xid, has_xmin=True, xact_age_s=None if hidden else age_s,
                           state_age_s=None if hidden or age_s is None else age_s / 2,
                           xid=str(1000 + pid) if xid else None, hidden=hidden)


def prepared(gid: str, age_s: float) -> PreparedTransaction:
    return PreparedTransaction(gid=gid, owner="app", database="app", xid="777", age_s=age_s)


def activity(sessions: list[OpenTransaction] | None = None, prepared: list[PreparedTransaction] | None = None,
             can_see_all: bool = True, hidden: int = 0, held: list[OpenTransaction] | None = None,
             watched_s: float = 0.02, hidden_snapshots: int = 0) -> ActivityFact:
    """The fact after its watch: every session holding an xid was running at the first reading; those in ``held``
    were still running when the watch ended, after ``watched_s``."""
    sessions = sessions or []
    running = sum(1 for s in sessions if s.xid)
    return ActivityFact(can_see_all=can_see_all, role="cdc", hidden_sessions=hidden, sessions=sessions,
                        prepared=prepared or [], hidden_snapshot_sessions=hidden_snapshots,
                        watch=XidWatch(running=running, held=[s.xid for s in held or [] if s.xid],
                                       watched_s=watched_s))


def not_replicated(sequences: int = 0, large_objects: int = 0,
                   generated_columns: list[list[str]] | None = None) -> NotReplicatedFact:
    return NotReplicatedFact(sequences=sequences, large_objects=large_objects, generated_columns=generated_columns)


def wal_stats(wal_bytes: int, seconds_since_reset: float, stats_reset: str = "2024-01-01") -> WalStats:
    return WalStats(wal_bytes=wal_bytes, stats_reset=stats_reset, seconds_since_reset=seconds_since_reset)


def provider_signals(**over: Any) -> ProviderSignals:
    base = ProviderSignals(roles=[], settings=[], aurora_function=False, heroku_schema=False, aiven_extension=False)
    return dataclasses.replace(base, **over)


def make_snapshot(settings: dict[str, Any] | None = None, slots: list[SlotRow] | None = None,
                  server: dict[str, Any] | None = None, version_num: int = 150000, **facts: Any) -> Snapshot:
    """A healthy server's snapshot. ``settings`` maps a name to a value, to ``setting_row`` keywords (a dict;
    ``value`` is the setting) or to None (absent); ``server`` changes the server fact; other facts are
    given by name, as their row models."""
    rows = {n: setting_row(n, v, u, t) for n, (v, u, t) in DEFAULT_SETTINGS.items()}
    for name, value in (settings or {}).items():
        if isinstance(value, dict):
            rows[name] = setting_row(name, **value)
        elif value is None:
            rows.pop(name, None)
        else:
            rows[name] = dataclasses.replace(rows.get(name) or setting_row(name, str(value)), setting=str(value))
    all_facts: dict[str, Any] = {
        "server": server_fact(server_version_num=version_num, **(server or {})),
        "settings": list(rows.values()),
        "slots": slots or [],
        "walsenders": walsenders(),
    }
    all_facts.update(facts)
    for name, value in all_facts.items():
        assert_row_models(name, value)
    return Snapshot(connect=ConnectOutcome(ok=True, latency_ms=3.0),
                    server=ServerInfo(version_num=version_num, version="15.18", host="db", port=5432, dbname="app",
                                      user="cdc", ssl=False),
                    facts=all_facts)


def assert_row_models(name: str, value: Any) -> None:
    """A test's fact must be what a live run stores: the fact's row model (a list of them, or None if optional)."""
    fact = FACTS[name]
    rows = value if isinstance(value, list) else [value]
    allowed: tuple[type, ...] = (fact.row, type(None)) if getattr(fact, "shape", "") == "optional_row" else (fact.row,)
    bad = [row for row in rows if not isinstance(row, allowed)]
    if bad:
        raise TypeError(f"fact {name!r} must hold {fact.row.__name__} rows, not {type(bad[0]).__name__}")
