"""At a migration's cutover, are the target's sequences set past the source's values?

Logical replication never carries sequence values: rows arrive with their ids, but the target's sequences stay
where they started, and the first INSERT after cutover collides with a replicated key. A profile that migrates
(``migration_cutover``: native subscriptions, DMS migrations) needs one step at cutover, printed here: a
read-only query on the source that writes the ``setval`` statements to run on the target.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import OWNED_SEQUENCES, OwnedSequenceRow
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.statements import Sql, advice

CODES = declare(
    Code("sequences_not_synced", Severity.WARNING, "sequences owned by selected tables are never replicated",
         explain="Set them on the target at cutover (setval from the source's values)."),
)


def sync_query(sequences: list[OwnedSequenceRow]) -> Sql:
    """A read-only query on the source whose rows are the target's ``SELECT pg_catalog.setval(...)`` statements,
    each sequence named with format('%I.%I') (the source's current values; is_called false for one never used)."""
    pairs = sql.SQL(", ").join(sql.SQL("({}, {})").format(sql.Literal(s.schema), sql.Literal(s.name))
                               for s in sequences)
    return Sql(sql.SQL(
        "SELECT pg_catalog.format('SELECT pg_catalog.setval(%L, %s, %s);', "
        "pg_catalog.format('%I.%I', s.schemaname, s.sequencename), "
        "COALESCE(s.last_value, s.start_value), (s.last_value IS NOT NULL)::pg_catalog.text) "
        "FROM pg_catalog.pg_sequences AS s WHERE (s.schemaname, s.sequencename) IN (VALUES {}) "
        "ORDER BY s.schemaname, s.sequencename;").format(pairs))


class Sequences(Check):
    id = "sequences"
    report_order = 153
    title = "Sequences at a migration's cutover"
    requires = ("reachability",)
    facts = (OWNED_SEQUENCES,)
    why = (
        "Logical replication never carries sequence values. When the target takes over (a migration cutover: a native "
        "subscription, a DMS migration), its sequences still hold their start values and the first INSERT there "
        "collides with a replicated key (sequences_not_synced). The selected tables' owned sequences (serial, identity, "
        "OWNED BY) are named, with a read-only query that writes their setval statements."
    )
    remediation = (
        "At cutover, after writes to the source stop and the consumer caught up: run the printed query on the source "
        "(as a role that may read the sequences) and run its output on the target. Leave a margin if writes may "
        "still land."
    )

    def run(self, ctx: CheckContext) -> Outcome:
        owned = ctx.fact(OWNED_SEQUENCES)
        profile = ctx.profile
        if not profile.migration_cutover:  # the fact is not even read then
            return Outcome([], f"profile '{profile.name}' is no migration cutover: sequences are not judged")
        if not owned:
            return Outcome([], "no selected table owns a sequence")
        names = [f"{format_name(s.schema, s.name)} ({format_name(s.table_schema, s.table_name, s.column)})"
                 for s in owned]
        more = f" and {len(names) - 10} more" if len(names) > 10 else ""
        finding = Finding(
            code="sequences_not_synced", severity=Severity.WARNING, observed=len(owned), count=len(owned),
            message=f"{len(owned)} sequence(s) owned by the selected tables: {', '.join(names[:10])}{more}. Logical "
                    f"replication never carries their values; at cutover (profile '{profile.name}') the target's "
                    "sequences must be set past the source's, or its first INSERT collides with a replicated key. "
                    "Whether and when the target takes over is what this report cannot see.",
            remediation=Remediation(steps=[advice(
                "At cutover, once writes to the source stopped and the consumer caught up, run this read-only query on "
                "the source and run the statements it returns on the target: ", sync_query(owned))]))
        return Outcome([finding], f"{len(owned)} owned sequence(s) to set on the target at cutover")
