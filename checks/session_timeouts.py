"""Timeouts stored for the CDC role or the database cancel the initial copy, slot creation or the stream."""

from __future__ import annotations

import re

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.table_keys import kept
from preflight.codes import Code, declare
from preflight.facts import ROLE_SETTINGS, TABLES, RoleSettingRow
from preflight.facts.role_settings import effective
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import IDLE_SESSION_TIMEOUT, TRANSACTION_TIMEOUT, supports
from preflight.settings import human_bytes, human_ms
from preflight.statements import Sql

CODES = declare(
    Code("stored_wal_sender_timeout", (Severity.INFO, Severity.ERROR), "wal_sender_timeout stored for the role or "
         "database (an error when shorter than the profile needs)",
         explain="ALTER ROLE ... RESET wal_sender_timeout, or set it to at least the profile's minimum."),
    Code("stored_timeout_breaks_copy", Severity.ERROR, "a stored statement or transaction timeout shorter than the "
         "initial copy takes", explain="ALTER ROLE ... SET statement_timeout = 0 (or transaction_timeout) for the CDC "
         "role."),
    Code("stored_timeout", Severity.WARNING, "a stored session timeout that may cancel the consumer's sessions",
         explain="ALTER ROLE ... SET it to 0 for the CDC role, unless the consumer sets it itself."),
)

# An optimistic copy rate: a table whose copy outlasts a timeout even at this rate is certainly cancelled.
COPY_BYTES_PER_S = 200 * 1024 * 1024

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "min": 60000.0, "h": 3600000.0, "d": 86400000.0}
_VALUE = re.compile(r"^\s*'?(-?\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?'?\s*$")

# name -> (what it cancels, the oldest server version that knows it)
TIMEOUTS: dict[str, tuple[str, int]] = {
    "statement_timeout": ("cancels any statement longer than it: a table's initial COPY (one statement per table) "
                          "and a slot creation that waits for running transactions", 0),
    "transaction_timeout": ("ends any transaction longer than it: the initial copy of a table (and, for consumers "
                            "that copy every table in one snapshot transaction, the whole copy)", TRANSACTION_TIMEOUT),
    "lock_timeout": ("cancels a statement that waits for a lock longer than it: the initial copy waits behind any "
                     "ALTER TABLE or VACUUM FULL on a selected table", 0),
    "idle_in_transaction_session_timeout": ("ends a session idle inside a transaction: the session that holds the "
                                            "exported snapshot while other sessions copy the tables", 0),
    "idle_session_timeout": ("ends a session idle outside a transaction: the consumer's metadata or heartbeat "
                             "connection between uses", IDLE_SESSION_TIMEOUT),
    "wal_sender_timeout": ("ends a replication connection that does not answer within it (stored for the role or "
                           "database it overrides the server's value for the consumer's walsender)", 0),
}


def to_ms(text: str) -> float | None:
    """A stored timeout in milliseconds (the unit of every setting above when none is written)."""
    match = _VALUE.match(text)
    if not match:
        return None
    return float(match.group(1)) * _UNITS_MS[match.group(2) or "ms"]


def fix(row: RoleSettingRow, value: str = "0") -> Sql:
    """Reset the role's own setting in this database (to off); else override it for the role in this database
    only (``SET x = value``): the database's or the role's value for everyone else stays. ``row.name`` must be
    a constant of the caller's (a setting name it knows), never a name read from the server unchecked."""
    # the name is one of TIMEOUTS' (the caller's constants), written as PostgreSQL spells a setting
    role, db, name = sql.Identifier(row.rolname), sql.Identifier(row.datname), sql.SQL(row.name)
    if row.level == "role_in_database" and value == "0":
        return Sql(sql.SQL("ALTER ROLE {} IN DATABASE {} RESET {};").format(role, db, name))
    return Sql(sql.SQL("ALTER ROLE {} IN DATABASE {} SET {} = {};").format(role, db, name, sql.Literal(value)))


