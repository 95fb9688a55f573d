"""How to fix a server setting or a missing replication grant, on each provider: the one place that knows.

Self-managed servers take ``ALTER SYSTEM`` followed by a reload or a restart, depending on the
setting's ``pg_settings.context``. Managed services refuse ``ALTER SYSTEM``: the same change goes
through the provider's parameter group, flag or server parameter (or its console), and the fix says
where. Every recommended value is "raise only": a fix never lowers what the server already has.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import sql

from preflight.facts import SettingRow
from preflight.models import Remediation
from preflight.provider_detection import PROVIDERS, SELF_MANAGED, Provider
from preflight.setting_text import EQUIVALENT, RELOAD, alter_system
from preflight.settings import SIZE_BYTES, TIME_MS, size_setting_text
from preflight.sqltext import render

# pg_settings.context values whose changes apply at a reload (for new sessions at least).
RELOADABLE = frozenset({"sighup", "superuser", "user", "backend", "superuser-backend"})
SUPERUSER = "a superuser (or, 15+, a role granted ALTER SYSTEM on the parameter)"  # who may run ALTER SYSTEM


@dataclass(frozen=True)
class SettingPlace:
    """Where a provider changes a server setting, and how a change that needs a restart is applied."""

    where: str  # "in the DB parameter group set {name} = {value}"
    restart: str  # what applies a setting that changes only at server start
    reload: str = "it applies without a restart"


_SETTING_PLACES: dict[str, SettingPlace] = {
    "aurora": SettingPlace("in the DB cluster parameter group set {name} = {value}", "reboot the writer instance"),
    "rds": SettingPlace("in the DB parameter group set {name} = {value}", "reboot the instance"),
    "cloudsql": SettingPlace("set the database flag {name}={value} (gcloud sql instances patch INSTANCE "
                             "--database-flags; list every flag you keep)", "the patch restarts the instance"),
    "alloydb": SettingPlace("set the flag {name}={value} on the primary instance", "the change restarts it"),
    "azure": SettingPlace("set the server parameter {name} = {value} (portal, or az postgres flexible-server "
                          "parameter set --name {name} --value {value})", "restart the server"),
}
# wal_level = logical, where the provider has its own switch for it (the rest: the wal_level setting itself).
_ENABLE_LOGICAL: dict[str, list[str]] = {
    "aurora": ["In the DB cluster parameter group set rds.logical_replication = 1, then reboot the writer instance."],
    "rds": ["In the DB parameter group set rds.logical_replication = 1, then reboot the instance."],
    "cloudsql": ["Set the database flag cloudsql.logical_decoding = on (gcloud sql instances patch --database-flags), "
                 "which restarts the instance."],
    "alloydb": ["Set the flag alloydb.logical_decoding = on on the primary instance, which restarts it."],
    "azure": ["Set the server parameter wal_level = logical (portal or az postgres flexible-server parameter set), "
              "then restart the server."],
    "supabase": ["Logical replication is on by default; connect to the direct database endpoint, not the pooler."],
    "neon": ["Enable logical replication in the Neon console (Project settings > Beta). It cannot be turned off "
             "again and restarts the computes."],
    "crunchy": ["Logical replication is on by default."],
    "heroku": ["Heroku Postgres does not offer logical replication to external consumers."],
    "aiven": ["wal_level is logical on Aiven; publications for non-superusers go through aiven_extras."],
}
_CONSOLE = SettingPlace("change {name} to {value} in the provider's console (or ask its support)",
                        "the provider restarts the server")

# Who may give a role replication, per provider (where the statement runs, and as whom).
_REPLICATION_GRANTORS: dict[str, str] = {
    "aurora": "the master user (a member of rds_superuser), on the writer (cluster) endpoint",
    "rds": "the master user (a member of rds_superuser)",
    "cloudsql": "a member of cloudsqlsuperuser (e.g. the postgres user)",
    "alloydb": "a member of alloydbsuperuser (e.g. the postgres user)",
    "azure": "the server admin (a member of azure_pg_admin)",
    "supabase": "the postgres user (supabase_admin), on the direct database endpoint",
    "neon": "the project owner role (neon_superuser); roles created in the Neon console already have it",
    "crunchy": "the postgres superuser of the cluster",
    "aiven": "avnadmin",
    SELF_MANAGED: "a superuser (on a managed service detection missed, the provider's admin role: pass "
                  "--provider NAME for its exact fix)",
}
_NO_REPLICATION = {"heroku"}  # the provider offers no replication to external consumers
# A provider's replication role -> a provider using it (the plain service when several share it: RDS).
_GROUP_OWNERS = {p.replication_role: p.name for p in PROVIDERS.values() if p.replication_role}




def raise_to(setting: SettingRow | None, wanted: int) -> int:
    """The value to recommend: never lower than what the server already has."""
    current = setting.as_int() if setting is not None else 0
    return max(current, wanted)


def needs_restart(setting: SettingRow | None) -> bool:
    """A change applies only at server start unless pg_settings says a reload is enough (unknown: restart)."""
    return setting is None or setting.context not in RELOADABLE


def change_setting(provider: Provider, name: str, value: str | int | Sequence[str], setting: SettingRow | None) -> Remediation:
    """The fix that sets ``name`` to ``value`` on this provider, applied by reload or restart as it needs."""
    restart = needs_restart(setting)
    shown, unit = in_setting_unit(value, setting) if isinstance(value, str | int) else (", ".join(value), None)
    if provider.alter_system:
        statements = [alter_system(name, value)] + ([] if restart else [RELOAD])
        steps = [f"Restart PostgreSQL: {name} changes only at server start."] if restart else []
        return Remediation(sql=statements, steps=steps, requires_restart=restart)
    place = _SETTING_PLACES.get(provider.name, _CONSOLE)
    apply = place.restart if restart else place.reload
    in_unit = f" (in {unit}, the parameter's unit)" if unit else ""
    step = (f"{provider.title} refuses ALTER SYSTEM: {place.where.format(name=name, value=shown)}{in_unit}; {apply}."
            f"{EQUIVALENT}{alter_system(name, value)}")
    return Remediation(steps=[step], requires_restart=restart)


_WITH_UNIT = re.compile(r"([0-9]+)(kB|MB|GB|TB|ms|s|min|h|d)\Z")


def in_setting_unit(value: str | int, setting: SettingRow | None) -> tuple[str | int, str | None]:
    """A size or duration for a provider's parameter group, flag or server parameter: those take a bare
    number in the parameter's own unit (pg_settings.unit), so it is written that way and the unit named
    (``59392``, ``MB``); ALTER SYSTEM takes the unit-bearing text itself. Other values as they are."""
    match = _WITH_UNIT.match(str(value))
    unit = setting.unit if setting is not None else None
    factors = SIZE_BYTES if unit in SIZE_BYTES else TIME_MS if unit in TIME_MS else None
    if match is None or factors is None or match.group(2) not in factors or unit is None:
        return value, None
    return str(math.ceil(int(match.group(1)) * factors[match.group(2)] / factors[unit])), unit


def revert_pending(provider: Provider, name: str, value: str, setting: SettingRow | None) -> Remediation:
    """Put ``name`` back to ``value`` before the restart that would apply a pending change."""
    if provider.alter_system:
        return Remediation(sql=[alter_system(name, value)], steps=[
            f"Revert the pending change before the next restart (run as {SUPERUSER})."])
    place = _SETTING_PLACES.get(provider.name, _CONSOLE)
    return Remediation(steps=[f"{provider.title}: before the next restart, {place.where.format(name=name, value=value)}."])


def setting_instructions(provider: Provider, name: str, value: str, setting: SettingRow | None) -> str:
    """The change as one instruction, for a value the DBA must choose first (``value`` is a placeholder)."""
    if provider.alter_system:
        applied = "then restart PostgreSQL" if needs_restart(setting) else "a reload is enough"
        return f"{alter_system(name, value)} {RELOAD}  ({applied})"
    return change_setting(provider, name, value, setting).steps[0]


def raise_setting(provider: Provider, setting: SettingRow, wanted: int) -> Remediation:
    """Raise an integer setting to at least ``wanted``: never a value below what the server has."""
    return change_setting(provider, setting.name, raise_to(setting, wanted), setting)


def raise_size(provider: Provider, setting: SettingRow, wanted_bytes: float) -> Remediation:
    """Raise a size setting to at least ``wanted_bytes``, written with its unit (``'58GB'``): never below what
    the server has, never a bare number a reader would have to know the setting's unit to read."""
    return change_setting(provider, setting.name, size_setting_text(max(setting.in_bytes() or 0, wanted_bytes)), setting)


