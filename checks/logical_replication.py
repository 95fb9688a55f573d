"""Server settings for logical decoding: wal_level, slots and senders, timeouts, WAL retention."""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import PENDING_SETTINGS, SESSION_SETTINGS, SETTINGS, PendingSettingRow, SettingRow
from preflight.models import Finding, Remediation, Severity
from preflight.profiles import Profile
from preflight.provider_detection import Provider
from preflight.remediation import (
    change_setting,
    enable_logical_decoding,
    raise_to,
    revert_pending,
    setting_instructions,
)
from preflight.settings import duration_value, human_bytes, human_ms, size_value
from preflight.statements import Restart, advice

CAPACITY_SETTINGS = ("max_replication_slots", "max_wal_senders")
CODES = declare(
    Code("wal_level_unknown", Severity.ERROR, "wal_level is not visible to the checking role",
         explain="Run the check as a role that can read pg_settings' wal_level (any role can, unless it is hidden)."),
    Code("wal_level_will_change", Severity.WARNING, "wal_level is logical, but a pending change removes it at restart",
         explain="Revert the pending change (ALTER SYSTEM RESET or SET wal_level = logical) before the next restart."),
    Code("wal_level_pending_restart", Severity.ERROR, "wal_level was set to logical, but the server was not restarted",
         explain="Restart PostgreSQL to apply it."),
    Code("wal_level_not_logical", Severity.ERROR, "wal_level is not logical: logical decoding is impossible",
         explain="Set wal_level = logical (ALTER SYSTEM or the provider's parameter), then restart."),
    *(Code(f"{name}_zero", Severity.ERROR, f"{name} is 0: no logical consumer can connect",
           explain=f"Raise {name} (it needs a restart).") for name in CAPACITY_SETTINGS),
    *(Code(f"{name}_below_profile", Severity.ERROR, f"{name} is below what the consumer's profile requires",
           explain=f"Raise {name} to the profile's minimum (it needs a restart).") for name in CAPACITY_SETTINGS),
    *(Code(f"{name}_pending_restart", Severity.WARNING, f"{name} was changed but applies only after a restart",
           explain="Restart PostgreSQL to apply the pending change.") for name in CAPACITY_SETTINGS),
    Code("wal_sender_timeout_disabled", Severity.WARNING, "wal_sender_timeout is 0: a vanished consumer keeps its slot "
         "active", explain="Set wal_sender_timeout to at least 10s (a reload applies it)."),
    Code("wal_sender_timeout_short", Severity.WARNING, "wal_sender_timeout is shorter than the consumer's pauses",
         explain="Raise wal_sender_timeout to the profile's minimum (a reload applies it)."),
    Code("max_slot_wal_keep_size_unlimited", Severity.WARNING, "nothing bounds the WAL a lagging slot retains",
         explain="Bound max_slot_wal_keep_size to what the disk holds at your WAL rate, or monitor slot lag."),
    Code("max_slot_wal_keep_size_small", Severity.WARNING, "max_slot_wal_keep_size is small: a lagging slot is lost "
         "quickly", explain="Raise max_slot_wal_keep_size so the consumer can be down for its downtime budget."),
)

STOCK_SLOTS_AND_SENDERS = 10
SMALL_KEEP_SIZE = 1024**3  # below this a lagging consumer loses its slot quickly


