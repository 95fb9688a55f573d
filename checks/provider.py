"""Which managed service is this, and what does that imply for a CDC source? (info only)"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import PROVIDER_SIGNALS
from preflight.models import Finding, Remediation, Severity
from preflight.provider_detection import SELF_MANAGED, provider

CODES = declare(
    Code("provider", Severity.INFO, "the managed service (or self-managed server) and what decided it",
         explain="Nothing to do; pass --provider to override a wrong detection."),
    Code("provider_note", Severity.INFO, "something this provider does differently for logical replication",
         explain="Read the note: it says which of the provider's settings or limits the consumer meets."),
    Code("pooled_endpoint", Severity.WARNING, "the host looks like a connection pooler, which cannot carry replication",
         explain="Point the CDC consumer at the provider's direct database endpoint, not the pooler's."),
    Code("provider_unsupported", Severity.ERROR, "the provider lets no external consumer replicate logically",
         explain="Move the database to a service that supports logical replication, or replicate another way."),
)

# Host name fragments and ports of known poolers (a weak signal, so a warning, not a failure).
POOLER_HOSTS = {"pooler.supabase.com": "Supavisor (Supabase pooler)", "-pooler.": "Neon pooler",
                ".proxy-": "RDS Proxy", "pgbouncer": "PgBouncer"}
POOLER_PORTS = {6432: "PgBouncer's default port 6432", 6543: "Supabase's pooler port 6543"}


def pooled_endpoint(host: str | None, port: int | None) -> str | None:
    """What suggests a pooler in front of the server, or None."""
    for fragment, what in POOLER_HOSTS.items():
        if host and fragment in host.lower():
            return what
    return POOLER_PORTS.get(port or 0)


class ProviderCheck(Check):
    id = "provider"
    report_order = 30
    title = "Provider (managed service) detected"
    optional_facts = (PROVIDER_SIGNALS,)
    why = (
        "The right fix depends on where PostgreSQL runs: managed services change wal_level through a "
        "parameter group or flag and a restart, grant replication through their own roles, and some "
        "endpoints (poolers, readers) cannot carry replication at all."
    )
    remediation = "Follow the provider-specific steps; override detection with --provider NAME if it is wrong."

    def run(self, ctx: CheckContext) -> Outcome:
        name, signal = ctx.provider_resolution
        info = provider(name)
        findings = [Finding(code="provider", severity=Severity.INFO, object=name, observed=name,
                            message=f"{info.title} (decided by: {signal}).")]
        for note in info.notes:
            findings.append(Finding(code="provider_note", severity=Severity.INFO, object=name, message=note))
        pooler = pooled_endpoint(ctx.snapshot.server.host if ctx.snapshot.server else None,
                                 ctx.snapshot.server.port if ctx.snapshot.server else None)
        if pooler:
            findings.append(Finding(
                code="pooled_endpoint", severity=Severity.WARNING, object="host", observed=pooler,
                expected="the direct database endpoint",
                message=f"This looks like a connection pooler ({pooler}). Poolers cannot carry replication "
                        "connections: point the CDC consumer at the direct endpoint.",
                remediation=Remediation(steps=["Use the direct (non-pooled) host and port for the consumer and "
                                               "for this check."]),
            ))
        refusal = info.refusal()  # said once, as the error (the provider's record holds it, not a note)
        if refusal:
            findings.append(Finding(code="provider_unsupported", severity=Severity.ERROR, object=name, message=refusal))
        summary = info.title if name != SELF_MANAGED else "self-managed (no managed-service signal)"
        return Outcome(findings, summary)
