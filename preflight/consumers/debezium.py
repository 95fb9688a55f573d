"""Debezium's PostgreSQL connector: its Kafka Connect configuration (JSON, flat or ``{"name", "config"}``, or
``.properties``), read with the connector's own defaults and semantics.

- Connection: ``database.hostname``, ``database.port`` (5432), ``database.dbname``, ``database.user`` are
  required by the connector, ``database.sslmode`` defaults to ``prefer``. ``database.password`` is never read.
- ``slot.name`` (``debezium``), ``publication.name`` (``dbz_publication``), ``plugin.name`` (``decoderbufs``:
  the connector's own default, whatever the examples show), ``slot.failover`` (false; 3.0.5+, PostgreSQL 17+).
- ``publication.autocreate.mode`` (``all_tables``; with pgoutput only): what the connector does when the
  publication is missing (``filtered`` also keeps an existing one in step with the selection).
- ``snapshot.mode`` (``initial``): ``never`` and ``no_data`` copy nothing; ``configuration_based`` copies when
  ``snapshot.mode.configuration.based.snapshot.data`` is true.
- ``schema.include.list`` / ``schema.exclude.list`` / ``table.include.list`` / ``table.exclude.list`` (and the
  1.x names ``*.whitelist`` / ``*.blacklist``): comma-separated Java regexes, see ``TableFilter``.
- ``heartbeat.action.query`` runs every ``heartbeat.interval.ms`` (0, the default: never).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.consumers.base import ConsumerConfigError, Keys, statement_heartbeat
from preflight.consumers.javaregex import JavaRegexError, compile_java, split_list
from preflight.consumers.model import (
    AUTOCREATE_MODES,
    Connection,
    ConsumerConfig,
    ConsumerSettings,
    Heartbeat,
    Selection,
    TableFilter,
)

CONNECTOR_CLASS = "io.debezium.connector.postgresql.PostgresConnector"
PLUGINS = ("decoderbufs", "pgoutput", "wal2json", "wal2json_streaming", "wal2json_rds", "wal2json_rds_streaming")
# snapshot.mode values by connector version (PostgresConnectorConfig.SnapshotMode).
SNAPSHOT_MODES = ("always", "initial", "no_data", "initial_only", "when_needed", "configuration_based", "custom",
                  "never", "exported")
SNAPSHOT_MODES_TEXT = ("3.3+: always, initial, initial_only, no_data, when_needed, configuration_based, custom; "
                       "2.6 to 3.2 also never; 2.0 to 2.5: always, initial, never, initial_only, custom; "
                       "1.x also exported")
NO_COPY = ("never", "no_data")
FILTER_KEYS = {  # our field -> the key, then the 1.x name it replaced
    "schema_include": ("schema.include.list", "schema.whitelist"),
    "schema_exclude": ("schema.exclude.list", "schema.blacklist"),
    "table_include": ("table.include.list", "table.whitelist"),
    "table_exclude": ("table.exclude.list", "table.blacklist"),
}


def is_debezium(raw: Any) -> bool:
    """Kafka Connect JSON: the flat config or ``{"name", "config": {...}}`` with a ``connector.class``."""
    if not isinstance(raw, dict):
        return False
    config = raw.get("config") if isinstance(raw.get("config"), dict) else raw
    return isinstance(config, dict) and "connector.class" in config


def parse(path: Path, raw: Any) -> ConsumerConfig:
    if not isinstance(raw, dict):
        raise ConsumerConfigError(f"{path}: expected a Kafka Connect configuration object")
    nested = isinstance(raw.get("config"), dict)
    keys = Keys(path, raw["config"] if nested else raw, "config." if nested and path.suffix == ".json" else "")
    connector = keys.text("connector.class")
    if connector is None:
        raise keys.error("connector.class", "missing (the Debezium PostgreSQL connector is " + CONNECTOR_CLASS + ")")
    if connector != CONNECTOR_CLASS:
        raise keys.error("connector.class", f"{connector!r} is not the Debezium PostgreSQL connector ({CONNECTOR_CLASS})")
    sources: dict[str, str] = {}
    notes: list[str] = []
    connection = _connection(keys, notes)
    sources["dsn"] = keys.source("database.*")

    def value(field: str, key: str, default: str) -> str:
        got = keys.text(key)
        sources[field] = keys.source(key) if got is not None else f"default of {key} ({default})"
        return got or default

    slot = value("slot_name", "slot.name", "debezium")
    publication = value("publication_name", "publication.name", "dbz_publication")
    sources["publication"] = sources.pop("publication_name")
    plugin = keys.choice("plugin.name", "decoderbufs", PLUGINS)
    sources["plugin"] = keys.source("plugin.name") if keys.has("plugin.name") else "default of plugin.name (decoderbufs)"
    plugin = "wal2json" if plugin.startswith("wal2json") else plugin
    autocreate = keys.choice("publication.autocreate.mode", "all_tables", AUTOCREATE_MODES)
    if plugin != "pgoutput":
        autocreate = "disabled"  # the connector creates publications only for pgoutput
    mode = keys.choice("snapshot.mode", "initial", SNAPSHOT_MODES, accepted_text=SNAPSHOT_MODES_TEXT)
    if mode == "never":
        notes.append("snapshot.mode=never was removed in Debezium 3.3 (no_data replaces it)")
    copy = mode not in NO_COPY
    if mode == "configuration_based":
        copy = keys.boolean("snapshot.mode.configuration.based.snapshot.data", False)
    sources["initial_copy"] = keys.source("snapshot.mode") if keys.has("snapshot.mode") else "default of snapshot.mode (initial)"
    selection = Selection(filter=_filter(keys))
    sources["tables"] = "; ".join(keys.source(k) for k in selection.filter.keys.values()) if selection.filter else (
        "default (no include or exclude list: every table)")
    failover = keys.boolean("slot.failover", False)
    if failover:
        sources["failover_slot"] = keys.source("slot.failover")
        notes.append("slot.failover=true: Debezium 3.0.5+ creates the slot with failover on a PostgreSQL 17+ "
                     "primary only (elsewhere, or on older connectors, without it)")
    settings = ConsumerSettings(
        format="debezium", file=str(path), autocreate=autocreate, initial_copy=copy, heartbeat=_heartbeat(keys, notes),
        failover_slot=failover, sources=sources, notes=tuple(notes))
    return ConsumerConfig(connection=connection, profile="debezium", slot_name=slot, publication=publication,
                          plugin=plugin, selection=selection, settings=settings)


def _connection(keys: Keys, notes: list[str]) -> Connection:
    host = keys.text("database.hostname", reference_ok=True)
    database = keys.text("database.dbname", reference_ok=True)
    user = keys.text("database.user", reference_ok=True)
    for key, got in (("database.hostname", host), ("database.dbname", database), ("database.user", user)):
        if got is None and not keys.has(key):
            raise keys.error(key, "missing: the connector requires it")
        if got is None:
            notes.append(f"{key} is a config provider reference: not resolved (the DSN argument or PG* variables "
                         "supply it)")
    port = keys.integer("database.port", 5432, reference_ok=True)
    if port is not None and not 0 < port < 65536:
        raise keys.error("database.port", f"{port} is not a TCP port")
    sslmode = keys.choice("database.sslmode", "prefer",
                          ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"))
    return Connection(host=host, port=port, database=database, user=user, sslmode=sslmode)


def _filter(keys: Keys) -> TableFilter | None:
    lists: dict[str, tuple[str, ...]] = {}
    used: dict[str, str] = {}
    for field, names in FILTER_KEYS.items():
        for key in names:
            text = keys.text(key)
            if text:
                try:
                    entries = tuple(split_list(text))
                    for entry in entries:
                        compile_java(entry)
                except JavaRegexError as exc:
                    raise keys.error(key, f"invalid regular expression: {exc}") from None
                lists[field], used[field] = entries, key
                break
    for level in ("schema", "table"):
        if f"{level}_include" in lists and f"{level}_exclude" in lists:
            raise keys.error(used[f"{level}_exclude"], f"cannot be used with {used[f'{level}_include']} (the "
                                                       "connector refuses both)")
    return TableFilter(**lists, keys=used) if lists else None


def _heartbeat(keys: Keys, notes: list[str]) -> Heartbeat | None:
    interval = keys.integer("heartbeat.interval.ms", 0)
    query = keys.text("heartbeat.action.query")
    if interval is not None and interval < 0:
        raise keys.error("heartbeat.interval.ms", f"{interval} is negative")
    if not interval:
        if query:
            notes.append("heartbeat.action.query is set but heartbeat.interval.ms is 0: the connector never runs it")
        return None
    if not query:
        return Heartbeat(key="heartbeat.interval.ms", understood=True)
    return statement_heartbeat("heartbeat.action.query", query, notes)