class LogicalReplication(Check):
    id = "logical_replication"
    report_order = 50
    title = "Logical replication settings"
    facts = (SETTINGS,)
    optional_facts = (PENDING_SETTINGS, SESSION_SETTINGS)  # wal_sender_timeout is user-settable from 12
    why = (
        "Logical decoding needs wal_level=logical, at least one replication slot and one walsender; "
        "these change only at a server restart, so they must be right before the migration window."
    )
    remediation = ("Raise the setting, never lowering a larger value (ALTER SYSTEM on a self-managed server, the "
                   "provider's parameter group or flag on a managed one), then reload or restart as it requires.")
    provider: Provider
    profile: Profile

    def run(self, ctx: CheckContext) -> Outcome:
        settings = ctx.settings()
        pending = _pending_values(ctx.optional_fact(PENDING_SETTINGS))
        self.provider, self.profile = ctx.provider, ctx.profile
        findings: list[Finding] = []
        findings += self._wal_level(settings.get("wal_level"), pending)
        for name in ("max_replication_slots", "max_wal_senders"):
            findings += self._capacity(settings.get(name))
        findings += self._sender_timeout(settings.get("wal_sender_timeout"))
        findings += self._keep_size(settings.get("max_slot_wal_keep_size"))
        findings += self._other_pending(settings, pending)
        observed = ", ".join(
            f"{n}={settings[n].display()}"
            for n in ("wal_level", "max_replication_slots", "max_wal_senders", "wal_sender_timeout", "max_slot_wal_keep_size")
            if n in settings
        )
        return Outcome(findings, observed)

    def _wal_level(self, setting: SettingRow | None, pending: dict[str, str]) -> list[Finding]:
        if setting is None:
            return [Finding(code="wal_level_unknown", severity=Severity.ERROR, object="wal_level",
                            message="wal_level is not visible to this role", expected="logical")]
        value = setting.setting
        if value == "logical":
            if setting.pending_restart:
                new = pending.get("wal_level", "another value")
                return [Finding(
                    code="wal_level_will_change", severity=Severity.WARNING, object="wal_level",
                    observed=value, expected="logical",
                    message=f"wal_level is logical now, but a pending change to {new!r} takes effect at the "
                            "next restart and would stop logical decoding.",
                    remediation=revert_pending(self.provider, "wal_level", "logical", setting),
                )]
            return []
        if setting.pending_restart:
            applied = pending.get("wal_level")
            detail = f" to {applied!r}" if applied else ""
            return [Finding(
                code="wal_level_pending_restart", severity=Severity.ERROR, object="wal_level",
                observed=value, expected="logical",
                message=f"wal_level is {value!r}; it was changed{detail} but the server has not been restarted "
                        "(pending_restart = true). Restart PostgreSQL to apply it.",
                remediation=Remediation(steps=[Restart(": the new wal_level applies only at server start.")],
                                        requires_restart=True),
            )]
        remediation = enable_logical_decoding(self.provider, setting)
        return [Finding(
            code="wal_level_not_logical", severity=Severity.ERROR, object="wal_level", observed=value, expected="logical",
            message=f"wal_level is {value!r}; logical decoding needs 'logical' (changing it needs a restart).",
            remediation=remediation,
        )]

    def _capacity(self, setting: SettingRow | None) -> list[Finding]:
        if setting is None:
            return []
        value = setting.as_int()
        minimum = getattr(self.profile, f"min_{setting.name}")
        if value == 0:
            wanted = raise_to(setting, max(STOCK_SLOTS_AND_SENDERS, minimum))
            return [Finding(
                code=f"{setting.name}_zero", severity=Severity.ERROR, object=setting.name, observed=value, expected=">= 1",
                message=f"{setting.name} is 0: no logical replication consumer can connect.",
                remediation=change_setting(self.provider, setting.name, wanted, setting),
            )]
        if value < minimum:
            return [Finding(
                code=f"{setting.name}_below_profile", severity=Severity.ERROR, object=setting.name, observed=value,
                expected=f">= {minimum}",
                message=f"{setting.name} is {value}; profile '{self.profile.name}' requires at least {minimum}.",
                remediation=change_setting(self.provider, setting.name, raise_to(setting, minimum), setting),
            )]
        return []

    def _sender_timeout(self, setting: SettingRow | None) -> list[Finding]:
        if setting is None:
            return []
        ms = setting.in_ms() or 0
        minimum = self.profile.wal_sender_timeout_min_ms
        if ms == 0 and not self.profile.wal_sender_timeout_zero_ok:
            return [Finding(
                code="wal_sender_timeout_disabled", severity=Severity.WARNING, object="wal_sender_timeout",
                observed=setting.display(), expected=">= 10s",
                message="wal_sender_timeout is 0 (disabled): a consumer that vanished without closing its "
                        "connection keeps its walsender and its slot 'active' until TCP gives up. "
                        "Consumers disagree on the best value (some want 0, most >= 10s; 60s is the default).",
                remediation=change_setting(self.provider, "wal_sender_timeout", 60, setting, "s"),
            )]
        if 0 < ms < minimum:
            amount, unit = duration_value(max(minimum, 60000))
            return [Finding(
                code="wal_sender_timeout_short", severity=Severity.WARNING, object="wal_sender_timeout",
                observed=setting.display(), expected=f">= {human_ms(minimum)}",
                message=f"wal_sender_timeout is {setting.display()}: a consumer that pauses longer (large "
                        "transactions, slow sinks) is disconnected and must reconnect "
                        f"(profile '{self.profile.name}' wants >= {human_ms(minimum)}).",
                remediation=change_setting(self.provider, "wal_sender_timeout", amount, setting, unit),
            )]
        return []

    def _keep_size(self, setting: SettingRow | None) -> list[Finding]:
        if setting is None:
            return []  # before 13 the setting does not exist
        size = setting.in_bytes()
        trade_off = (
            "It is a trade-off: unlimited (-1) means a stuck or abandoned slot retains WAL until the disk "
            "fills and the server stops; a bound protects the disk but invalidates a slot that falls "
            "further behind (wal_status 'lost'), forcing the consumer to re-snapshot. Size it above the WAL "
            "your consumer can fall behind by (see existing_slots for the WAL rate) and alert on slot lag."
        )
        if size is None or size < 0:
            return [Finding(
                code="max_slot_wal_keep_size_unlimited", severity=Severity.WARNING, object="max_slot_wal_keep_size",
                observed="-1", expected="a bound sized to your WAL rate",
                message="max_slot_wal_keep_size is -1 (unlimited). " + trade_off,
                remediation=Remediation(steps=[advice(
                    "Pick a bound (e.g. a day or more of WAL, written with its unit), above the WAL every existing "
                    "slot retains now (existing_slots lists them): a slot already past it is invalidated at the next "
                    "checkpoint and its consumer must copy everything again. Then: ",
                    *setting_instructions(self.provider, "max_slot_wal_keep_size", "<size>", setting).parts),
                ]),
            )]
        if size < SMALL_KEEP_SIZE:
            amount, unit = size_value(SMALL_KEEP_SIZE * 10)
            return [Finding(
                code="max_slot_wal_keep_size_small", severity=Severity.WARNING, object="max_slot_wal_keep_size",
                observed=setting.display(), expected=f">= {human_bytes(SMALL_KEEP_SIZE)}",
                message=f"max_slot_wal_keep_size is {setting.display()}: a consumer that lags by more than that "
                        "loses its slot. " + trade_off,
                remediation=change_setting(self.provider, "max_slot_wal_keep_size", amount, setting, unit),
            )]
        return []

    def _other_pending(self, settings: dict[str, SettingRow], pending: dict[str, str]) -> list[Finding]:
        out = []
        for name in ("max_replication_slots", "max_wal_senders"):
            setting = settings.get(name)
            if setting is not None and setting.pending_restart:
                new = pending.get(name)
                change = f" to {new}" if new else ""
                out.append(Finding(
                    code=f"{name}_pending_restart", severity=Severity.WARNING, object=name,
                    observed=setting.display(), expected=new,
                    message=f"{name} was changed{change} but applies only after a restart (now {setting.display()}).",
                    remediation=Remediation(steps=[Restart(" to apply the pending change.")],
                                            requires_restart=True),
                ))
        return out


def _pending_values(rows: list[PendingSettingRow] | None) -> dict[str, str]:
    """Values written to the configuration files but not applied: the last entry per name wins.

    The view is superuser-only and may be absent; then only pg_settings.pending_restart is known.
    """
    last: dict[str, PendingSettingRow] = {}
    for row in rows or []:
        if row.name:
            last[row.name] = row
    return {name: str(row.setting) for name, row in last.items() if not row.applied}
