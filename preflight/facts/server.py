"""Facts about the server and the session: identity, recovery, settings, changes awaiting a restart."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact
from preflight.settings import SIZE_BYTES, TIME_MS, human_bytes, human_ms


@dataclass(frozen=True, slots=True)
class ServerFact:
    """The session and the server it reached."""

    in_recovery: bool
    role: str
    login_role: str
    database: str
    version: str
    server_version_num: int
    server_version: str
    default_transaction_read_only: str
    transaction_read_only: str
    is_superuser: bool
    has_replication_attribute: bool


@dataclass(frozen=True, slots=True)
class SettingRow:
    """One pg_settings row (every setting the checker may see), with its value in the units checks compare."""

    name: str
    setting: str
    unit: str | None = None
    vartype: str = "string"
    context: str = ""
    source: str = ""
    boot_val: str | None = None
    reset_val: str | None = None
    pending_restart: bool = False
    min_val: str | None = None
    max_val: str | None = None

    def as_int(self) -> int:
        return int(float(self.setting))

    def in_ms(self) -> float | None:
        """The value in milliseconds for time settings (negative values kept as they are)."""
        if self.unit not in TIME_MS:
            return None
        value = float(self.setting)
        return value if value < 0 else value * TIME_MS[self.unit]

    def in_bytes(self) -> int | None:
        if self.unit not in SIZE_BYTES:
            return None
        value = int(float(self.setting))
        return value if value < 0 else value * SIZE_BYTES[self.unit]

    def display(self) -> str:
        """Like SHOW: ``60s``, ``1GB``, ``-1``, ``logical``."""
        if self.vartype not in ("integer", "real") or self.unit is None:
            return self.setting
        value = float(self.setting)
        if value < 0:
            return self.setting
        ms = self.in_ms()
        if ms is not None:
            return human_ms(ms)
        size = self.in_bytes()
        return human_bytes(size) if size is not None else self.setting


@dataclass(frozen=True, slots=True)
class PendingSettingRow:
    """One pg_file_settings entry: a value in a configuration file, applied or not."""

    name: str
    setting: str | None
    applied: bool
    error: str | None = None
    seqno: int | None = None


# Settings whose configuration-file entries are read for pending changes (the ones the checks judge).
SETTING_NAMES = [
    "wal_level", "max_replication_slots", "max_wal_senders", "wal_sender_timeout", "max_slot_wal_keep_size",
    "wal_keep_size", "max_connections", "superuser_reserved_connections", "reserved_connections",
    "hot_standby_feedback", "output_plugin_libraries", "idle_replication_slot_timeout", "max_worker_processes",
    "max_logical_replication_workers", "ssl", "wal_segment_size", "default_transaction_read_only",
    "max_prepared_transactions", "track_commit_timestamp", "archive_mode", "shared_preload_libraries",
    "server_version_num", "server_version", "primary_slot_name", "sync_replication_slots",
    "synchronized_standby_slots", "logical_decoding_work_mem",
]


def _server(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT pg_catalog.pg_is_in_recovery() AS in_recovery,
               CURRENT_USER::pg_catalog.text AS role,
               SESSION_USER::pg_catalog.text AS login_role,
               pg_catalog.current_database()::pg_catalog.text AS database,
               pg_catalog.version() AS version,
               pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS server_version_num,
               pg_catalog.current_setting('server_version') AS server_version,
               pg_catalog.current_setting('default_transaction_read_only') AS default_transaction_read_only,
               pg_catalog.current_setting('transaction_read_only') AS transaction_read_only,
               r.rolsuper AS is_superuser,
               r.rolreplication AS has_replication_attribute
          FROM pg_catalog.pg_roles AS r
         WHERE r.rolname = CURRENT_USER
        """,
        {},
    )


# Settings a database (ALTER DATABASE ... SET, ALTER ROLE ... IN DATABASE ... SET) or a session can override:
# their value depends on the database the session is in. Every other context is the server's.
PER_DATABASE_CONTEXTS = ["user", "superuser"]

SETTINGS_SQL = """
    SELECT s.name, s.setting, s.unit, s.vartype, s.context, s.source, s.boot_val, s.reset_val,
           s.pending_restart, s.min_val, s.max_val
      FROM pg_catalog.pg_settings AS s
     WHERE (s.context = ANY(%(contexts)s::pg_catalog.text[])) = %(per_database)s
     ORDER BY s.name
"""


def _settings(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """The pg_settings rows no database can override (about 200: cheap), so a plugin can read any of them."""
    return SETTINGS_SQL, {"contexts": PER_DATABASE_CONTEXTS, "per_database": False}


def _session_settings(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """The rows a database or role may override (``user`` / ``superuser`` context), as this database has them."""
    return SETTINGS_SQL, {"contexts": PER_DATABASE_CONTEXTS, "per_database": True}


def _pending_settings(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    # pg_file_settings is readable by superusers only: a failure here is expected and optional.
    # Every entry is read, in file order, since a later entry supersedes an earlier one.
    return (
        """
        SELECT f.name, f.setting, f.applied, f.error, f.seqno
          FROM pg_catalog.pg_file_settings AS f
         WHERE f.name = ANY(%(names)s)
         ORDER BY f.seqno
        """,
        {"names": SETTING_NAMES},
    )


def server_in(fact: ServerFact, dbname: str) -> ServerFact:
    """What a session in ``dbname`` reads, given one with the same settings in another database."""
    return dataclasses.replace(fact, database=dbname)


def same_rows(rows: list[SettingRow], dbname: str) -> list[SettingRow]:
    """Sessions that start with the same settings read the same rows."""
    return rows


# current_database() and the session's defaults (default_transaction_read_only may be set per database)
SERVER = SqlFact.one("server", "recovery state, session and login role, version, read-only defaults", ServerFact,
                     _server, scope=Scope.DATABASE, for_database=server_in, same_settings=True)
SETTINGS = SqlFact.rows("settings", "the pg_settings rows no database or session can override (postmaster, sighup, "
                        "backend, internal contexts), provider settings included", SettingRow, _settings, records=True,
                        scope=Scope.CLUSTER)
SESSION_SETTINGS = SqlFact.rows("session_settings", "the pg_settings rows a database or role may override (user and "
                                "superuser contexts), as the session in this database has them", SettingRow,
                                _session_settings, records=True, scope=Scope.DATABASE, for_database=same_rows,
                                same_settings=True)
PENDING_SETTINGS = SqlFact.rows("pending_settings", "configuration-file values not applied yet (superuser only)",
                                PendingSettingRow, _pending_settings, scope=Scope.CLUSTER)
