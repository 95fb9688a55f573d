"""Does row-level security silently filter the initial copy of a selected table?

The consumer copies each table with a plain read as its own role. On a table with row-level security enabled,
a role that is not a superuser, lacks BYPASSRLS and does not own the table (or owns it under FORCE ROW LEVEL
SECURITY) reads only the rows its SELECT policies let through, and none without a policy: no error, the copy is
just short. Logical decoding applies no policy, so later changes arrive in full, on top of a copy with holes.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import ROLE, ROW_SECURITY, RowSecurityRow
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.statements import Sql, advice

CODES = declare(
    Code("row_security_filters_copy", Severity.ERROR, "row-level security would filter the initial copy",
         explain="Give the consumer's role BYPASSRLS, or a policy USING (true) for it."),
)

POLICY_NAME = "cdc_reads_all_rows"


def reads_filtered(row: RowSecurityRow) -> bool:
    """The judged role's reads of ``row`` go through its policies, and they may hide rows."""
    if row.bypasses is None or row.bypasses:
        return False
    if row.owns and not row.forced:
        return False
    return not row.sees_all


def policy_statement(row: RowSecurityRow, role: str) -> Sql:
    """A policy letting ``role`` read every row (the table's owner runs it)."""
    return Sql(sql.SQL("CREATE POLICY {} ON {}.{} FOR SELECT TO {} USING (true);").format(
        sql.Identifier(POLICY_NAME), sql.Identifier(row.schema), sql.Identifier(row.name), sql.Identifier(role)))


def bypass_statement(role: str) -> Sql:
    return Sql(sql.SQL("ALTER ROLE {} BYPASSRLS;").format(sql.Identifier(role)))


class RowSecurity(Check):
    id = "row_security"
    report_order = 150
    title = "Row-level security on the tables the consumer copies"
    requires = ("reachability",)
    facts = (ROW_SECURITY, ROLE)
    why = (
        "The initial copy is a plain read as the CDC role. On a table with row-level security enabled, a role that "
        "is not a superuser, has no BYPASSRLS and does not own the table (owners too under FORCE ROW LEVEL SECURITY) "
        "reads only the rows its SELECT policies let through, and no row at all without a policy: the copy succeeds "
        "with rows missing, silently (row_security_filters_copy). Logical decoding applies no policy, so later "
        "changes arrive in full, on top of a copy with holes. A policy USING (true) for the role reads everything."
    )
    remediation = (
        "Let the CDC role read every row: ALTER ROLE ... BYPASSRLS (a superuser runs it; on managed services whether "
        "the provider's admin role may grant it differs), or have each table's owner add CREATE POLICY ... FOR SELECT "
        "TO the role USING (true) (printed per table). Then re-run pg-preflight."
    )

    def run(self, ctx: CheckContext) -> Outcome:
        rows = ctx.fact(ROW_SECURITY)
        role = ctx.fact(ROLE).rolname
        filtered = [row for row in rows if reads_filtered(row)]
        findings = [self._finding(row, role) for row in filtered]
        if not rows:
            summary = "no selected table has row-level security enabled"
        else:
            summary = (f"{len(rows)} selected table(s) with row-level security; role {role} reads "
                       f"{len(rows) - len(filtered)} of them in full")
        return Outcome(findings, summary)

    @staticmethod
    def _finding(row: RowSecurityRow, role: str) -> Finding:
        key = format_name(row.schema, row.name)
        who = (f"role {role} owns it but FORCE ROW LEVEL SECURITY applies to owners too" if row.owns
               else f"role {role} does not own it (owner: {row.owner})")
        if row.policies:
            seen = (f"{row.policies} SELECT policy(ies) apply to {role}: the copy holds only the rows they let through "
                    "(which rows depends on their expressions and the data)")
        else:
            seen = f"no SELECT policy applies to {role}: the copy holds no row at all"
        message = (f"{key} has row-level security enabled, {who}, and {role} is neither a superuser nor BYPASSRLS: "
                   f"{seen}, with no error. Later changes arrive in full (logical decoding applies no policy), so the "
                   "consumer's copy of the table stays incomplete.")
        return Finding(
            code="row_security_filters_copy", severity=Severity.ERROR, object=key,
            observed=f"{row.policies} policy(ies)", expected="BYPASSRLS or a policy USING (true)", message=message,
            remediation=Remediation(sql=[policy_statement(row, role)], steps=[
                f"Run the statement above as the owner of {key} ({row.owner}): a policy that lets {role} read every "
                "row, for SELECT only.",
                advice("Or, for every table at once: ", bypass_statement(role), " (needs a superuser; on managed "
                       "services whether the provider's admin role may grant BYPASSRLS differs)."),
            ]))
