"""Large transactions: decoded whole in logical_decoding_work_mem, spilled to disk beyond it, unless the
consumer streams in-progress transactions.

pg_stat_replication_slots (14+) counts the transactions each slot spilled and streamed since its last
reset: spills on this server say large transactions happen here. A consumer that does not stream receives
each one only at its commit, after the walsender spilled it to pg_replslot (disk, I/O, lag). The profile
says how the consumer streams (``streams_in_progress``), if it can.
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import SESSION_SETTINGS, SETTINGS, SLOT_STATS
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import SLOT_STATISTICS, STREAMING_IN_PROGRESS, supports
from preflight.remediation import change_setting
from preflight.settings import human_bytes, size_value

CODES = declare(
    Code("decoding_memory", Severity.INFO, "logical_decoding_work_mem: larger transactions spill or stream",
         explain="Raise it for the consumer's role if large transactions are common."),
    Code("decoding_spills", (Severity.INFO, Severity.WARNING), "slots here spilled large transactions to disk (info "
         "when the consumer streams them)", explain="Raise logical_decoding_work_mem, or use a consumer that streams."),
)

SUGGESTED = 256 * 1024 * 1024  # a walsender's decoding memory worth suggesting before streaming is an option


class LargeTransactions(Check):
    id = "large_transactions"
    report_order = 133
    title = "Large transactions are streamed or fit in decoding memory"
    facts = (SETTINGS, SESSION_SETTINGS, SLOT_STATS)
    why = ("A transaction larger than logical_decoding_work_mem is spilled to disk by the walsender and sent only at "
           "its commit, unless the consumer streams in-progress transactions: large batches cost disk I/O and arrive "
           "late, all at once.")
    remediation = ("Raise logical_decoding_work_mem, and have the consumer stream in-progress transactions where it "
                   "can (a native subscription: streaming = on / parallel).")

    def run(self, ctx: CheckContext) -> Outcome:
        memory = ctx.setting("logical_decoding_work_mem")
        size = memory.in_bytes() if memory is not None else None
        shown = human_bytes(size) if size is not None else "unknown"
        streams = ctx.profile.streams_in_progress if supports(ctx.version_num, STREAMING_IN_PROGRESS) else ""  # streaming protocol: 14+
        how = (f"the consumer can stream in-progress transactions: {streams}" if streams else
               f"profile '{ctx.profile.name}' does not stream in-progress transactions")
        findings = [Finding(code="decoding_memory", severity=Severity.INFO, object="logical_decoding_work_mem",
                            observed=shown, message=f"logical_decoding_work_mem is {shown}: larger transactions are "
                                                    f"spilled to disk or streamed; {how}.")]
        if not supports(ctx.version_num, SLOT_STATISTICS):
            return Outcome(findings, f"logical_decoding_work_mem {shown}; no spill statistics before 14")
        spilled = [s for s in ctx.fact(SLOT_STATS) if s.spill_txns > 0]
        if spilled:
            total = sum(s.spill_bytes for s in spilled)
            seen = ", ".join(f"{s.slot_name}: {s.spill_txns} transaction(s), {human_bytes(s.spill_bytes)}"
                             for s in spilled)
            steps = [f"Stream in-progress transactions: {streams}."] if streams else [
                "This consumer receives large transactions only at commit: expect lag spikes and pg_replslot disk "
                "use during them."]
            amount, unit = size_value(max(SUGGESTED, 2 * (size or 0)))
            fix = change_setting(ctx.provider, "logical_decoding_work_mem", amount, memory, unit) \
                if memory is not None else Remediation()
            findings.append(Finding(
                code="decoding_spills", severity=Severity.INFO if streams else Severity.WARNING,
                object="pg_stat_replication_slots", observed=f"{human_bytes(total)} spilled",
                expected=f"transactions within {shown}",
                message=f"Slots on this server spilled transactions larger than logical_decoding_work_mem ({shown}) "
                        f"to disk ({seen}): large transactions happen here; {how}.",
                remediation=Remediation(sql=fix.sql, steps=[*fix.steps, *steps], requires_restart=fix.requires_restart)))
        return Outcome(findings, f"logical_decoding_work_mem {shown}; {len(spilled)} slot(s) spilled")
