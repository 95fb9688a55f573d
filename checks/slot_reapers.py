"""What ends an idle slot's life before the consumer comes back: PostgreSQL 18's
``idle_replication_slot_timeout`` and providers that remove inactive slots or suspend the compute.

The profile's ``min_slot_budget_hours`` is how long the consumer may be down. A reaper shorter than that
loses the slot during a downtime the consumer is allowed (fail); a longer one still ends it one day (info,
or a warning for a provider's rule, which no setting shows).
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import SETTINGS
from preflight.models import Finding, Remediation, Severity
from preflight.remediation import change_setting
from preflight.settings import human_ms

CODES = declare(
    Code("idle_slot_timeout_short", Severity.ERROR, "idle_replication_slot_timeout is shorter than the downtime budget",
         explain="Raise idle_replication_slot_timeout (or set it to 0) above the consumer's downtime budget."),
    Code("idle_slot_timeout", Severity.INFO, "idle_replication_slot_timeout invalidates slots idle for longer",
         explain="Nothing, as long as the consumer is never down longer."),
    Code("provider_drops_inactive_slots", (Severity.WARNING, Severity.ERROR), "the provider removes inactive slots "
         "(an error when sooner than the downtime budget)",
         explain="Keep the consumer connected, or follow the provider's advice on slot lifetime."),
)

HOUR_MS = 3_600_000.0


class SlotReapers(Check):
    id = "slot_reapers"
    report_order = 132
    title = "No reaper drops the slot within the consumer's downtime budget"
    facts = (SETTINGS,)
    why = ("PostgreSQL 18 invalidates a slot that stayed inactive longer than idle_replication_slot_timeout, and some "
           "providers remove inactive slots (Neon after about 40 hours): a consumer down for longer must copy "
           "everything again.")
    remediation = ("Set idle_replication_slot_timeout to 0 (off) or above the consumer's downtime budget; on a provider "
                   "that removes inactive slots, keep the consumer connected or plan a new initial copy after a long "
                   "outage.")

    def run(self, ctx: CheckContext) -> Outcome:
        budget_h = ctx.profile.min_slot_budget_hours
        findings: list[Finding] = []
        timeout = ctx.setting("idle_replication_slot_timeout")
        ms = timeout.in_ms() if timeout is not None else None
        if ms is not None and ms > 0:
            shown = human_ms(ms)
            if ms < budget_h * HOUR_MS:
                findings.append(Finding(
                    code="idle_slot_timeout_short", severity=Severity.ERROR, object="idle_replication_slot_timeout",
                    observed=shown, expected=f"0 or >= {budget_h:g} h",
                    message=f"idle_replication_slot_timeout is {shown}: a slot inactive that long is invalidated at "
                            f"the next checkpoint, shorter than the {budget_h:g} h the consumer may be down (profile "
                            f"'{ctx.profile.name}'); it then has to copy everything again.",
                    remediation=change_setting(ctx.provider, "idle_replication_slot_timeout", 0, timeout)))
            else:
                findings.append(Finding(
                    code="idle_slot_timeout", severity=Severity.INFO, object="idle_replication_slot_timeout",
                    observed=shown, message=f"idle_replication_slot_timeout is {shown}: a consumer down longer than "
                                            "that loses its slot (longer than the profile's downtime budget)."))
        provider = ctx.provider
        after = provider.drops_inactive_slots_after_h
        if after is not None or provider.slot_lifetime_note:
            short = after is not None and after < budget_h
            findings.append(Finding(
                code="provider_drops_inactive_slots", severity=Severity.ERROR if short else Severity.WARNING,
                object=provider.name, observed=f"{after:g} h" if after is not None else provider.title,
                expected=f">= {budget_h:g} h",
                message=f"{provider.title}: {provider.slot_lifetime_note or 'it removes inactive slots.'} The profile "
                        f"allows the consumer {budget_h:g} h of downtime.",
                remediation=Remediation(steps=[
                    "Keep the consumer connected (alert when its slot turns inactive), and plan a new initial copy "
                    "after an outage longer than the provider keeps inactive slots."])))
        if not findings:
            return Outcome([], "no slot reaper configured")
        return Outcome(findings, "; ".join(str(f.observed or f.code) for f in findings))
