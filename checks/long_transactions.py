"""Transactions that make slot creation wait, and long ones that hold back the consumer's snapshot.

Creating a logical slot (CREATE SUBSCRIPTION, CREATE_REPLICATION_SLOT, pg_create_logical_replication_slot)
waits until every transaction that holds an xid when it starts has ended, prepared ones included. What
matters is whether such a transaction is still running when the consumer asks, not whether one reading
caught it: a busy primary always has short writes holding an xid for a few milliseconds. The ``activity``
fact reads the running xids (visible to every role) and watches them until they end or a bound passes
(``XID_WAIT_BOUND_S``, or ``--max-xact-age`` when smaller). The rule (docs/field-notes.md, "Transactions
that block slot creation"), the same whatever the checker may see:

- fail: every prepared transaction, whatever its age (it never ends by itself); every transaction whose xid
  was still running when the watch ended (``blocking_transaction``): named by pid, user, database and
  application (visible to every role), with its state and age where the checker may see them, else "held for
  at least N s (watched)";
- warn: other transactions the checker can see that are older than ``--max-xact-age`` (``long_transaction``:
  they hold back the snapshot the slot starts from, and make it wait once they write);
- info: other roles' sessions whose state and age the checker cannot see (``sessions_not_visible``): the
  verdict does not depend on them; only whether one of them holds an old snapshot stays unknown;
- nothing: short writes, which end during the watch.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import ACTIVITY, ActivityFact, OpenTransaction, PreparedTransaction
from preflight.facts.activity import XID_WAIT_BOUND_S
from preflight.models import Finding, Remediation, Severity
from preflight.statements import Grant, Sql, advice

CODES = declare(
    Code("blocking_transaction", Severity.ERROR, "a transaction holding an xid: creating a slot waits until it ends",
         explain="End the transaction (commit, roll back, or pg_terminate_backend) before creating the slot."),
    Code("long_transaction", Severity.WARNING, "a transaction open for long",
         explain="Find out why it stays open; a consumer's slot creation waits for such transactions."),
    Code("prepared_transaction", Severity.ERROR, "a prepared transaction waits: creating a slot waits until it ends",
         explain="COMMIT PREPARED or ROLLBACK PREPARED it."),
    Code("sessions_not_visible", Severity.INFO, "the checking role cannot see other roles' sessions",
         explain="Check as a superuser or a member of pg_read_all_stats to see every session."),
)


def age(seconds: float) -> str:
    """Rounded for people, never negative: 0.5s, 45s, 12min, 3.2h."""
    seconds = max(seconds, 0.0)
    if seconds < 1:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}min" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def is_idle_in_transaction(s: OpenTransaction) -> bool:
    return (s.state or "").startswith("idle in transaction")


def held_xids(activity: ActivityFact) -> set[str]:
    """The xids still running when the watch ended; not watched (an older snapshot): every xid seen."""
    if activity.watch is None:
        return {s.xid for s in activity.sessions if s.xid}
    return set(activity.watch.held)


def terminate(pid: int) -> Sql:
    """End a session (and roll its transaction back)."""
    return Sql(sql.SQL("SELECT pg_catalog.pg_terminate_backend({});").format(sql.Literal(pid)))


class LongTransactions(Check):
    id = "long_transactions"
    report_order = 120
    title = "No transactions that block slot creation"
    facts = (ACTIVITY,)
    why = ("Creating a logical slot waits until every transaction holding an xid when it starts has ended, prepared "
           "transactions included: the consumer's setup hangs behind a prepared transaction or a session that keeps "
           "its xid (idle in transaction, or a long write) until someone ends it. A busy server's short writes end "
           "on their own: the running xids (visible to every role) are watched until they end or "
           f"{XID_WAIT_BOUND_S:.0f} s pass (--max-xact-age when smaller), and only those still running then, and "
           "prepared transactions, fail; the CDC role itself gets the same verdict as an admin. Long transactions "
           "without an xid hold back the slot's snapshot (a warning, for those the checker may see).")
    remediation = ("Commit or end the transactions (pg_terminate_backend for abandoned sessions, COMMIT PREPARED / "
                   "ROLLBACK PREPARED for prepared ones) before creating the slot; set "
                   "idle_in_transaction_session_timeout. Granting pg_read_all_stats only adds detail (state, age).")

    def run(self, ctx: CheckContext) -> Outcome:
        activity = ctx.fact(ACTIVITY)
        limit = ctx.options.max_xact_age
        held = held_xids(activity)
        watched = activity.watch.watched_s if activity.watch else 0.0
        blocking = [s for s in activity.sessions if s.xid in held]
        unlisted = sorted(held - {s.xid for s in blocking} - {p.xid for p in activity.prepared}, key=int)
        long = [s for s in activity.sessions
                if s not in blocking and not s.hidden and (s.xact_age_s or 0.0) >= limit]
        findings = [self._prepared(p) for p in activity.prepared]
        findings += [self._blocking(s, watched, activity.role) for s in blocking]
        findings += [self._unlisted(xid, watched) for xid in unlisted]
        findings += [self._long(s) for s in long]
        findings += _hidden(activity)
        parts = []
        blockers = len(activity.prepared) + len(blocking) + len(unlisted)
        if blockers:
            parts.append(f"{blockers} transaction(s) block slot creation")
        if long:
            parts.append(f"{len(long)} older than {age(limit)}")
        summary = "; ".join(parts) or f"none blocking slot creation, none older than {age(limit)}"
        if activity.watch and activity.watch.running:
            summary += (f" ({activity.watch.running} running xid(s) watched {age(watched)}, "
                        f"{len(activity.watch.held)} still held)")
        if not activity.can_see_all and activity.hidden_sessions:
            summary += f"; state and age of {activity.hidden_sessions} session(s) of other roles hidden"
        return Outcome(findings, summary)

    def _blocking(self, s: OpenTransaction, watched: float, role: str) -> Finding:
        user, app, database = s.usename or "?", s.application_name or "", s.datname or "?"
        idle = is_idle_in_transaction(s)
        if s.hidden or s.xact_age_s is None:
            observed = f"held for at least {age(watched)} (watched)"
            seen = (f"held for at least {age(watched)} (watched); its state and age are hidden from role {role} "
                    "(pg_read_all_stats shows them)")
        else:
            observed = f"{age(s.xact_age_s)} {s.state or 'unknown'}"
            seen = (f"still running after a {age(watched)} watch; its transaction has been open for "
                    f"{age(s.xact_age_s)}, state '{s.state or 'unknown'}'"
                    + (f" for {age(s.state_age_s)}" if s.state_age_s is not None else ""))
        why = "creating a slot waits until it ends" + (
            ", and an idle session ends only when its client acts." if idle else ".")
        return Finding(
            code="blocking_transaction", severity=Severity.ERROR, object=f"pid {s.pid}", observed=observed,
            expected="no transaction holding an xid",
            message=f"pid {s.pid} (user {user}, application '{app}', database {database}) holds transaction ID "
                    f"{s.xid}, {seen}: {why}",
            remediation=Remediation(steps=[advice("Ask the owner to commit or roll back, or end the session: ",
                                                  terminate(s.pid), " (rolls its work back).")]),
        )

    def _unlisted(self, xid: str, watched: float) -> Finding:
        return Finding(
            code="blocking_transaction", severity=Severity.ERROR, object=f"xid {xid}",
            observed=f"held for at least {age(watched)} (watched)", expected="no transaction holding an xid",
            message=f"Transaction ID {xid} was still running after a {age(watched)} watch, held by a session beyond "
                    "the oldest ones read: creating a slot waits until it ends.",
            remediation=Remediation(steps=[
                f"Find its session (SELECT pid FROM pg_catalog.pg_stat_activity WHERE backend_xid = '{int(xid)}';) and "
                "ask its owner to commit or roll back."]),
        )

    def _long(self, s: OpenTransaction) -> Finding:
        state = s.state or "unknown"
        idle = is_idle_in_transaction(s)
        user, app = s.usename or "?", s.application_name or ""
        xact_age = s.xact_age_s or 0.0
        why = (" It holds back the snapshot the consumer's slot starts from" +
               (", and it holds an xid: a slot created now waits for it." if s.has_xid else
                "; it makes slot creation wait only once it writes (no xid yet)."))
        return Finding(
            code="long_transaction", severity=Severity.WARNING, object=f"pid {s.pid}",
            observed=f"{age(xact_age)} {state}",
            message=f"pid {s.pid} (user {user}, application '{app}', database {s.datname or '?'}) has a "
                    f"transaction open for {age(xact_age)}, state '{state}'" +
                    (f" for {age(s.state_age_s)}" if idle and s.state_age_s is not None else "") + f".{why}",
            remediation=Remediation(steps=[
                advice("Ask the owner to commit or roll back, or end the session: ", terminate(s.pid),
                       " (rolls its work back).") if idle else "Ask the owner to commit or roll back."]),
        )

    def _prepared(self, p: PreparedTransaction) -> Finding:
        gid = p.gid
        waited = p.age_s or 0.0
        owner, database = p.owner or "?", p.database or "?"
        commit = Sql(sql.SQL("COMMIT PREPARED {};").format(sql.Literal(gid)))
        rollback = Sql(sql.SQL("ROLLBACK PREPARED {};").format(sql.Literal(gid)))
        return Finding(
            code="prepared_transaction", severity=Severity.ERROR, object=f"prepared {gid}",
            observed=f"{age(waited)}", expected="no prepared transaction",
            message=f"Prepared transaction '{gid}' (owner {owner}, database {database}, xid "
                    f"{p.xid}) has been waiting for {age(waited)}: creating a slot waits until it is "
                    "committed or rolled back, whatever its age; it never ends by itself and survives restarts.",
            remediation=Remediation(steps=[advice(
                f"Decide its outcome with the transaction manager that prepared it, then, connected to database "
                f"{database} as its owner {owner} or a superuser, run exactly one of: ", commit, " (keep its work) or ",
                rollback, " (discard it).")]),
        )


def _hidden(activity: ActivityFact) -> list[Finding]:
    """Other roles' sessions whose state and age the checker cannot see: information, not a verdict.

    Whether slot creation would wait does not depend on them (their xids are visible and were watched, and a
    blocker among them is named); what stays unknown is whether one of them holds an old snapshot.
    """
    hidden = activity.hidden_sessions
    if activity.can_see_all or not hidden:
        return []
    role = activity.role
    snapshots = activity.hidden_snapshot_sessions
    return [Finding(
        code="sessions_not_visible", severity=Severity.INFO, object="pg_stat_activity",
        observed=f"{hidden} hidden", expected="all visible",
        message=f"Could not see the state and age of {hidden} client session(s) of other roles: role {role} is not a "
                "superuser nor a member of pg_read_all_stats / pg_monitor. The verdict does not depend on them: their "
                "transaction IDs are visible to every role and were watched like any other." + (
                    f" Unknown: whether the {snapshots} of them holding a snapshot without an xid are older than "
                    "--max-xact-age (a warning for a checker that can see them)." if snapshots else ""),
        remediation=Remediation(
            sql=[Grant(role, "pg_read_all_stats", "membership")],
            steps=["Optional, as a superuser: with it the report also gives the state and age of every session."]),
    )]
