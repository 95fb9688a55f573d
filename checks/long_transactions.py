"""Transactions that make slot creation wait, and long ones that hold back the consumer's snapshot.

Creating a logical slot (CREATE SUBSCRIPTION, CREATE_REPLICATION_SLOT, pg_create_logical_replication_slot)
waits until every transaction that holds an xid when it starts has ended. Age is irrelevant to that wait:
a prepared transaction never ends by itself, and an idle-in-transaction session ends only when its
client acts. The rule (docs/field-notes.md, "Transactions that block slot creation"):

- fail: any prepared transaction; any idle-in-transaction session holding an xid; any transaction
  holding an xid for longer than ``XID_WAIT_BOUND_S`` (or ``--max-xact-age`` if smaller);
- fail too: sessions of other roles holding an xid whose age and state the checker cannot see (without
  pg_read_all_stats): slot creation waits for them, and nothing here says they will end;
- warn: other transactions older than ``--max-xact-age`` (no xid yet: they block slot creation only
  once they write, and hold back the snapshot meanwhile); hidden sessions without an xid;
- nothing: short write transactions, which a busy server always has and which end on their own
  within the bound (slot creation waits only for those running when it starts).
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.facts import ACTIVITY, ActivityFact, OpenTransaction, PreparedTransaction
from preflight.models import Finding, Remediation, Severity
from preflight.sqltext import render

# A transaction holding an xid for longer than this is not a short write that ends on its own.
XID_WAIT_BOUND_S = 10.0


def age(seconds: float) -> str:
    """Rounded for people: 0.5s, 45s, 12min, 3.2h."""
    if seconds < 1:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}min" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def is_idle_in_transaction(s: OpenTransaction) -> bool:
    return (s.state or "").startswith("idle in transaction")


def blocks_slot_creation(s: OpenTransaction, limit: float) -> bool:
    """Holds an xid and will not end by itself soon: slot creation would wait for it."""
    if not s.has_xid:
        return False
    return is_idle_in_transaction(s) or (s.xact_age_s or 0.0) >= min(XID_WAIT_BOUND_S, limit)


class LongTransactions(Check):
    id = "long_transactions"
    report_order = 120
    title = "No transactions that block slot creation"
    facts = (ACTIVITY,)
    why = ("Creating a logical slot waits until every transaction holding an xid when it starts has ended, prepared "
           "transactions included: the consumer's setup hangs behind a prepared transaction or an idle session "
           "holding an xid until someone ends it. Long transactions without an xid hold back its snapshot.")
    remediation = ("Commit or end the transactions (pg_terminate_backend for abandoned sessions, COMMIT PREPARED / "
                   "ROLLBACK PREPARED for prepared ones) before creating the slot; set "
                   "idle_in_transaction_session_timeout.")

    def run(self, ctx: CheckContext) -> Outcome:
        activity = ctx.fact(ACTIVITY)
        limit = ctx.options.max_xact_age
        blocking = [s for s in activity.sessions if blocks_slot_creation(s, limit)]
        long = [s for s in activity.sessions if s not in blocking and (s.xact_age_s or 0) >= limit]
        findings = [self._prepared(p) for p in activity.prepared]
        findings += [self._session(s, Severity.ERROR) for s in blocking]
        findings += [self._session(s, Severity.WARNING) for s in long]
        findings += _hidden(activity)
        parts = []
        if activity.prepared or blocking:
            parts.append(f"{len(activity.prepared) + len(blocking)} transaction(s) block slot creation")
        if long:
            parts.append(f"{len(long)} older than {age(limit)}")
        summary = "; ".join(parts) or f"none blocking slot creation, none older than {age(limit)}"
        if not activity.can_see_all and activity.hidden_sessions:
            summary = f"could not see {activity.hidden_sessions} session(s) of other roles; visible: {summary}"
        return Outcome(findings, summary)

    def _session(self, s: OpenTransaction, severity: Severity) -> Finding:
        state = s.state or "unknown"
        idle = is_idle_in_transaction(s)
        if s.has_xid:
            why = (" holds a transaction ID: creating a slot waits until it ends"
                   + (", and an idle session ends only when its client acts." if idle else "."))
        else:
            why = " holds a snapshot (no xid yet: it makes slot creation wait only once it writes)."
        user, app = s.usename or "?", s.application_name or ""
        xact_age = s.xact_age_s or 0.0
        return Finding(
            code="idle_in_transaction" if idle else "long_transaction", severity=severity,
            object=f"pid {s.pid}", observed=f"{age(xact_age)} {state}",
            expected="no transaction holding an xid" if severity is Severity.ERROR else None,
            message=f"pid {s.pid} (user {user}, application '{app}', database {s.datname or '?'}) has a "
                    f"transaction open for {age(xact_age)}, state '{state}'" +
                    (f" for {age(s.state_age_s)}" if idle and s.state_age_s is not None else "") +
                    f";{why}",
            remediation=Remediation(steps=[
                "Ask the owner to commit or roll back" + (
                    f", or end the session: SELECT pg_catalog.pg_terminate_backend({s.pid}); "
                    "(rolls its work back)" if idle else "") + "."]),
        )

    def _prepared(self, p: PreparedTransaction) -> Finding:
        gid = p.gid
        waited = p.age_s or 0.0
        owner, database = p.owner or "?", p.database or "?"
        commit = render(sql.SQL("COMMIT PREPARED {};").format(sql.Literal(gid)))
        rollback = render(sql.SQL("ROLLBACK PREPARED {};").format(sql.Literal(gid)))
        return Finding(
            code="prepared_transaction", severity=Severity.ERROR, object=f"prepared {gid}",
            observed=f"{age(waited)}", expected="no prepared transaction",
            message=f"Prepared transaction '{gid}' (owner {owner}, database {database}, xid "
                    f"{p.xid}) has been waiting for {age(waited)}: creating a slot waits until it is "
                    "committed or rolled back, whatever its age; it never ends by itself and survives restarts.",
            remediation=Remediation(steps=[
                f"Decide its outcome with the transaction manager that prepared it, then, connected to database "
                f"{database} as its owner {owner} or a superuser, run exactly one of: {commit} (keep its work) or "
                f"{rollback} (discard it)."]),
        )


def _hidden(activity: ActivityFact) -> list[Finding]:
    """What the checker could not see: hidden sessions, and those of them that hold an xid.

    ``backend_xid`` is visible on every row: a hidden session holding one makes slot creation wait, and
    whether it is a short write or an idle session cannot be told without its state, so it fails
    (granting pg_read_all_stats lets the next run tell them apart).
    """
    hidden = activity.hidden_sessions
    if activity.can_see_all or not hidden:
        return []
    role = activity.role
    grant = Remediation(sql=[render(sql.SQL("GRANT pg_read_all_stats TO {};").format(sql.Identifier(role)))],
                        steps=["Run as a superuser, then check again: with it the short writes a busy server always "
                               "has are told apart from sessions that make slot creation wait."])
    out = [Finding(
        code="sessions_not_visible", severity=Severity.WARNING, object="pg_stat_activity",
        observed=f"{hidden} hidden", expected="all visible",
        message=f"Could not see {hidden} client session(s) of other roles: role {role} is not a superuser nor a "
                "member of pg_read_all_stats / pg_monitor, so their transactions' age and state read as NULL. "
                "Long transactions among them cannot be ruled out (prepared transactions are always visible).",
        remediation=grant,
    )]
    holding = activity.hidden_xid_sessions
    if holding:
        out.append(Finding(
            code="hidden_sessions_hold_xid", severity=Severity.ERROR, object="pg_stat_activity",
            observed=f"{holding} hidden session(s) holding an xid", expected="no transaction holding an xid",
            message=f"{holding} session(s) of other roles hold a transaction ID now (backend_xid is visible to every "
                    "role): creating a slot waits until they end. Whether they are short writes or idle sessions "
                    f"that never end by themselves cannot be seen by role {role}.",
            remediation=grant,
        ))
    return out
