"""Is there a free replication slot and a free walsender for the new consumer?"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.facts import SETTINGS, SLOTS, WALSENDERS, SlotRow
from preflight.models import Finding, Severity
from preflight.remediation import raise_setting


class SlotCapacity(Check):
    id = "slot_capacity"
    report_order = 60
    title = "Free replication slots and walsenders"
    requires = ("reachability", "logical_replication")
    facts = (SETTINGS, SLOTS, WALSENDERS)
    why = (
        "Every slot counts against max_replication_slots, physical HA slots included, and every streaming "
        "consumer holds a walsender. With none free, slot creation or streaming fails at cutover."
    )
    remediation = "Drop slots nobody uses (see existing_slots) or raise max_replication_slots / max_wal_senders (restart)."

    def run(self, ctx: CheckContext) -> Outcome:
        settings = ctx.settings()
        slots = ctx.fact(SLOTS)
        senders = ctx.fact(WALSENDERS)
        needed, senders_needed = ctx.options.slots_needed, ctx.options.senders_needed
        findings: list[Finding] = []

        max_slots = settings["max_replication_slots"].as_int()
        used = len(slots)
        inactive = sum(1 for s in slots if not s.active)
        free = max_slots - used
        kinds = _describe(slots)
        source = "" if "slots_needed" in ctx.options.model_fields_set else f" (profile '{ctx.profile.name}')"
        if free < needed:
            remediation = raise_setting(ctx.provider, settings["max_replication_slots"], used + needed)
            if inactive:
                remediation.steps.insert(0, f"Or drop unused slots: {inactive} of the {used} are inactive "
                                         "(see existing_slots).")
            findings.append(Finding(
                code="no_free_slot", severity=Severity.ERROR, object="max_replication_slots",
                observed=f"{used}/{max_slots} used", expected=f">= {needed} free",
                message=f"{used}/{max_slots} replication slots used ({kinds}), {max(free, 0)} free; "
                        f"{needed} needed{source}.",
                remediation=remediation,
            ))

        max_senders = settings["max_wal_senders"].as_int()
        in_use = max(senders.walsenders, senders.streaming)
        free_senders = max_senders - in_use
        seen = "" if senders.can_see_all else " (could not see every session: this role lacks pg_read_all_stats, so the count may be low)"
        if free_senders < senders_needed:
            findings.append(Finding(
                code="no_free_walsender", severity=Severity.ERROR, object="max_wal_senders",
                observed=f"{in_use}/{max_senders} in use", expected=f">= {senders_needed} free",
                message=f"{in_use}/{max_senders} walsenders in use, {max(free_senders, 0)} free; "
                        f"{senders_needed} needed{seen}.",
                remediation=raise_setting(ctx.provider, settings["max_wal_senders"], in_use + senders_needed),
            ))
        elif max_senders < used + needed:
            findings.append(Finding(
                code="senders_below_slots", severity=Severity.WARNING, object="max_wal_senders",
                observed=max_senders, expected=f">= {used + needed}",
                message=f"max_wal_senders ({max_senders}) is below the slots that may stream at once "
                        f"({used} existing + {needed} new): if every slot's consumer connects, one is refused.",
                remediation=raise_setting(ctx.provider, settings["max_wal_senders"], used + needed),
            ))
        elif seen:
            findings.append(Finding(code="walsenders_partly_visible", severity=Severity.INFO, object="max_wal_senders",
                                    message=f"walsender count {in_use}/{max_senders}{seen}."))
        summary = f"{used}/{max_slots} slots used ({max(free, 0)} free), {in_use}/{max_senders} walsenders in use"
        return Outcome(findings, summary)


def _describe(slots: list[SlotRow]) -> str:
    logical = sum(1 for s in slots if s.slot_type == "logical")
    physical = len(slots) - logical
    return f"{logical} logical, {physical} physical"
