"""Facts about the server and the session: identity, recovery, settings, changes awaiting a restart."""

from __future__ import annotations

from typing import Any

from preflight.facts.base import FactContext, SqlFact

# Settings the checks (and later ones: providers, profiles) read. Provider prefixes are matched by
# pattern so that a managed service's own GUCs are visible without any query that could fail.
SETTING_NAMES = [
    "wal_level", "max_replication_slots", "max_wal_senders", "wal_sender_timeout", "max_slot_wal_keep_size",
    "wal_keep_size", "max_connections", "superuser_reserved_connections", "reserved_connections",
    "hot_standby_feedback", "output_plugin_libraries", "idle_replication_slot_timeout", "max_worker_processes",
    "max_logical_replication_workers", "ssl", "wal_segment_size", "default_transaction_read_only",
    "max_prepared_transactions", "track_commit_timestamp", "archive_mode", "shared_preload_libraries",
    "server_version_num", "server_version", "primary_slot_name", "sync_replication_slots",
    "synchronized_standby_slots", "logical_decoding_work_mem",
]
SETTING_PATTERNS = ["rds.%", "cloudsql.%", "alloydb.%", "azure.%", "neon.%", "aurora.%", "apg_%", "supautils.%"]


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


def _settings(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT s.name, s.setting, s.unit, s.vartype, s.context, s.source, s.boot_val, s.reset_val,
               s.pending_restart, s.min_val, s.max_val
          FROM pg_catalog.pg_settings AS s
         WHERE s.name = ANY(%(names)s) OR s.name LIKE ANY(%(patterns)s)
        """,
        {"names": SETTING_NAMES, "patterns": SETTING_PATTERNS},
    )


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


SERVER = SqlFact("server", "recovery state, session and login role, version, read-only defaults", _server, "row")
SETTINGS = SqlFact("settings", "pg_settings rows the checks read, provider GUCs included", _settings)
PENDING_SETTINGS = SqlFact(
    "pending_settings", "configuration-file values not applied yet (superuser only)", _pending_settings
)