WHERE = {"role_in_database": "ALTER ROLE {r} IN DATABASE {d} SET", "role": "ALTER ROLE {r} SET",
         "database": "ALTER DATABASE {d} SET", "all_roles": "ALTER ROLE ALL SET"}


class SessionTimeouts(Check):
    id = "session_timeouts"
    report_order = 141
    title = "No session timeouts stored for the CDC role or database"
    facts = (ROLE_SETTINGS,)
    optional_facts = (TABLES,)
    why = (
        "Timeouts stored with ALTER ROLE/ALTER DATABASE ... SET (pg_db_role_setting) apply to every session "
        "the consumer opens, its replication connection included: statement_timeout and transaction_timeout "
        "cancel a long initial COPY or a slot creation waiting for old transactions, lock_timeout cancels a "
        "copy waiting behind DDL, idle_in_transaction_session_timeout ends the session holding the exported "
        "snapshot, idle_session_timeout ends idle helper connections, and a short wal_sender_timeout drops "
        "the stream. The consumer's own SET may not cover every session it opens."
    )
    remediation = ("Reset the timeout for the CDC role in this database (ALTER ROLE ... IN DATABASE ... RESET x), "
                   "or override it there with SET x = 0: the value stays for every other role and database.")

    def run(self, ctx: CheckContext) -> Outcome:
        winners = effective(ctx.fact(ROLE_SETTINGS))
        tables = kept(ctx.optional_fact(TABLES) or [], ctx.options.decisions)
        largest = max((t.size_bytes for t in tables), default=0)
        findings: list[Finding] = []
        for name, (cancels, since) in TIMEOUTS.items():
            row = winners.get(name)
            if row is None or not supports(ctx.version_num, since):
                continue
            ms = to_ms(row.value)
            if ms is None or ms <= 0:
                continue
            findings.append(self._finding(ctx, row, ms, cancels, largest))
        if not findings:
            return Outcome([], "no session timeout stored for the role or database")
        return Outcome(findings, ", ".join(f"{f.object}={f.observed}" for f in findings))

    @staticmethod
    def _finding(ctx: CheckContext, row: RoleSettingRow, ms: float, cancels: str, largest: int) -> Finding:
        set_by = WHERE[row.level].format(r=row.rolname, d=row.datname)
        copy_ms = largest / COPY_BYTES_PER_S * 1000
        severity = Severity.WARNING
        if row.name == "wal_sender_timeout":
            severity = Severity.INFO if ms >= ctx.profile.wal_sender_timeout_min_ms else Severity.ERROR
            verdict = (f"profile '{ctx.profile.name}' needs at least {human_ms(ctx.profile.wal_sender_timeout_min_ms)}"
                       if severity is Severity.ERROR else "long enough for the profile")
        elif row.name in ("statement_timeout", "transaction_timeout") and copy_ms > ms:
            severity = Severity.ERROR
            verdict = (f"the largest selected table ({human_bytes(largest)}) takes at least {human_ms(copy_ms)} to copy "
                       f"even at {human_bytes(COPY_BYTES_PER_S)}/s")
        else:
            verdict = ("whether it fires depends on the copy's duration, locks and idle periods, which this report "
                       "cannot see")
        if row.name == "wal_sender_timeout":
            code, value = "stored_wal_sender_timeout", f"{ctx.profile.wal_sender_timeout_min_ms}ms"
        else:
            code = "stored_timeout_breaks_copy" if severity is Severity.ERROR else "stored_timeout"
            value = "0"
        steps = ([] if severity is Severity.INFO else
                 ["If the consumer sets this itself at connect (options=-c ...), check that every session it opens, "
                  "the replication connection included, does."])
        return Finding(
            code=code, severity=severity, object=row.name, observed=row.value, expected="0 (off) for the CDC role",
            message=f"{row.name} = {row.value} is stored for role {row.rolname} in database {row.datname} "
                    f"({set_by}): it {cancels}; {verdict}.",
            remediation=Remediation(sql=[] if severity is Severity.INFO else [fix(row, value)], steps=[*steps]),
        )
