"""Long, idle-in-transaction and prepared transactions: they make slot creation wait.

A new logical slot waits for every transaction that holds an xid when it starts (prepared ones
included), and its initial snapshot is held back until they end: the consumer's setup hangs.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.facts import ACTIVITY, OpenTransaction, PreparedTransaction
from preflight.models import Finding, Remediation, Severity
from preflight.sqltext import render


def age(seconds: float) -> str:
    """Rounded for people: 0.5s, 45s, 12min, 3.2h."""
    if seconds < 1:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}min" if seconds < 7200 else f"{seconds / 3600:.1f}h"


class LongTransactions(Check):
    id = "long_transactions"
    report_order = 120
    title = "No long-running or prepared transactions"
    facts = (ACTIVITY,)
    why = ("Creating a logical slot waits until every transaction older than it ends, prepared transactions "
           "included, and its initial snapshot is held back meanwhile: the consumer's setup hangs behind them.")
    remediation = ("Commit or end the transactions (pg_terminate_backend for abandoned sessions, COMMIT PREPARED / "
                   "ROLLBACK PREPARED for prepared ones) before creating the slot; set "
                   "idle_in_transaction_session_timeout.")

    def run(self, ctx: CheckContext) -> Outcome:
        activity = ctx.fact(ACTIVITY)
        limit = ctx.options.max_xact_age
        findings = [self._session(s) for s in activity.sessions if (s.xact_age_s or 0) >= limit]
        findings += [self._prepared(p) for p in activity.prepared if (p.age_s or 0) >= limit]
        hidden = activity.hidden_sessions
        if not activity.can_see_all and hidden:
            role = activity.role
            findings.append(Finding(
                code="sessions_not_visible", severity=Severity.WARNING, object="pg_stat_activity",
                observed=f"{hidden} hidden", expected="all visible",
                message=f"Could not see {hidden} session(s) of other roles: role {role} is not a superuser nor a "
                        "member of pg_read_all_stats / pg_monitor, so their transactions read as NULL. Long "
                        "transactions among them cannot be ruled out (prepared transactions are always visible).",
                remediation=Remediation(sql=[render(sql.SQL("GRANT pg_read_all_stats TO {};").format(
                    sql.Identifier(role)))]),
            ))
        long_count = sum(1 for f in findings if f.code != "sessions_not_visible")
        summary = f"{long_count} transaction(s) older than {age(limit)}" if long_count else f"none older than {age(limit)}"
        if not activity.can_see_all and hidden:
            summary = f"could not see {hidden} session(s) of other roles; visible: {summary}"
        return Outcome(findings, summary)

    def _session(self, s: OpenTransaction) -> Finding:
        state = s.state or "unknown"
        idle = state.startswith("idle in transaction")
        xid = " holds a transaction ID (slot creation waits for it)" if s.has_xid else \
            " holds a snapshot (no xid yet: it delays the slot only once it writes)"
        user, app = s.usename or "?", s.application_name or ""
        xact_age = s.xact_age_s or 0.0
        return Finding(
            code="idle_in_transaction" if idle else "long_transaction", severity=Severity.WARNING,
            object=f"pid {s.pid}", observed=f"{age(xact_age)} {state}",
            message=f"pid {s.pid} (user {user}, application '{app}', database {s.datname or '?'}) has a "
                    f"transaction open for {age(xact_age)}, state '{state}'" +
                    (f" for {age(s.state_age_s)}" if idle and s.state_age_s is not None else "") +
                    f";{xid}.",
            remediation=Remediation(steps=[
                "Ask the owner to commit or roll back" + (
                    f", or end the session: SELECT pg_catalog.pg_terminate_backend({s.pid}); "
                    "(rolls its work back)" if idle else "") + "."]),
        )

    def _prepared(self, p: PreparedTransaction) -> Finding:
        gid = p.gid
        waited = p.age_s or 0.0
        return Finding(
            code="prepared_transaction", severity=Severity.WARNING, object=f"prepared {gid}",
            observed=f"{age(waited)}",
            message=f"Prepared transaction '{gid}' (owner {p.owner}, database {p.database}, xid "
                    f"{p.xid}) has been waiting for {age(waited)}: slot creation waits until it is "
                    "committed or rolled back, and it survives restarts.",
            remediation=Remediation(steps=[
                f"Once its transaction manager confirms the outcome, run in database {p.database}: "
                + render(sql.SQL("COMMIT PREPARED {};").format(sql.Literal(gid))) + " or "
                + render(sql.SQL("ROLLBACK PREPARED {};").format(sql.Literal(gid)))]),
        )
