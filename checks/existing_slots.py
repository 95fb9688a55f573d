"""Is the source already connected? Slots with the consumer's name, and stale slots retaining WAL.

Slot names are unique per cluster but a logical slot belongs to one database and one plugin: a
same-named slot elsewhere blocks the consumer as surely as an active one. Stale slots retain WAL
until the disk fills (or, with max_slot_wal_keep_size, until they are invalidated).
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import MIN_RATE_WINDOW_S, SERVER, SETTINGS, SLOTS, WAL_STATS, SlotRow
from preflight.models import Finding, Remediation, Severity
from preflight.settings import human_bytes, human_duration
from preflight.statements import Sql

CODES = declare(
    Code("slot_name_reserved", Severity.WARNING, "the slot name starts with 'rds', which Amazon RDS reserves",
         explain="Choose another slot name."),
    Code("slot_name_free", Severity.INFO, "no slot of that name exists: the consumer can create it",
         explain="Nothing to do."),
    Code("slot_is_physical", Severity.ERROR, "a physical slot has the consumer's slot name",
         explain="Choose another slot name (slot names are unique per cluster)."),
    Code("slot_in_other_database", Severity.ERROR, "the consumer's slot name belongs to another database's slot",
         explain="Choose another slot name, or point the consumer at that database."),
    Code("slot_plugin_mismatch", Severity.ERROR, "the consumer's slot exists with another output plugin",
         explain="Choose another slot name, or drop the slot (its consumer loses its position)."),
    Code("slot_invalidated", Severity.ERROR, "the consumer's slot is lost (invalidated): it cannot be resumed",
         explain="Drop the slot; the consumer takes a new snapshot.", slot_risk="lost"),
    Code("slot_unreserved", Severity.WARNING, "the consumer's slot retains more than max_slot_wal_keep_size",
         explain="Let the consumer catch up now, or raise max_slot_wal_keep_size.", slot_risk="unreserved"),
    Code("slot_in_use", Severity.ERROR, "another consumer streams from the consumer's slot now",
         explain="Stop the other consumer, or choose another slot name."),
    Code("slot_stale", Severity.WARNING, "the consumer's slot exists, inactive, and retains WAL",
         explain="Resume the consumer from it, or drop it if it is an abandoned run's.", slot_risk="retaining"),
    Code("other_slot_invalidated", Severity.WARNING, "another slot is lost and still counts against the slot limit",
         explain="Drop it.", slot_risk="lost"),
    Code("stale_slot_retains_wal", Severity.WARNING, "another slot is inactive and retains a lot of WAL",
         explain="Resume its consumer, or drop the slot before the disk fills.", slot_risk="retaining"),
    Code("other_slot", Severity.INFO, "another slot on the server, and the WAL it retains",
         explain="Nothing to do.", slot_risk="retaining"),
    Code("wal_rate", Severity.INFO, "the WAL written per hour since pg_stat_wal was reset",
         explain="Size max_slot_wal_keep_size and the disk from it."),
)

GB = 1024**3
DROP_STEP = "Dropping a slot is irreversible: a consumer that still uses it must re-snapshot."


def drop_slot(name: str) -> Remediation:
    statement = Sql(sql.SQL("SELECT pg_catalog.pg_drop_replication_slot({});").format(sql.Literal(name)))
    return Remediation(sql=[statement], steps=[DROP_STEP], destructive=True)


def retained(slot: SlotRow) -> str:
    value = retained_bytes(slot)
    return "unknown WAL (no restart_lsn)" if value is None else f"{human_bytes(value)} of WAL"


def retained_bytes(slot: SlotRow) -> int | None:
    """The WAL the slot retains, in bytes (the finding's ``bytes``): None without a restart_lsn."""
    return None if slot.retained_bytes is None else max(slot.retained_bytes, 0)


def invalidation(slot: SlotRow) -> str | None:
    """Why the slot can no longer be resumed (13+ wal_status, 16+ conflicting, 17+ invalidation_reason)."""
    if slot.invalidation_reason:
        return f"invalidated ({slot.invalidation_reason})"
    if slot.conflicting:
        return "invalidated by a recovery conflict (conflicting = true)"
    if slot.wal_status == "lost":
        return "lost (wal_status = 'lost': the WAL it needs was removed)"
    return None


def resumable(slot: SlotRow, plugin: str, database: str | None) -> bool:
    """The consumer's own slot it will resume, not create: logical, this database, its plugin, nobody streaming
    from it, not invalidated. Anything else of that name fails here (slot_in_use, slot_in_other_database, ...)."""
    return (slot.slot_type == "logical" and slot.database == database and slot.plugin == plugin
            and not slot.active and not slot.temporary and invalidation(slot) is None)


def client_of(slot: SlotRow) -> str:
    pid = slot.active_pid
    who = f"pid {pid}" if pid is not None else "a process this role could not see"
    app, addr = slot.client_application, slot.client_addr
    if app or addr:
        return f"{who} ({', '.join(x for x in (f'application {app!r}' if app else '', f'from {addr}' if addr else '') if x)})"
    return f"{who} (could not see the client: pg_stat_replication needs pg_read_all_stats)"


class ExistingSlots(Check):
    id = "existing_slots"
    report_order = 90
    title = "Existing replication slots (already connected?)"
    requires = ("reachability",)
    facts = (SLOTS, SETTINGS, SERVER)
    optional_facts = (WAL_STATS,)
    why = (
        "An active slot with the consumer's name means another consumer is connected now; a same-named slot in "
        "another database or with another plugin cannot be used; stale slots retain WAL until the disk fills."
    )
    remediation = "Stop the other consumer, choose another slot name, or drop the stale slot (destructive)."

    def run(self, ctx: CheckContext) -> Outcome:
        slots = ctx.fact(SLOTS)
        threshold = self._threshold(ctx)
        findings: list[Finding] = []
        wanted = ctx.options.slot_name
        if wanted is not None:
            findings += self._named(ctx, wanted, next((s for s in slots if s.slot_name == wanted), None))
        for slot in slots:
            if slot.slot_type == "logical" and slot.slot_name != wanted:
                findings.append(self._other(slot, threshold))
        findings += wal_rate(ctx)
        logical = [s for s in slots if s.slot_type == "logical"]
        active = sum(1 for s in logical if s.active)
        summary = f"{len(logical)} logical slot(s), {active} active"
        if wanted is not None:
            summary += f"; slot {wanted!r} {'exists' if any(s.slot_name == wanted for s in slots) else 'is free'}"
        return Outcome(findings, summary)

    @staticmethod
    def _threshold(ctx: CheckContext) -> int:
        """1 GB, or half of max_slot_wal_keep_size when that is lower (the slot nears invalidation)."""
        keep = ctx.setting("max_slot_wal_keep_size")
        size = keep.in_bytes() if keep else None
        return min(GB, size // 2) if size is not None and size > 0 else GB

    def _named(self, ctx: CheckContext, name: str, slot: SlotRow | None) -> list[Finding]:
        out: list[Finding] = []
        if name.lower().startswith("rds"):
            out.append(Finding(code="slot_name_reserved", severity=Severity.WARNING, object=name,
                               message=f"Slot name {name!r} starts with 'rds', which Amazon RDS reserves: "
                                       "creating it fails there. Choose another name."))
        if slot is None:
            out.append(Finding(code="slot_name_free", severity=Severity.INFO, object=name,
                               message=f"No slot named {name!r} exists: the consumer can create it."))
            return out
        here = ctx.fact(SERVER).database
        if slot.slot_type != "logical":
            out.append(Finding(code="slot_is_physical", severity=Severity.ERROR, object=name, observed="physical",
                               expected="logical",
                               message=f"Slot {name!r} exists and is a physical slot (a standby's); slot names are "
                                       "unique per cluster, so the consumer cannot create its logical slot. "
                                       "Choose another slot name."))
            return out
        if slot.database != here:
            out.append(Finding(code="slot_in_other_database", severity=Severity.ERROR, object=name,
                               observed=slot.database, expected=here,
                               message=f"Slot {name!r} belongs to database {slot.database!r}, not {here!r}: a "
                                       "logical slot decodes one database only and slot names are unique per "
                                       "cluster. Choose another slot name, or drop that slot if nobody uses it.",
                               remediation=Remediation(steps=["Choose another slot name for this database.",
                                                              *drop_slot(name).steps],
                                                       sql=drop_slot(name).sql, destructive=True)))
        if slot.plugin != ctx.options.plugin:
            out.append(Finding(code="slot_plugin_mismatch", severity=Severity.ERROR, object=name,
                               observed=slot.plugin, expected=ctx.options.plugin,
                               message=f"Slot {name!r} uses plugin {slot.plugin!r}, not {ctx.options.plugin!r}: "
                                       "a slot's plugin is fixed at creation. Choose another name or drop it.",
                               remediation=drop_slot(name)))
        lost = invalidation(slot)
        if lost:
            out.append(Finding(code="slot_invalidated", severity=Severity.ERROR, object=name, observed=lost,
                               message=f"Slot {name!r} is {lost}: it cannot be resumed; the consumer must drop it "
                                       "and take a new snapshot.", remediation=drop_slot(name)))
        elif slot.wal_status == "unreserved":
            out.append(Finding(code="slot_unreserved", severity=Severity.WARNING, object=name, observed="unreserved",
                               message=f"Slot {name!r} has wal_status 'unreserved': it retains more than "
                                       "max_slot_wal_keep_size and will be lost at the next checkpoint unless its "
                                       "consumer catches up."))
        if slot.active:
            out.append(Finding(code="slot_in_use", severity=Severity.ERROR, object=name, observed="active",
                               expected="no active consumer",
                               message=f"Slot {name!r} is active: another consumer is connected now, held by "
                                       f"{client_of(slot)}. Two consumers cannot share a slot.",
                               remediation=Remediation(steps=["Stop the other consumer, or choose another slot name."])))
        elif not lost:
            out.append(Finding(code="slot_stale", severity=Severity.WARNING, object=name, observed=retained(slot),
                               bytes=retained_bytes(slot),
                               message=f"Slot {name!r} exists but is inactive and retains {retained(slot)}. If it is "
                                       "this consumer's slot from an earlier run it will resume from there; "
                                       "otherwise drop it.", remediation=drop_slot(name)))
        return out

    @staticmethod
    def _other(slot: SlotRow, threshold: int) -> Finding:
        name = slot.slot_name
        where = f"database {slot.database!r}, plugin {slot.plugin!r}"
        state = "active, " + client_of(slot) if slot.active else "inactive"
        if slot.temporary:
            state += ", temporary"
        lost = invalidation(slot)
        if lost:
            return Finding(code="other_slot_invalidated", severity=Severity.WARNING, object=name, observed=lost,
                           message=f"Slot {name!r} ({where}) is {lost}; it still counts against "
                                   "max_replication_slots and cannot be resumed.", remediation=drop_slot(name))
        size = slot.retained_bytes
        if not slot.active and not slot.temporary and size is not None and size > threshold:
            return Finding(code="stale_slot_retains_wal", severity=Severity.WARNING, object=name,
                           observed=retained(slot), expected=f"<= {human_bytes(threshold)}", bytes=retained_bytes(slot),
                           message=f"Slot {name!r} ({where}) is inactive and retains {retained(slot)} "
                                   f"(over {human_bytes(threshold)}): WAL piles up until the disk fills or the "
                                   "slot is invalidated.", remediation=drop_slot(name))
        return Finding(code="other_slot", severity=Severity.INFO, object=name, observed=retained(slot),
                       bytes=retained_bytes(slot),
                       message=f"Slot {name!r} ({where}; {state}) retains {retained(slot)}.")


def wal_rate(ctx: CheckContext) -> list[Finding]:
    """WAL generated per hour since the last stats reset, against max_slot_wal_keep_size; none extrapolated
    from less than ``MIN_RATE_WINDOW_S`` (statistics reset moments ago: the average is no rate)."""
    stats = ctx.optional_fact(WAL_STATS)
    if stats is None or stats.wal_bytes is None or not stats.seconds_since_reset:
        return []
    seconds = stats.seconds_since_reset
    if stats.rate_window_too_short():
        return [Finding(code="wal_rate", severity=Severity.INFO, object="pg_stat_wal", observed=None,
                        message=f"WAL rate unknown: pg_stat_wal was reset {human_duration(seconds)} ago "
                                f"({human_bytes(stats.wal_bytes)} since), less than the "
                                f"{human_duration(MIN_RATE_WINDOW_S)} an average needs to be a rate; --sample SECONDS "
                                "measures it (slot_budget).")]
    per_hour = stats.wal_bytes * 3600 / seconds
    keep = ctx.setting("max_slot_wal_keep_size")
    size = keep.in_bytes() if keep else None
    if size is None or size < 0:
        sizing = "max_slot_wal_keep_size is unbounded (-1): a stopped consumer's slot retains this much per hour until the disk fills"
    elif per_hour > 0:
        sizing = (f"max_slot_wal_keep_size ({human_bytes(size)}) lets a consumer stop for about "
                  f"{size / per_hour:.1f} h before its slot is invalidated")
    else:
        sizing = f"max_slot_wal_keep_size is {human_bytes(size)}"
    return [Finding(code="wal_rate", severity=Severity.INFO, object="pg_stat_wal", observed=f"{human_bytes(int(per_hour))}/h",
                    message=f"WAL generated: {human_bytes(int(per_hour))} per hour on average since pg_stat_wal was reset "
                            f"{seconds / 3600:.1f} h ago ({human_bytes(stats.wal_bytes)}); {sizing}.")]
