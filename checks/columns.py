"""Does the consumer receive every column of every selected table, in a form it can read?

Generated columns are never published before PostgreSQL 18; 18 publishes stored ones only when the publication
says ``publish_generated_columns = stored``, virtual ones never. The profile's consumer documents some column
types as unsupported or lossy (its ``column_rules``, with the documentation each comes from: docs/consumers.md).
A selected table that is unlogged or temporary is never published at all: the user asked for it and will never
receive it.
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import COLUMN_HAZARDS, TABLES, ColumnHazardRow, TableRow, consumer_publication
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.pg_versions import PUBLISH_GENERATED_COLUMNS, supports
from preflight.profiles import ColumnRule, Profile
from preflight.remediation import new_alter_table, new_finding, new_remediation
from preflight.statements import PublicationChange, Statement

CODES = declare(
    Code("table_never_published", Severity.WARNING, "a selected unlogged or temporary table: no publication carries it",
         explain="ALTER TABLE ... SET LOGGED, or leave the table out of the selection."),
    Code("generated_columns_not_published", (Severity.INFO, Severity.WARNING), "generated columns are not published "
         "(info when the consumer's profile computes them)", explain="Compute them on the consumer's side."),
    Code("column_type_unsupported", (Severity.WARNING, Severity.ERROR), "a column type the consumer handles badly "
         "(severity from the consumer's profile)", explain="Follow the profile's note: cast, convert or exclude it."),
)
SEVERITY = {"warning": Severity.WARNING, "error": Severity.ERROR}


def never_published(rows: list[TableRow]) -> list[TableRow]:
    """Selected plain or partitioned tables that no publication can carry: unlogged or temporary."""
    return [r for r in rows if r.relkind in ("r", "p") and r.relpersistence in ("u", "t")]


def rule_for(column: ColumnHazardRow, rules: tuple[ColumnRule, ...]) -> ColumnRule | None:
    return next((rule for rule in rules if rule.match == column.kind), None)


class Columns(Check):
    id = "columns"
    report_order = 151
    title = "Columns and tables the consumer never receives or cannot read"
    requires = ("reachability",)
    facts = (COLUMN_HAZARDS, TABLES)
    why = (
        "Logical replication publishes no generated column before PostgreSQL 18; 18 publishes stored ones only with "
        "the publication option publish_generated_columns = stored, virtual ones never "
        "(generated_columns_not_published: the consumer must compute them). The profile's consumer documents column "
        "types it drops or reads lossily (column_type_unsupported, one rule per type class with the documentation "
        "it comes from, docs/consumers.md). An unlogged or temporary selected table is never published: the "
        "consumer never receives it (table_never_published)."
    )
    remediation = (
        "Generated columns: compute them on the consumer side, or on 18 set publish_generated_columns = stored on "
        "the publication (stored columns). Column types: the consumer's setting named in the finding, or a view "
        "casting the column. Unlogged tables: ALTER TABLE ... SET LOGGED (rewrites the table and writes all of it "
        "to WAL under an ACCESS EXCLUSIVE lock: a maintenance window for large tables); temporary tables cannot be "
        "replicated: leave them out."
    )

    def run(self, ctx: CheckContext) -> Outcome:
        columns = ctx.fact(COLUMN_HAZARDS)
        profile = ctx.profile
        unpublishable = never_published(ctx.fact(TABLES))
        findings = [_never_published(row) for row in unpublishable]
        generated = [c for c in columns if c.generated and not c.published]
        by_table: dict[str, list[ColumnHazardRow]] = {}
        for column in generated:
            by_table.setdefault(format_name(column.schema, column.name), []).append(column)
        publication = consumer_publication(ctx.options)
        findings += [_generated(key, cols, ctx.version_num, profile, publication) for key, cols in by_table.items()]
        typed = 0
        for column in columns:
            rule = rule_for(column, profile.column_rules)
            if rule is not None and not column.generated:
                typed += 1
                findings.append(_unsupported(column, rule, profile))
        summary = (f"{len(generated)} generated column(s) not published, {typed} column(s) of a type profile "
                   f"'{profile.name}' flags, {len(unpublishable)} selected table(s) never published")
        return Outcome(findings, summary)


def _never_published(row: TableRow) -> Finding:
    key = format_name(row.schema, row.name)
    if row.relpersistence == "t":
        return new_finding(
            "table_never_published", Severity.WARNING,
            f"{key} is a temporary table: it is selected, but no publication can carry it and it disappears with its "
            "session. The consumer never receives it.", key, "temporary", "permanent",
            new_remediation([], [f"Leave {key} out of the selection (temporary tables cannot be replicated)."]))
    return new_finding(
        "table_never_published", Severity.WARNING,
        f"{key} is UNLOGGED: its changes are never written to WAL, so no publication carries it (CREATE PUBLICATION "
        "... FOR TABLE refuses it; FOR ALL TABLES skips it). It is selected, and the consumer will never receive it.",
        key, "unlogged", "permanent",
        new_remediation([new_alter_table((row.schema, row.name), "SET LOGGED", None)], [
            f"The statement above rewrites {key} and writes all of it to WAL under an ACCESS EXCLUSIVE lock (reads "
            "and writes wait until it ends): run it in a maintenance window for a large table, or leave the table "
            "out of the selection."]))


def _generated(key: str, cols: list[ColumnHazardRow], version_num: int, profile: Profile,
               publication: str | None) -> Finding:
    names = ", ".join(c.column for c in cols)
    stored = [c for c in cols if c.generated == "s"]
    sql: list[Statement] = []
    if not supports(version_num, PUBLISH_GENERATED_COLUMNS):
        why = "before PostgreSQL 18 logical replication never publishes generated columns"
    elif stored and publication:
        why = (f"PostgreSQL 18 publishes stored generated columns only when the publication ({publication}) sets "
               "publish_generated_columns = stored, and virtual ones never")
        sql = [PublicationChange(publication, "set", option="publish_generated_columns", value="stored")]
    else:
        why = "PostgreSQL 18 never publishes virtual generated columns"
    if profile.computes_generated_columns:
        return Finding(code="generated_columns_not_published", severity=Severity.INFO, object=key, observed=len(cols),
                       message=f"{key}: generated column(s) {names} are not published ({why}); profile "
                               f"'{profile.name}' computes them on the subscriber, whose table must define them as "
                               "generated too (a plain column there stays NULL).")
    return Finding(
        code="generated_columns_not_published", severity=Severity.WARNING, object=key, observed=len(cols),
        message=f"{key}: generated column(s) {names} are not published ({why}): the consumer's copy and change events "
                "lack them. Whether that loses data depends on what this report cannot see: whether the consumer "
                "computes them itself.",
        remediation=Remediation(sql=sql, steps=["Compute the column(s) on the consumer side"
                                                + (", or publish stored ones with the statement above (the "
                                                   "publication's owner)." if sql else
                                                   ", or upgrade the source to PostgreSQL 18 and publish them "
                                                   "(publish_generated_columns = stored, stored columns only).")]))


def _unsupported(column: ColumnHazardRow, rule: ColumnRule, profile: Profile) -> Finding:
    key = format_name(column.schema, column.name)
    return Finding(
        code="column_type_unsupported", severity=SEVERITY[rule.severity], object=f"{key}.{format_name(column.column)}",
        observed=column.type, expected=f"no {rule.match} column",
        message=f"{key}.{format_name(column.column)} is {column.type} ({rule.match}): for the consumer ({profile.consumer.kind}) "
                f"{rule.says} (profile '{profile.name}'; source: {rule.source}). Whether it applies depends on the "
                "consumer's configuration, which this report cannot see.",
        remediation=Remediation(steps=[rule.fix or f"Leave {key} out, or cast the column in a view the consumer reads."]))
