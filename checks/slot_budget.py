"""How long may the consumer be down before its slot's retained WAL reaches max_slot_wal_keep_size?

A logical slot keeps every WAL segment from its restart position on. While the consumer is down (or
still copying the initial snapshot) that WAL accumulates at the server's write rate; when it passes
``max_slot_wal_keep_size`` the server invalidates the slot and the consumer must start over with a
full copy. With the limit off (-1) the slot is never invalidated: the WAL fills the disk instead.

The rate is measured over ``--sample SECONDS`` when asked for, else taken from pg_stat_wal (14+: the
average since its statistics were reset); the findings say which. An average over less than
``MIN_RATE_WINDOW_S`` (an hour: statistics reset moments ago) is no rate: it is never extrapolated to a
day, the rate is reported unknown and ``--sample`` suggested. The arithmetic is pure (``budget``) so it is
unit-tested on snapshots. A suggested ``max_slot_wal_keep_size`` always carries its unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.table_keys import kept
from preflight.codes import Code, declare
from preflight.facts import (
    MIN_RATE_WINDOW_S,
    SETTINGS,
    SLOTS,
    TABLES,
    WAL_SAMPLE,
    WAL_STATS,
    ProbeStatus,
    TableRow,
    WalSample,
    WalStats,
)
from preflight.models import Finding, Remediation, Severity
from preflight.remediation import raise_size
from preflight.settings import human_bytes, human_duration

CODES = declare(
    Code("wal_rate_unknown", Severity.INFO, "the WAL rate is unknown, so the slot's downtime budget is not computed",
         explain="Run with --sample SECONDS to measure the WAL rate."),
    Code("slot_retention_unlimited", Severity.INFO, "the slot is never invalidated: a day of downtime retains this WAL",
         explain="Make sure the disk holds the WAL a consumer outage retains, or bound max_slot_wal_keep_size."),
    Code("slot_budget", Severity.INFO, "how long the consumer can be down before its slot is invalidated",
         explain="Nothing to do; compare the budget with the consumer's longest expected outage."),
    Code("slot_budget_low", Severity.WARNING, "the consumer's downtime budget is shorter than the profile allows",
         explain="Raise max_slot_wal_keep_size so the slot survives the profile's downtime budget."),
    Code("initial_copy_size", Severity.INFO, "how much the initial copy reads while the slot retains WAL",
         explain="Make sure the disk holds the WAL written during the copy."),
)

DAY_S = 86400.0


@dataclass(frozen=True)
class WalRate:
    """WAL bytes per second and where the figure comes from (said in every finding that uses it)."""

    bytes_per_s: float
    source: str


@dataclass(frozen=True)
class Budget:
    """The slot's headroom: ``seconds`` of downtime until invalidation (None: unlimited or no WAL written)."""

    keep_bytes: int | None  # None: max_slot_wal_keep_size is -1 (or the server predates it)
    retained_bytes: int
    seconds: float | None
    per_day_bytes: float


def wal_rate(sample: WalSample | None, stats: WalStats | None) -> WalRate | str:
    """The sampled rate when there is one, else pg_stat_wal's average since its reset when that window is
    long enough; else why no rate is known (a sentence)."""
    if sample is not None and sample.status is ProbeStatus.OK and sample.seconds and sample.wal_bytes is not None:
        return WalRate(sample.wal_bytes / sample.seconds,
                       f"measured over {sample.seconds:g} s ({sample.start_lsn} to {sample.end_lsn})")
    if stats is None or stats.wal_bytes is None or not stats.seconds_since_reset:
        return "No WAL rate is known (pg_stat_wal needs PostgreSQL 14+ and a visible row)"
    if stats.rate_window_too_short():
        return (f"No WAL rate is known: pg_stat_wal's statistics were reset {human_duration(stats.seconds_since_reset)} ago "
                f"({stats.stats_reset}), and an average over less than {human_duration(MIN_RATE_WINDOW_S)} mostly measures "
                f"whatever ran since the reset ({human_bytes(stats.wal_bytes)} written): it is not extrapolated to a day")
    return WalRate(stats.wal_bytes / stats.seconds_since_reset,
                   f"pg_stat_wal average since its reset {stats.stats_reset} "
                   f"({human_duration(stats.seconds_since_reset)} ago; --sample SECONDS measures the current rate)")


def budget(keep_bytes: int | None, retained_bytes: int, rate: WalRate) -> Budget:
    """Seconds until the retained WAL reaches the limit at ``rate`` (0 when already past it)."""
    per_day = rate.bytes_per_s * DAY_S
    if keep_bytes is None or rate.bytes_per_s <= 0:
        return Budget(keep_bytes, retained_bytes, None, per_day)
    return Budget(keep_bytes, retained_bytes, max(keep_bytes - retained_bytes, 0) / rate.bytes_per_s, per_day)


def copy_bytes(tables: list[TableRow]) -> int:
    """What the initial copy reads: the permanent tables and partitions of the selection (pg_class estimates)."""
    return sum(t.size_bytes or 0 for t in tables if t.relkind == "r" and t.relpersistence == "p")


