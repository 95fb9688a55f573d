"""Which managed service is this, and what does that imply for a CDC source? (info only)"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.models import Finding, Severity
from preflight.providers import SELF_MANAGED, detect, provider


def resolve(ctx: CheckContext) -> tuple[str, str]:
    """The provider (``--provider`` wins over detection) and what decided it."""
    if ctx.options.provider:
        return ctx.options.provider, "--provider option"
    return detect(ctx.optional_fact("provider_signals"))


class ProviderCheck(Check):
    id = "provider"
    title = "Provider (managed service) detected"
    optional_facts = ("provider_signals",)
    why = (
        "The right fix depends on where PostgreSQL runs: managed services change wal_level through a "
        "parameter group or flag and a restart, grant replication through their own roles, and some "
        "endpoints (poolers, readers) cannot carry replication at all."
    )
    remediation = "Follow the provider-specific steps; override detection with --provider NAME if it is wrong."

    def run(self, ctx: CheckContext) -> Outcome:
        name, signal = resolve(ctx)
        info = provider(name)
        findings = [Finding(code="provider", severity=Severity.INFO, object=name, observed=name,
                            message=f"{info.title} (decided by: {signal}).")]
        for note in info.notes:
            findings.append(Finding(code="provider_note", severity=Severity.INFO, object=name, message=note))
        if name == "heroku":
            findings.append(Finding(code="provider_unsupported", severity=Severity.ERROR, object=name,
                                    message="Heroku Postgres does not offer logical replication to external consumers."))
        summary = info.title if name != SELF_MANAGED else "self-managed (no managed-service signal)"
        return Outcome(findings, summary)