def enable_logical_decoding(provider: Provider, setting: SettingRow | None) -> Remediation:
    """wal_level = logical: the provider's own switch where it has one, else the setting itself."""
    if provider.name in _ENABLE_LOGICAL:
        return Remediation(steps=list(_ENABLE_LOGICAL[provider.name]), requires_restart=True)
    return change_setting(provider, "wal_level", "logical", setting)


def grant_replication(provider: Provider, role: str, server_roles: Sequence[str] = ()) -> Remediation:
    """Let ``role`` open replication connections: the provider's replication role, else the attribute.

    ``server_roles`` are provider replication roles seen on this server (e.g. ``rds_replication``):
    their presence decides the grant even when detection was inconclusive.
    """
    if provider.name in _NO_REPLICATION:
        return Remediation(steps=[f"{provider.title} does not offer logical replication to external consumers."])
    group = provider.replication_role or next((r for r in server_roles if r in _GROUP_OWNERS), None)
    if group:
        grantor = _REPLICATION_GRANTORS[provider.name if provider.replication_role else _GROUP_OWNERS[group]]
        statement = render(sql.SQL("GRANT {} TO {};").format(sql.Identifier(group), sql.Identifier(role)))
        return Remediation(sql=[statement], steps=[
            f"Run as {grantor}: there replication comes from membership in {group}, not from ALTER ROLE ... "
            "REPLICATION."])
    grantor = _REPLICATION_GRANTORS.get(provider.name, _REPLICATION_GRANTORS[SELF_MANAGED])
    statement = render(sql.SQL("ALTER ROLE {} WITH REPLICATION;").format(sql.Identifier(role)))
    return Remediation(sql=[statement], steps=[f"Run as {grantor}, on the primary ({provider.title})."])
