"""AWS DMS: a PostgreSQL source endpoint as the DMS API writes it (``create-endpoint`` input,
``describe-endpoints`` output, or the ``PostgreSQLSettings`` object alone). Key names compare
case-insensitively (``PostgreSQLSettings``, ``PostgreSqlSettings``, ``postgreSqlSettings``, ``SlotName``, ...).

- Connection: ``ServerName``, ``Port`` (5432), ``DatabaseName``, ``Username`` from the settings or the endpoint,
  ``SslMode`` (``none`` is libpq's ``disable``). ``Password`` and ``SecretsManagerSecretId`` are never read; an
  endpoint whose connection lives in Secrets Manager takes it from the command line.
- ``SlotName``: the slot DMS resumes (absent: DMS creates one of its own per task).
- ``PluginName``: ``test-decoding``, ``pglogical`` (pglogical's output plugin), ``no-preference`` (the default:
  pglogical when installed, else test_decoding; judged as the profile's plugin).
- ``HeartbeatEnable`` (false), ``HeartbeatSchema`` (``public``), ``HeartbeatFrequency`` (minutes): DMS writes
  ``awsdms_heartbeat`` in that schema, creating it when missing.

Table mappings and the migration type (full load or CDC only) belong to the task, not the endpoint: every table
is selected and an initial copy is assumed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preflight.consumers.base import ConsumerConfigError, Keys
from preflight.consumers.model import Connection, ConsumerConfig, ConsumerSettings, Heartbeat

SETTINGS_KEY = "postgresqlsettings"
HEARTBEAT_TABLE = "awsdms_heartbeat"
PLUGINS = {"test-decoding": "test_decoding", "test_decoding": "test_decoding", "pglogical": "pglogical_output",
           "no-preference": None}
SSL_MODES = {"none": "disable", "require": "require", "verify-ca": "verify-ca", "verify-full": "verify-full"}
_SETTING_NAMES = {"slotname", "pluginname", "heartbeatenable", "heartbeatschema", "heartbeatfrequency"}


def _folded(raw: Any) -> dict[str, Any]:
    return {k.lower(): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def is_dms(raw: Any) -> bool:
    top = _folded(raw)
    if "endpoint" in top or "endpoints" in top:
        top = _folded(top.get("endpoint") or (top.get("endpoints") or [None])[0])
    return SETTINGS_KEY in top or "enginename" in top or bool(_SETTING_NAMES & set(top))


def parse(path: Path, raw: Any) -> ConsumerConfig:
    top, where = _folded(raw), ""
    if "endpoints" in top:
        endpoints = top["endpoints"]
        if not isinstance(endpoints, list) or len(endpoints) != 1:
            raise ConsumerConfigError(f"{path}: Endpoints: expected exactly one endpoint")
        top, where = _folded(endpoints[0]), "Endpoints[0]."
    elif "endpoint" in top:
        top, where = _folded(top["endpoint"]), "Endpoint."
    endpoint = Keys(path, top, where, fold=True)
    engine = endpoint.text("EngineName")
    if engine is not None and engine.lower() not in ("postgres", "aurora-postgresql"):
        raise endpoint.error("EngineName", f"{engine!r} is not a PostgreSQL source")
    if (kind := endpoint.text("EndpointType")) is not None and kind.lower() != "source":
        raise endpoint.error("EndpointType", f"{kind!r}: only a source endpoint reads from this server")
    nested = endpoint.mapping("PostgreSQLSettings")
    settings = Keys(path, nested, f"{where}PostgreSQLSettings.", fold=True) if nested is not None else endpoint
    sources: dict[str, str] = {}
    notes: list[str] = []

    def either(key: str, default: str | None = None) -> str | None:
        for keys in (settings, endpoint):
            got = keys.text(key, reference_ok=True)
            if got is not None:
                return got
        return default

    host, database, user = either("ServerName"), either("DatabaseName"), either("Username")
    in_secret = settings.has("SecretsManagerSecretId") or endpoint.has("SecretsManagerSecretId")
    for key, got in (("ServerName", host), ("DatabaseName", database)):
        if got is None and not in_secret:
            raise settings.error(key, "missing: a PostgreSQL source endpoint requires it")
    if in_secret:
        notes.append("the connection is kept in Secrets Manager: the DSN argument or PG* variables supply it")
    port_text = either("Port", "5432") or "5432"
    try:
        port = int(port_text)
    except ValueError:
        raise settings.error("Port", f"expected an integer, got {port_text!r}") from None
    ssl = endpoint.choice("SslMode", "none", tuple(SSL_MODES))
    sources["dsn"] = settings.source("ServerName, Port, DatabaseName, Username")
    slot = settings.text("SlotName")
    sources["slot_name"] = settings.source("SlotName") if slot else "default (DMS creates a slot of its own per task)"
    plugin = PLUGINS[settings.choice("PluginName", "no-preference", tuple(PLUGINS))]
    sources["plugin"] = settings.source("PluginName") if plugin else "default of PluginName (no-preference: judged " \
                                                                    "as the profile's plugin)"
    heartbeat = None
    if settings.boolean("HeartbeatEnable", False):
        schema = settings.text("HeartbeatSchema", "public")
        minutes = settings.integer("HeartbeatFrequency", 5)
        if minutes is not None and minutes < 1:
            raise settings.error("HeartbeatFrequency", f"{minutes}: at least 1 minute")
        heartbeat = Heartbeat(key=settings.where + "HeartbeatEnable", schema_name=schema, table=HEARTBEAT_TABLE,
                              writes=("insert", "update"), creates_table=True)
    sources["initial_copy"] = "default (the task's migration type is not in the endpoint: a full load is assumed)"
    return ConsumerConfig(
        connection=Connection(host=host, port=port, database=database, user=user, sslmode=SSL_MODES[ssl]),
        profile="aws-dms", slot_name=slot, publication=None, plugin=plugin,
        settings=ConsumerSettings(format="aws-dms", file=str(path), heartbeat=heartbeat, sources=sources,
                                  notes=tuple(notes)))