class SlotBudget(Check):
    id = "slot_budget"
    report_order = 65
    title = "Slot downtime budget (WAL retained while the consumer is down)"
    requires = ("reachability",)
    facts = (SETTINGS, SLOTS, TABLES)
    optional_facts = (WAL_STATS, WAL_SAMPLE)
    why = (
        "A slot retains WAL while its consumer is down or still copying. Past max_slot_wal_keep_size the "
        "server invalidates the slot and the consumer needs a full resync; with no limit the WAL fills the disk. "
        "The budget needs a real rate: measured over --sample, or pg_stat_wal's average over at least an hour "
        "(moments after a statistics reset the average is whatever just ran: wal_rate_unknown, never extrapolated)."
    )
    remediation = ("Raise max_slot_wal_keep_size to cover the downtime the consumer must survive (the suggested size "
                   "carries its unit, e.g. '58GB'; keep that much disk free), or keep consumer outages and the initial "
                   "copy shorter than the budget. With the rate unknown, run with --sample SECONDS at a busy hour.")

    def run(self, ctx: CheckContext) -> Outcome:
        settings = ctx.settings()
        keep_setting = settings.get("max_slot_wal_keep_size")
        keep = keep_setting.in_bytes() if keep_setting else None
        keep = None if keep is None or keep < 0 else keep
        slot = next((s for s in ctx.fact(SLOTS) if ctx.options.slot_name and s.slot_name == ctx.options.slot_name), None)
        retained = (slot.retained_bytes or 0) if slot else 0
        whose = f"slot {ctx.options.slot_name!r} (exists, retains {human_bytes(retained)})" if slot else "the new slot"
        size = copy_bytes(kept(ctx.fact(TABLES), ctx.options.decisions))  # decided "exclude": not copied
        minimum = ctx.profile.min_slot_budget_hours
        rate = wal_rate(ctx.optional_fact(WAL_SAMPLE), ctx.optional_fact(WAL_STATS))
        findings: list[Finding] = []
        if isinstance(rate, str):
            findings.append(Finding(
                code="wal_rate_unknown", severity=Severity.INFO, object="max_slot_wal_keep_size",
                message=f"{rate}. Run with --sample SECONDS to measure it, so the downtime budget of the slot can "
                        "be computed."))
            findings.append(_copy_finding(size, None, None))
            return Outcome(findings, f"WAL rate unknown; initial copy {human_bytes(size)}")
        result = budget(keep, retained, rate)
        per_s = f"{human_bytes(rate.bytes_per_s)}/s"
        if result.keep_bytes is None:
            findings.append(Finding(
                code="slot_retention_unlimited", severity=Severity.INFO, object="max_slot_wal_keep_size",
                observed=round(result.per_day_bytes), expected=None,
                message=f"max_slot_wal_keep_size is unlimited: {whose} is never invalidated, but a day of consumer "
                        f"downtime retains {human_bytes(result.per_day_bytes)} of WAL at {per_s} ({rate.source}); "
                        "the WAL volume must have that much free space."))
            summary = f"unlimited retention; {human_bytes(result.per_day_bytes)}/day at {per_s}"
        elif result.seconds is None:
            findings.append(Finding(
                code="slot_budget", severity=Severity.INFO, object="max_slot_wal_keep_size",
                message=f"No WAL was written ({rate.source}): at this rate {whose} never reaches "
                        f"max_slot_wal_keep_size ({human_bytes(result.keep_bytes)}); a busier hour changes that."))
            summary = "no WAL written; budget unbounded at this rate"
        else:
            budget_h = result.seconds / 3600
            low = budget_h < minimum
            remediation = Remediation()
            if low and keep_setting is not None:
                remediation = raise_size(ctx.provider, keep_setting, retained + rate.bytes_per_s * minimum * 3600)
            findings.append(Finding(
                code="slot_budget_low" if low else "slot_budget",
                severity=Severity.WARNING if low else Severity.INFO, object="max_slot_wal_keep_size",
                observed=float(f"{budget_h:.4g}"), expected=minimum, hours=budget_h,
                message=f"The consumer can be down {human_duration(result.seconds)} before {whose} reaches "
                        f"max_slot_wal_keep_size ({human_bytes(result.keep_bytes)}) and is invalidated, at {per_s} "
                        f"({rate.source}); profile '{ctx.profile.name}' wants at least {minimum:g} h "
                        f"(observed and expected in hours).",
                remediation=remediation))
            summary = f"{human_duration(result.seconds)} of downtime budget at {per_s}"
        findings.append(_copy_finding(size, rate, result))
        return Outcome(findings, f"{summary}; initial copy {human_bytes(size)}")


def _copy_finding(size: int, rate: WalRate | None, result: Budget | None) -> Finding:
    if rate is None or result is None:
        tail = "measure the WAL rate (--sample SECONDS) to weigh the copy time against the slot's budget."
    elif result.seconds is not None:
        tail = f"the copy (and any outage during it) must finish within the budget of {human_duration(result.seconds)}."
    else:
        tail = f"every hour of copy retains {human_bytes(rate.bytes_per_s * 3600)} of WAL."
    return Finding(
        code="initial_copy_size", severity=Severity.INFO, object="selection", observed=size, bytes=size,
        message=f"The initial copy reads {human_bytes(size)} (the selected tables, pg_class estimates, in bytes as "
                f"observed) while the slot retains WAL: {tail}")
