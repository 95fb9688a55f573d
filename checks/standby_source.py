"""A standby as the source: recovery conflicts cancel the initial copy's long query.

On a standby, WAL replay waits at most ``max_standby_streaming_delay`` for a query that conflicts with it
(VACUUM removing rows the query's snapshot still sees, unless ``hot_standby_feedback`` is on; an ACCESS
EXCLUSIVE lock from the primary: TRUNCATE, DROP, ALTER TABLE, a VACUUM truncating a table), then cancels
the query. The initial copy is one long query per table: on a busy primary it is cancelled and starts
over, or never finishes. ``pg_stat_database_conflicts`` counts what this database already lost.
``hot_standby_feedback`` itself is judged by writer_status (it also protects the standby's slots).
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import RECOVERY_CONFLICTS, SERVER, SETTINGS
from preflight.models import Finding, Remediation, Severity
from preflight.remediation import change_setting

CODES = declare(
    Code("standby_copy_cancelled", Severity.WARNING, "replay on the standby may cancel the initial copy's long query",
         explain="Raise max_standby_streaming_delay on the standby during the copy, or copy from the primary."),
    Code("standby_recovery_conflicts", Severity.WARNING, "queries on this standby were cancelled by recovery conflicts",
         explain="Expect the same for the copy and the slots; raise hot_standby_feedback and the delays."),
)


class StandbySource(Check):
    id = "standby_source"
    report_order = 134
    title = "A standby source does not cancel the initial copy"
    facts = (SERVER, SETTINGS, RECOVERY_CONFLICTS)
    why = ("On a standby, replay cancels a query that conflicts with it after max_standby_streaming_delay: the initial "
           "copy's long queries are cancelled by the primary's VACUUM (without hot_standby_feedback) or its ACCESS "
           "EXCLUSIVE locks, and the copy restarts or never finishes.")
    remediation = ("On the standby, during the initial copy: max_standby_streaming_delay = -1 (replay waits for the "
                   "copy; the standby lags meanwhile) and hot_standby_feedback = on; or copy from the primary.")

    def run(self, ctx: CheckContext) -> Outcome:
        if not ctx.fact(SERVER).in_recovery:
            return Outcome([], "primary: no recovery conflicts")
        findings: list[Finding] = []
        delay = ctx.setting("max_standby_streaming_delay")
        ms = delay.in_ms() if delay is not None else None
        feedback = ctx.setting("hot_standby_feedback")
        feedback_on = feedback is not None and feedback.setting == "on"
        if ms is not None and ms >= 0:
            shown = delay.display() if delay is not None else str(ms)
            causes = "an ACCESS EXCLUSIVE lock taken on the primary (TRUNCATE, DROP, ALTER TABLE, VACUUM truncating a table)"
            if not feedback_on:
                causes = "VACUUM on the primary removing rows the copy still reads (hot_standby_feedback is off), or " + causes
            fix = change_setting(ctx.provider, "max_standby_streaming_delay", -1, delay)
            findings.append(Finding(
                code="standby_copy_cancelled", severity=Severity.WARNING, object="max_standby_streaming_delay",
                observed=shown, expected="-1 during the initial copy",
                message=f"max_standby_streaming_delay is {shown}: replay cancels the initial copy's long query when "
                        f"it conflicts for longer, through {causes}. Whether that happens depends on the primary's "
                        "activity during the copy (not visible from here).",
                remediation=Remediation(
                    sql=fix.sql, requires_restart=fix.requires_restart,
                    steps=[*fix.steps,
                           "Run it on this standby for the initial copy (replay then waits and the standby lags); "
                           "set it back afterwards. Or take the initial copy from the primary."])))
        conflicts = ctx.fact(RECOVERY_CONFLICTS)
        if conflicts is not None and (conflicts.cancelled_queries or conflicts.logical_slot):
            parts = [f"{n} {what}" for n, what in ((conflicts.snapshot, "snapshot"), (conflicts.lock, "lock"),
                                                    (conflicts.bufferpin, "buffer pin"), (conflicts.deadlock, "deadlock"),
                                                    (conflicts.tablespace, "tablespace")) if n]
            observed = ", ".join(parts) + " conflict(s)" if parts else ""
            if conflicts.logical_slot:
                observed += ("; " if observed else "") + f"{conflicts.logical_slot} logical slot(s) invalidated"
            findings.append(Finding(
                code="standby_recovery_conflicts", severity=Severity.WARNING, object="pg_stat_database_conflicts",
                observed=observed, expected="0",
                message=f"This database already lost queries to recovery conflicts since statistics were reset "
                        f"({observed}): the initial copy and slots on this standby meet the same.",
                remediation=Remediation(steps=["Set hot_standby_feedback = on and max_standby_streaming_delay = -1 on "
                                               "this standby for the initial copy, or copy from the primary."])))
        return Outcome(findings, "standby: " + (", ".join(f.code for f in findings) or "no conflict risk seen"))
