"""Airbyte's Postgres source: its ``config`` JSON (the connector spec's fields), with CDC replication.

- Connection: ``host``, ``port`` (5432), ``database``, ``username``, ``ssl_mode.mode`` (``prefer``: the
  spec's default); ``password`` and the SSH tunnel's secrets are never read.
- ``replication_method``: ``{"method": "CDC", "replication_slot", "publication", "plugin" (pgoutput),
  "initial_load_timeout_hours", ...}``. Airbyte creates neither: both must exist. Other methods (``Xmin``,
  ``Standard``) do not use logical replication: refused.
- ``schemas`` (default ``["public"]``): exact schema names (case-sensitive); the streams picked in the
  connection are Airbyte's catalog, not this file, so every table of those schemas is selected.
- ``heartbeat_action_query`` (in ``replication_method``) when set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.consumers.base import Keys, statement_heartbeat
from preflight.consumers.model import Connection, ConsumerConfig, ConsumerSettings, Selection

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def is_airbyte(raw: Any) -> bool:
    config = raw.get("connectionConfiguration", raw) if isinstance(raw, dict) else None
    return isinstance(config, dict) and "replication_method" in config


def parse(path: Path, raw: Any) -> ConsumerConfig:
    nested = isinstance(raw, dict) and isinstance(raw.get("connectionConfiguration"), dict)
    keys = Keys(path, raw["connectionConfiguration"] if nested else raw, "connectionConfiguration." if nested else "")
    method = keys.mapping("replication_method")
    if method is None:
        raise keys.error("replication_method", "missing")
    rm = Keys(path, method, keys.where + "replication_method.")
    kind = rm.text("method")
    if kind is None or kind.upper() != "CDC":
        raise rm.error("method", f"{kind!r}: only CDC reads a replication slot (Xmin and Standard do not)")
    notes: list[str] = []
    for key in ("host", "database"):
        if not keys.has(key):
            raise keys.error(key, "missing: the source requires it")
    ssl = keys.mapping("ssl_mode")
    sslmode = Keys(path, ssl, keys.where + "ssl_mode.").choice("mode", "prefer", SSL_MODES) if ssl else "prefer"
    connection = Connection(host=keys.text("host", reference_ok=True), port=keys.integer("port", 5432),
                            database=keys.text("database", reference_ok=True),
                            user=keys.text("username", reference_ok=True), sslmode=sslmode)
    slot, publication = rm.text("replication_slot"), rm.text("publication")
    for key, got in (("replication_slot", slot), ("publication", publication)):
        if got is None:
            raise rm.error(key, "missing: CDC requires it")
    plugin = rm.choice("plugin", "pgoutput", ("pgoutput",))
    schemas = keys.raw("schemas")
    if schemas is None:
        schemas = ["public"]
    if not isinstance(schemas, list) or not all(isinstance(s, str) and s for s in schemas):
        raise keys.error("schemas", "expected a list of schema names")
    sources = {"dsn": keys.source("host, port, database, username"),
               "slot_name": rm.source("replication_slot"), "publication": rm.source("publication"),
               "plugin": rm.source("plugin") if rm.has("plugin") else "default of plugin (pgoutput)",
               "schemas": keys.source("schemas") if keys.has("schemas") else "default of schemas (public)",
               "initial_copy": "Airbyte's CDC sync copies every stream first"}
    query = rm.text("heartbeat_action_query")
    heartbeat = statement_heartbeat(rm.where + "heartbeat_action_query", query, notes) if query else None
    return ConsumerConfig(
        connection=connection, profile="airbyte", slot_name=slot, publication=publication, plugin=plugin,
        selection=Selection(schemas=tuple(schemas)),
        settings=ConsumerSettings(format="airbyte", file=str(path), heartbeat=heartbeat, sources=sources,
                                  notes=tuple(notes)))

