"""Server settings for logical decoding: wal_level, slots and senders, timeouts, WAL retention."""

from __future__ import annotations

from typing import Any

from preflight.check import Check, CheckContext, Outcome
from preflight.models import Finding, Remediation, Severity
from preflight.settings import RELOAD, Setting, alter_system, human_bytes, raise_to

STOCK_SLOTS_AND_SENDERS = 10
SMALL_KEEP_SIZE = 1024**3  # below this a lagging consumer loses its slot quickly
SHORT_SENDER_TIMEOUT_MS = 10_000


def _restart(sql_lines: list[str]) -> Remediation:
    return Remediation(sql=sql_lines, steps=["Restart PostgreSQL to apply (this setting cannot change at reload)."],
                       requires_restart=True)


class LogicalReplication(Check):
    id = "logical_replication"
    title = "Logical replication settings"
    facts = ("settings",)
    optional_facts = ("pending_settings",)
    why = (
        "Logical decoding needs wal_level=logical, at least one replication slot and one walsender; "
        "these change only at a server restart, so they must be right before the migration window."
    )
    remediation = "ALTER SYSTEM SET the setting (never lowering a larger value), then restart the server."

    def run(self, ctx: CheckContext) -> Outcome:
        settings = ctx.settings()
        pending = _pending_values(ctx.optional_fact("pending_settings"))
        findings: list[Finding] = []
        findings += self._wal_level(settings.get("wal_level"), pending)
        for name in ("max_replication_slots", "max_wal_senders"):
            findings += self._capacity(settings.get(name), pending)
        findings += self._sender_timeout(settings.get("wal_sender_timeout"))
        findings += self._keep_size(settings.get("max_slot_wal_keep_size"))
        findings += self._other_pending(settings, pending)
        observed = ", ".join(
            f"{n}={settings[n].display()}"
            for n in ("wal_level", "max_replication_slots", "max_wal_senders", "wal_sender_timeout", "max_slot_wal_keep_size")
            if n in settings
        )
        return Outcome(findings, observed)

    def _wal_level(self, setting: Setting | None, pending: dict[str, str]) -> list[Finding]:
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
                    remediation=Remediation(sql=[alter_system("wal_level", "logical")],
                                            steps=["Revert the pending change before the next restart."]),
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
                remediation=Remediation(steps=["Restart PostgreSQL: the new wal_level applies only at server start."],
                                        requires_restart=True),
            )]
        return [Finding(
            code="wal_level_not_logical", severity=Severity.ERROR, object="wal_level", observed=value, expected="logical",
            message=f"wal_level is {value!r}; logical decoding needs 'logical' (changing it needs a restart).",
            remediation=_restart([alter_system("wal_level", "logical")]),
        )]

    def _capacity(self, setting: Setting | None, pending: dict[str, str]) -> list[Finding]:
        if setting is None:
            return []
        value = setting.as_int()
        if value > 0:
            return []
        wanted = raise_to(setting, STOCK_SLOTS_AND_SENDERS)
        return [Finding(
            code=f"{setting.name}_zero", severity=Severity.ERROR, object=setting.name, observed=value, expected=">= 1",
            message=f"{setting.name} is 0: no logical replication consumer can connect.",
            remediation=_restart([alter_system(setting.name, wanted)]),
        )]

    def _sender_timeout(self, setting: Setting | None) -> list[Finding]:
        if setting is None:
            return []
        ms = setting.in_ms() or 0
        if ms == 0:
            return [Finding(
                code="wal_sender_timeout_disabled", severity=Severity.WARNING, object="wal_sender_timeout",
                observed=setting.display(), expected=">= 10s",
                message="wal_sender_timeout is 0 (disabled): a consumer that vanished without closing its "
                        "connection keeps its walsender and its slot 'active' until TCP gives up. "
                        "Consumers disagree on the best value (some want 0, most >= 10s; 60s is the default).",
                remediation=Remediation(sql=[alter_system("wal_sender_timeout", "60s"), RELOAD]),
            )]
        if ms < SHORT_SENDER_TIMEOUT_MS:
            return [Finding(
                code="wal_sender_timeout_short", severity=Severity.WARNING, object="wal_sender_timeout",
                observed=setting.display(), expected=">= 10s",
                message=f"wal_sender_timeout is {setting.display()}: a consumer that pauses longer (large "
                        "transactions, slow sinks) is disconnected and must reconnect.",
                remediation=Remediation(sql=[alter_system("wal_sender_timeout", "60s"), RELOAD]),
            )]
        return []

    def _keep_size(self, setting: Setting | None) -> list[Finding]:
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
                remediation=Remediation(steps=[
                    "Pick a bound (e.g. a day or more of WAL), then: ALTER SYSTEM SET max_slot_wal_keep_size = "
                    "'<size>'; SELECT pg_reload_conf();  (reload is enough)",
                ]),
            )]
        if size < SMALL_KEEP_SIZE:
            return [Finding(
                code="max_slot_wal_keep_size_small", severity=Severity.WARNING, object="max_slot_wal_keep_size",
                observed=setting.display(), expected=f">= {human_bytes(SMALL_KEEP_SIZE)}",
                message=f"max_slot_wal_keep_size is {setting.display()}: a consumer that lags by more than that "
                        "loses its slot. " + trade_off,
                remediation=Remediation(sql=[alter_system("max_slot_wal_keep_size", human_bytes(SMALL_KEEP_SIZE * 10)),
                                             RELOAD]),
            )]
        return []

    def _other_pending(self, settings: dict[str, Setting], pending: dict[str, str]) -> list[Finding]:
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
                    remediation=Remediation(steps=["Restart PostgreSQL to apply the pending change."],
                                            requires_restart=True),
                ))
        return out


def _pending_values(rows: list[dict[str, Any]] | None) -> dict[str, str]:
    """Values written to the configuration files but not applied: the last entry per name wins.

    The view is superuser-only and may be absent; then only pg_settings.pending_restart is known.
    """
    last: dict[str, dict[str, Any]] = {}
    for row in rows or []:
        if row.get("name"):
            last[row["name"]] = row
    return {name: str(row["setting"]) for name, row in last.items() if not row.get("applied")}
