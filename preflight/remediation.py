"""How to fix a server setting or a missing replication grant, on each provider, from its record
(``preflight.provider_detection``).

Self-managed servers take ``ALTER SYSTEM`` followed by a reload or a restart, depending on the
setting's ``pg_settings.context``. Managed services refuse ``ALTER SYSTEM``: the same change goes
through the provider's parameter group, flag or server parameter (or its console), and the fix says
where. Every recommended value is "raise only": a fix never lowers what the server already has.
The fixes are values (``preflight.statements``); the formats write them.
"""

from __future__ import annotations

from collections.abc import Sequence

from preflight.facts import SettingRow
from preflight.models import Finding, Remediation
from preflight.provider_detection import PROVIDERS, SELF_MANAGED, Provider
from preflight.settings import size_value
from preflight.statements import CONSOLE, RELOAD, Advice, AlterTable, Grant, Restart, SettingChange, Value, advice
from preflight.unvalidated import builder

# A finding per table, and its fix, built by the per-table checks (100k tables: tens of thousands): without
# validation, from values the check typed already; the builders are derived from the models' fields.
new_finding = builder(Finding, "code", "severity", "message", "object", "observed", "expected", "remediation")
new_remediation = builder(Remediation, "sql", "steps")
new_alter_table = builder(AlterTable, "table", "action", "index")

# pg_settings.context values whose changes apply at a reload (for new sessions at least).
RELOADABLE = frozenset({"sighup", "superuser", "user", "backend", "superuser-backend"})
SUPERUSER = "a superuser (or, 15+, a role granted ALTER SYSTEM on the parameter)"  # who may run ALTER SYSTEM
# A provider's replication role -> a provider using it (the plain service when several share it: RDS).
_GROUP_OWNERS = {p.replication_role: p.name for p in PROVIDERS.values() if p.replication_role}


def raise_to(setting: SettingRow | None, wanted: int) -> int:
    """The value to recommend: never lower than what the server already has."""
    current = setting.as_int() if setting is not None else 0
    return max(current, wanted)


def needs_restart(setting: SettingRow | None) -> bool:
    """A change applies only at server start unless pg_settings says a reload is enough (unknown: restart)."""
    return setting is None or setting.context not in RELOADABLE


def setting_change(provider: Provider, name: str, value: Value | list[str], setting: SettingRow | None,
                   unit: str | None = None) -> SettingChange:
    """``name`` = ``value`` (in ``unit``), applied the provider's way."""
    return SettingChange(name, tuple(value) if isinstance(value, list) else value, unit, needs_restart(setting), provider.settings, provider.title,
                         setting.unit if setting is not None else None)


def change_setting(provider: Provider, name: str, value: Value | list[str], setting: SettingRow | None,
                   unit: str | None = None) -> Remediation:
    """The fix that sets ``name`` to ``value`` (in ``unit``) on this provider, applied by reload or restart
    as it needs."""
    change = setting_change(provider, name, value, setting, unit)
    if provider.alter_system:
        steps = [Restart(f": {name} changes only at server start.")] if change.restart else []
        return Remediation(sql=[change] if change.restart else [change, RELOAD], steps=list(steps),
                           requires_restart=change.restart)
    return Remediation(steps=[change], requires_restart=change.restart)


def revert_pending(provider: Provider, name: str, value: str, setting: SettingRow | None) -> Remediation:
    """Put ``name`` back to ``value`` before the restart that would apply a pending change."""
    if provider.alter_system:
        return Remediation(sql=[setting_change(provider, name, value, setting)], steps=[
            f"Revert the pending change before the next restart (run as {SUPERUSER})."])
    place = provider.settings or CONSOLE
    return Remediation(steps=[f"{provider.title}: before the next restart, {place.where.format(name=name, value=value)}."])


def setting_instructions(provider: Provider, name: str, value: str, setting: SettingRow | None) -> Advice:
    """The change as one instruction, for a value the DBA must choose first (``value`` is a placeholder):
    ``before`` and then the statements, or the provider's instruction."""
    change = setting_change(provider, name, value, setting)
    if provider.alter_system:
        applied = "then restart PostgreSQL" if change.restart else "a reload is enough"
        return advice(change, " ", RELOAD, f"  ({applied})")
    return advice(change)


def raise_setting(provider: Provider, setting: SettingRow, wanted: int) -> Remediation:
    """Raise an integer setting to at least ``wanted``: never a value below what the server has."""
    return change_setting(provider, setting.name, raise_to(setting, wanted), setting)


def raise_size(provider: Provider, setting: SettingRow, wanted_bytes: float) -> Remediation:
    """Raise a size setting to at least ``wanted_bytes``, written with its unit (``'58GB'``): never below what
    the server has, never a bare number a reader would have to know the setting's unit to read."""
    amount, unit = size_value(max(setting.in_bytes() or 0, wanted_bytes))
    return change_setting(provider, setting.name, amount, setting, unit)


def enable_logical_decoding(provider: Provider, setting: SettingRow | None) -> Remediation:
    """wal_level = logical: the provider's own switch where it has one, else the setting itself."""
    refusal = provider.refusal()
    if refusal or provider.enable_logical:
        return Remediation(steps=[refusal] if refusal else list(provider.enable_logical), requires_restart=True)
    return change_setting(provider, "wal_level", "logical", setting)


def grant_replication(provider: Provider, role: str, server_roles: Sequence[str] = ()) -> Remediation:
    """Let ``role`` open replication connections: the provider's replication role, else the attribute.

    ``server_roles`` are provider replication roles seen on this server (e.g. ``rds_replication``):
    their presence decides the grant even when detection was inconclusive.
    """
    refusal = provider.refusal()
    if refusal:
        return Remediation(steps=[refusal])
    group = provider.replication_role or next((r for r in server_roles if r in _GROUP_OWNERS), None)
    if group:
        grantor = (provider if provider.replication_role else PROVIDERS[_GROUP_OWNERS[group]]).replication_grantor
        return Remediation(sql=[Grant(role, group, "membership")], steps=[
            f"Run as {grantor}: there replication comes from membership in {group}, not from ALTER ROLE ... "
            "REPLICATION."])
    grantor = provider.replication_grantor or PROVIDERS[SELF_MANAGED].replication_grantor
    return Remediation(sql=[Grant(role, "REPLICATION", "attribute")],
                       steps=[f"Run as {grantor}, on the primary ({provider.title})."])
