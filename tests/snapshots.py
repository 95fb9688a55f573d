"""Hand-built snapshots for unit tests of pure check logic (no server)."""

from __future__ import annotations

from typing import Any

from preflight.facts import ConnectOutcome, ServerInfo, Snapshot

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


def setting_row(name: str, value: str, unit: str | None = None, vartype: str = "integer", **more: Any) -> dict[str, Any]:
    row = {"name": name, "setting": value, "unit": unit, "vartype": vartype, "context": CONTEXTS.get(name, "postmaster"),
           "source": "configuration file", "boot_val": None, "reset_val": value, "pending_restart": False}
    row.update(more)
    return row


def make_snapshot(settings: dict[str, Any] | None = None, slots: list[dict[str, Any]] | None = None,
                  server: dict[str, Any] | None = None, version_num: int = 150000, **facts: Any) -> Snapshot:
    """A healthy server's snapshot; pass overrides (a setting value, or a full row dict)."""
    rows = {n: setting_row(n, v, u, t) for n, (v, u, t) in DEFAULT_SETTINGS.items()}
    for name, value in (settings or {}).items():
        if isinstance(value, dict):
            rows[name] = setting_row(name, **value)
        elif value is None:
            rows.pop(name, None)
        else:
            rows[name] = {**rows.get(name, setting_row(name, str(value))), "setting": str(value)}
    server_fact = {"in_recovery": False, "role": "cdc", "login_role": "cdc", "database": "app", "version": "PostgreSQL",
                   "server_version_num": version_num, "server_version": "15.18", "default_transaction_read_only": "off",
                   "transaction_read_only": "on", "is_superuser": False, "has_replication_attribute": True}
    server_fact.update(server or {})
    all_facts: dict[str, Any] = {
        "server": server_fact,
        "settings": list(rows.values()),
        "slots": slots or [],
        "walsenders": {"streaming": 0, "walsenders": 0, "can_see_all": True},
    }
    all_facts.update(facts)
    return Snapshot(connect=ConnectOutcome(ok=True, latency_ms=3.0),
                    server=ServerInfo(version_num=version_num, version="15.18", host="db", port=5432, dbname="app",
                                      user="cdc", ssl=False),
                    facts=all_facts)


def slot(name: str, active: bool = False, slot_type: str = "logical", **more: Any) -> dict[str, Any]:
    row = {"slot_name": name, "plugin": "pgoutput" if slot_type == "logical" else None, "slot_type": slot_type,
           "database": "app" if slot_type == "logical" else None, "temporary": False, "active": active,
           "active_pid": 4242 if active else None, "retained_bytes": 1024, "in_this_database": slot_type == "logical",
           "wal_status": "reserved", "client_application": None, "client_addr": None}
    row.update(more)
    return row
