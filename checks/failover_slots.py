"""Would the consumer's logical slot survive the promotion of a physical standby?

A logical slot lives on the primary only. When a standby is promoted, a slot that was not copied there is
gone: the consumer either fails to connect or, worse, someone re-creates the slot and the consumer resumes
past changes it never received. PostgreSQL 17 copies slots created with ``failover`` to standbys that run
``sync_replication_slots`` (with ``hot_standby_feedback`` and a ``primary_slot_name``), and
``synchronized_standby_slots`` on the primary holds logical changes back until those standbys have them.
Before 17 only the HA manager (permanent slots), an extension that copies slots (pg_failover_slots) or the
provider can keep a slot across a failover.

From the primary the checker sees the physical walsenders, their slots and (through a slot's xmin) whether
a standby sends feedback; it cannot see a standby's own settings: those become steps.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import SERVER, SETTINGS, SLOTS, STANDBYS, SlotRow, StandbyRow
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import FAILOVER_SLOTS, supports
from preflight.remediation import change_setting
from preflight.statements import Sql, advice

CODES = declare(
    Code("no_physical_standby", Severity.INFO, "no physical standby visible from here: no promotion loses the slot",
         explain="Nothing, unless the service fails over out of sight: ask the provider whether slots survive."),
    Code("failover_slots_extension", Severity.INFO, "pg_failover_slots is loaded and copies slots to standbys",
         explain="Check the standbys load it too."),
    Code("failover_loses_slot", Severity.WARNING, "physical standbys exist and before PostgreSQL 17 a promotion "
         "loses logical slots", explain="Have the HA manager or an extension (pg_failover_slots) copy the slot, or plan "
         "a new snapshot after a failover."),
    Code("slot_failover_enabled", Severity.INFO, "the consumer's slot is a failover slot",
         explain="Nothing to do."),
    Code("slot_not_failover", Severity.ERROR, "the consumer's slot is not a failover slot while standbys stream",
         explain="Recreate the slot with failover = true, or ALTER_REPLICATION_SLOT ... (FAILOVER true)."),
    Code("failover_slot_configured", Severity.INFO, "the consumer's configuration creates its slot with failover",
         explain="Nothing to do: the slot does not exist yet and the consumer creates it as a failover slot."),
    Code("failover_slot_needed", Severity.WARNING, "the consumer's slot must be created with failover = true",
         explain="Configure the consumer to create its slot with failover (e.g. the subscription's failover option)."),
    Code("synchronized_standby_slots_unset", Severity.WARNING, "synchronized_standby_slots is empty",
         explain="List the standbys' physical slots in synchronized_standby_slots (a reload)."),
    Code("failover_standby_unverified", Severity.WARNING, "whether the standbys synchronise slots is not visible here",
         explain="On each standby check sync_replication_slots = on, hot_standby_feedback = on and primary_slot_name."),
)

BEFORE_17_STEPS = [
    "PostgreSQL 17+ keeps logical slots across a failover natively (failover slots): upgrading removes the need "
    "for the alternatives below.",
    "With Patroni: declare the consumer's slot as a permanent logical slot (the 'slots' section of the dynamic "
    "configuration, type: logical, with its database and plugin); Patroni then copies it to the replicas.",
    "Without an HA manager that copies slots: install the pg_failover_slots extension on the primary and every "
    "standby (shared_preload_libraries; it copies logical slots to standbys and holds them back for them).",
    "On a managed service: ask the provider whether its failover keeps logical slots; if it does not, plan a new "
    "initial copy after every failover.",
]


def standby_steps(physical_slots: list[str]) -> list[str]:
    """What each standby needs for slot synchronisation (17+): not visible from the primary."""
    slot = physical_slots[0] if physical_slots else "<a physical slot created for it on the primary>"
    return [
        f"On each standby: primary_slot_name = '{slot}' (one physical slot per standby, created on the primary with "
        "SELECT pg_catalog.pg_create_physical_replication_slot('...'))",
        "On each standby: hot_standby_feedback = on",
        "On each standby: sync_replication_slots = on, and primary_conninfo naming a database (dbname=...): the "
        "slot-sync worker connects to it",
        "After the consumer created its slot, on each standby: SELECT slot_name, synced FROM "
        "pg_catalog.pg_replication_slots WHERE synced; the consumer's slot must be listed before a failover keeps it",
    ]


class FailoverSlots(Check):
    id = "failover_slots"
    report_order = 130
    title = "The consumer's slot survives a failover"
    facts = (SERVER, SETTINGS, SLOTS, STANDBYS)
    why = ("A logical slot exists on the primary only. When a physical standby is promoted, a slot that was not "
           "synchronised to it is gone: the consumer cannot resume, and a slot made again on the new primary starts "
           "after changes the consumer never received (silent loss). PostgreSQL 17+ synchronises slots created with "
           "failover = true to standbys running sync_replication_slots; before 17 only the HA manager, the "
           "pg_failover_slots extension or the provider can.")
    remediation = ("17+: create the consumer's slot with failover = true, list the standbys' physical slots in "
                   "synchronized_standby_slots, and on each standby set sync_replication_slots = on, "
                   "hot_standby_feedback = on and primary_slot_name. Before 17: Patroni permanent slots, the "
                   "pg_failover_slots extension, or the provider's failover behaviour.")

    def run(self, ctx: CheckContext) -> Outcome:
        server = ctx.fact(SERVER)
        if server.in_recovery:
            return Outcome([], "standby: the primary's standbys and slots are judged on the primary")
        slots = ctx.fact(SLOTS)
        standbys = ctx.fact(STANDBYS)
        physical = sorted(s.slot_name for s in slots if s.slot_type == "physical")
        if not standbys and not physical:
            return Outcome([Finding(
                code="no_physical_standby", severity=Severity.INFO, observed="none",
                message="No physical standby streams from this server and no physical slot exists: no promotion "
                        "visible from here can lose the consumer's slot. If the service fails over out of sight "
                        "(a managed service's HA), ask the provider whether its failover keeps logical slots.")],
                "no physical standby")
        seen = _describe(standbys, physical)
        if not supports(ctx.version_num, FAILOVER_SLOTS):
            return Outcome(self._before_17(ctx, seen), f"physical standbys: {seen}")
        findings = self._consumer_slot(ctx, slots, seen)
        findings += self._primary_side(ctx, standbys, physical)
        return Outcome(findings, f"physical standbys: {seen}")

    @staticmethod
    def _before_17(ctx: CheckContext, seen: str) -> list[Finding]:
        preload = ctx.setting("shared_preload_libraries")
        if preload is not None and "pg_failover_slots" in preload.setting:
            return [Finding(code="failover_slots_extension", severity=Severity.INFO, object="shared_preload_libraries",
                            observed=preload.setting,
                            message="pg_failover_slots is loaded: it copies logical slots to standbys that load it too "
                                    "(check them). The consumer's slot can survive a promotion.")]
        return [Finding(
            code="failover_loses_slot", severity=Severity.WARNING, observed=seen, expected="slots kept across failover",
            message=f"This server has physical standbys ({seen}) and PostgreSQL before 17 keeps no logical slot across "
                    "a promotion by itself: unless the HA manager or an extension copies the consumer's slot (not "
                    "visible from here), a failover loses it and the consumer must copy everything again.",
            remediation=Remediation(steps=[*BEFORE_17_STEPS]))]

    @staticmethod
    def _consumer_slot(ctx: CheckContext, slots: list[SlotRow], seen: str) -> list[Finding]:
        name = ctx.options.slot_name
        slot = next((s for s in slots if s.slot_name == name and s.slot_type == "logical"), None) if name else None
        if slot is not None and slot.failover:
            return [Finding(code="slot_failover_enabled", severity=Severity.INFO, object=slot.slot_name,
                            observed="failover", message=f"Slot {slot.slot_name!r} is a failover slot: standbys that "
                            "synchronise slots keep it across a promotion.")]
        if slot is not None:
            statement = Sql(sql.SQL("ALTER_REPLICATION_SLOT {} ( FAILOVER true )").format(sql.Identifier(slot.slot_name)))
            return [Finding(
                code="slot_not_failover", severity=Severity.ERROR, object=slot.slot_name, observed="failover = false",
                expected="failover = true",
                message=f"Slot {slot.slot_name!r} is not a failover slot while physical standbys stream from here "
                        f"({seen}): a promotion loses it, and the consumer resumes nowhere or past changes it never "
                        "received.",
                remediation=Remediation(steps=[
                    advice("With the consumer stopped, over a replication connection (psql \"dbname=... "
                           "replication=database\"): ", statement),
                    f"Or let the consumer set it: {ctx.profile.failover_slots or 'this profile knows no such option'}.",
                    "If the HA manager keeps this slot itself (e.g. a Patroni permanent slot), waive this finding."]))]
        consumer = ctx.options.consumer
        if slot is None and consumer is not None and consumer.failover_slot:
            where = consumer.sources.get("failover_slot", consumer.file)
            return [Finding(
                code="failover_slot_configured", severity=Severity.INFO, object=name, observed="failover = true",
                expected="a failover slot",
                message=f"Physical standbys stream from here ({seen}) and the consumer's configuration ({where}) "
                        "creates its slot with failover = true: standbys that synchronise slots keep it across a "
                        "promotion. An existing slot of that name keeps its own setting.")]
        how = ctx.profile.failover_slots
        create = ("SELECT pg_catalog.pg_create_logical_replication_slot('<slot>', "
                  f"'{ctx.options.plugin}', false, false, true) (the fifth argument is failover)")
        steps = [f"Have the consumer create its slot with failover: {how}." if how else
                 f"Profile '{ctx.profile.name}' names no way for this consumer to create a failover slot: create the "
                 f"slot yourself with {create} and configure the consumer to use that existing slot."]
        return [Finding(
            code="failover_slot_needed", severity=Severity.WARNING, observed=seen, expected="a failover slot",
            message=f"Physical standbys stream from here ({seen}): the consumer's slot survives a promotion only if it "
                    "is created with failover = true (not visible before it exists; pass --slot-name to judge an "
                    "existing one).",
            remediation=Remediation(steps=[*steps]))]

    @staticmethod
    def _primary_side(ctx: CheckContext, standbys: list[StandbyRow], physical: list[str]) -> list[Finding]:
        findings: list[Finding] = []
        setting = ctx.setting("synchronized_standby_slots")
        if setting is not None and not setting.setting.strip():
            used = sorted({s.slot_name for s in standbys if s.slot_name}) or physical
            fix = (change_setting(ctx.provider, "synchronized_standby_slots", ", ".join(used), setting) if used else
                   Remediation(steps=["Give each standby a physical slot (primary_slot_name), then list those slots "
                                      "in synchronized_standby_slots on the primary."]))
            findings.append(Finding(
                code="synchronized_standby_slots_unset", severity=Severity.WARNING, object="synchronized_standby_slots",
                observed="''", expected=", ".join(used) or "the standbys' physical slots",
                message="synchronized_standby_slots is empty: the consumer may receive changes a standby has not "
                        "replayed yet, so after a promotion the synchronised slot lags what the consumer already "
                        "applied, or the new primary lacks changes the consumer has.", remediation=fix))
        without_slot = [s for s in standbys if s.slot_name is None]
        no_feedback = [s for s in standbys if s.slot_name is not None and s.feedback_xmin is None]
        seen = []
        if without_slot:
            seen.append(f"{len(without_slot)} standby(s) stream without a physical slot (no primary_slot_name: slot "
                        "synchronisation cannot run there)")
        if no_feedback:
            seen.append(f"{len(no_feedback)} standby(s) send no hot_standby_feedback (their slot has no xmin)")
        findings.append(Finding(
            code="failover_standby_unverified",
            severity=Severity.WARNING,
            observed="; ".join(seen) or "standby settings not visible",
            message="Whether the standbys synchronise slots depends on their own settings, which the primary cannot "
                    "show" + (": " + "; ".join(seen) if seen else "") + ". Check each standby.",
            remediation=Remediation(steps=[*standby_steps(physical)])))
        return findings


def _describe(standbys: list[StandbyRow], physical: list[str]) -> str:
    parts = []
    if standbys:
        names = ", ".join(sorted({s.application_name or str(s.pid) for s in standbys}))
        parts.append(f"{len(standbys)} streaming ({names})")
    if physical:
        parts.append(f"physical slot(s) {', '.join(physical)}")
    return "; ".join(parts)
