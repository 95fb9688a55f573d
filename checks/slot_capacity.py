"""Are there free replication slots and walsenders for the new consumer, its initial copy included?

How many it needs comes from the profile's consumer assumptions (``preflight/profiles.py``): a native
subscription's table-sync workers each hold a temporary slot and a walsender during the initial copy,
so "one free" is not enough. The checker's own replication proof is left out by its process id.

With ``--slot-name`` naming a slot the consumer can resume (existing_slots' judgement: logical, in this
database, the same plugin, inactive, not invalidated) nothing new is opened for streaming, and there is
no initial copy to make (the consumer continues where it stopped), so no table-sync workers either: the
profile's demand shrinks to what is left (``Profile.slots_needed_resuming``). Explicit ``--slots-needed``
and ``--senders-needed`` are taken as given. A consumer configured to make no initial copy (``--consumer-config``:
Debezium's ``snapshot.mode=never``/``no_data``) opens no table-sync workers either.
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.existing_slots import resumable
from preflight.codes import Code, declare
from preflight.facts import REPLICATION_PROBE, SERVER, SETTINGS, SLOTS, WALSENDERS, SlotRow
from preflight.models import Finding, Severity
from preflight.remediation import raise_setting

CODES = declare(
    Code("no_free_slot", Severity.ERROR, "fewer free replication slots than the consumer needs",
         explain="Raise max_replication_slots (a restart) or drop unused slots."),
    Code("no_free_walsender", Severity.ERROR, "fewer free walsenders than the consumer needs",
         explain="Raise max_wal_senders (a restart) or stop unused replication connections."),
    Code("senders_below_slots", Severity.WARNING, "max_wal_senders is below the slots that may stream at once",
         explain="Raise max_wal_senders to at least the existing slots plus the new ones (a restart)."),
    Code("walsenders_partly_visible", Severity.INFO, "the checking role sees only some walsenders",
         explain="Check as a superuser or a member of pg_read_all_stats to count every walsender."),
)


class SlotCapacity(Check):
    id = "slot_capacity"
    report_order = 60
    title = "Free replication slots and walsenders"
    requires = ("reachability", "logical_replication")
    facts = (SETTINGS, SLOTS, WALSENDERS)
    optional_facts = (REPLICATION_PROBE, SERVER)  # the server fact names the database a resumed slot must be in
    why = (
        "Every slot counts against max_replication_slots, physical HA slots included, and every streaming "
        "consumer holds a walsender. With none free, slot creation or streaming fails at cutover. The consumer's own "
        "inactive slot (--slot-name, same database and plugin) is resumed, not created: it needs no new slot and, "
        "with no initial copy to make, no table-sync workers."
    )
    remediation = "Drop slots nobody uses (see existing_slots) or raise max_replication_slots / max_wal_senders (restart)."

    def run(self, ctx: CheckContext) -> Outcome:
        settings = ctx.settings()
        slots = ctx.fact(SLOTS)
        senders = ctx.fact(WALSENDERS)
        needed, senders_needed = ctx.options.slots_needed, ctx.options.senders_needed
        probe = ctx.optional_fact(REPLICATION_PROBE)
        explicit = ctx.options.model_fields_set
        profile = ctx.profile
        server = ctx.optional_fact(SERVER)
        database = server.database if server is not None else None
        resumed = next((s for s in slots if s.slot_name == ctx.options.slot_name
                        and resumable(s, ctx.options.plugin, database)), None)
        because = f" (profile '{profile.name}': {profile.consumer.describe()})"
        if resumed is not None:
            because = (f" (profile '{profile.name}': the consumer resumes its slot {resumed.slot_name!r}, so it "
                       "creates no slot and makes no initial copy)")
            if "slots_needed" not in explicit:
                needed = profile.slots_needed_resuming
            if "senders_needed" not in explicit:
                senders_needed = profile.senders_needed_resuming
        elif ctx.options.consumer is not None and not ctx.options.consumer.initial_copy:
            because = (f" (profile '{profile.name}': the consumer's configuration makes no initial copy, so no "
                       "table-sync slots)")
            if "slots_needed" not in explicit:
                needed = max(profile.slots_needed - profile.consumer.sync_workers, 0)
            if "senders_needed" not in explicit:
                senders_needed = max(profile.senders_needed - profile.consumer.sync_workers, 0)
        slots_why = "" if "slots_needed" in explicit else because
        senders_why = "" if "senders_needed" in explicit else because
        findings: list[Finding] = []

        max_slots = settings["max_replication_slots"].as_int()
        used = len(slots)
        inactive = sum(1 for s in slots if not s.active)
        free = max_slots - used
        kinds = _describe(slots)
        if free < needed:
            remediation = raise_setting(ctx.provider, settings["max_replication_slots"], used + needed)
            if inactive:
                remediation.steps.insert(0, f"Or drop unused slots: {inactive} of the {used} are inactive "
                                         "(see existing_slots).")
            findings.append(Finding(
                code="no_free_slot", severity=Severity.ERROR, object="max_replication_slots",
                observed=f"{used}/{max_slots} used", expected=f">= {needed} free",
                message=f"{used}/{max_slots} replication slots used ({kinds}), {max(free, 0)} free; "
                        f"{needed} needed{slots_why}.",
                remediation=remediation,
            ))

        max_senders = settings["max_wal_senders"].as_int()
        in_use = senders.in_use(probe.backend_pid if probe else None)
        free_senders = max_senders - in_use
        seen = "" if senders.can_see_all or senders.pids is not None else " (could not see every session: this role lacks pg_read_all_stats, so the count may be low)"
        if free_senders < senders_needed:
            findings.append(Finding(
                code="no_free_walsender", severity=Severity.ERROR, object="max_wal_senders",
                observed=f"{in_use}/{max_senders} in use", expected=f">= {senders_needed} free",
                message=f"{in_use}/{max_senders} walsenders in use, {max(free_senders, 0)} free; "
                        f"{senders_needed} needed{senders_why}{seen}.",
                # one statement that also covers every slot streaming at once (no second finding after the fix)
                remediation=raise_setting(ctx.provider, settings["max_wal_senders"],
                                          max(in_use + senders_needed, used + needed)),
            ))
        elif max_senders < used + needed:
            findings.append(Finding(
                code="senders_below_slots", severity=Severity.WARNING, object="max_wal_senders",
                observed=max_senders, expected=f">= {used + needed}",
                message=f"max_wal_senders ({max_senders}) is below the slots that may stream at once "
                        f"({used} existing + {needed} new{slots_why}): if every slot's consumer connects, one "
                        "is refused.",
                remediation=raise_setting(ctx.provider, settings["max_wal_senders"], used + needed),
            ))
        elif seen:
            findings.append(Finding(code="walsenders_partly_visible", severity=Severity.INFO, object="max_wal_senders",
                                    message=f"walsender count {in_use}/{max_senders}{seen}."))
        summary = f"{used}/{max_slots} slots used ({max(free, 0)} free), {in_use}/{max_senders} walsenders in use"
        if resumed is not None:
            summary += f"; slot {resumed.slot_name!r} is resumed, not created"
        return Outcome(findings, summary)


def _describe(slots: list[SlotRow]) -> str:
    logical = sum(1 for s in slots if s.slot_type == "logical")
    physical = len(slots) - logical
    return f"{logical} logical, {physical} physical"
