"""Can the consumer's heartbeat write what it is configured to write, and does the slot see the write?

A heartbeat (Debezium's ``heartbeat.action.query``, AWS DMS's ``HeartbeatEnable``, Airbyte's
``heartbeat_action_query``) is a periodic write in the source database: it gives the consumer a change to
confirm, so its slot moves on a quiet database. It fails unseen when its table does not exist, when the role may
not INSERT/UPDATE it, or, with pgoutput, when the consumer's publication does not carry it (the write is then
never decoded for that slot). Read from ``--consumer-config``; the table is taken from the statement only when
the statement is one of the forms understood (``preflight.consumers.heartbeat_sql``), never guessed.
"""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.consumers.model import ConsumerSettings, Heartbeat
from preflight.facts import NO_PUBLICATION_PLUGINS
from preflight.facts.heartbeat import HEARTBEAT_TABLE, HeartbeatTableRow
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.statements import Grant, PublicationChange

CODES = declare(
    Code("heartbeat_missing", Severity.WARNING, "the consumer needs a heartbeat and its configuration has none",
         explain="Configure the consumer's heartbeat (Debezium: heartbeat.interval.ms and heartbeat.action.query)."),
    Code("heartbeat_no_write", (Severity.INFO, Severity.WARNING), "the heartbeat runs without a statement: it writes "
         "nothing in the database (a warning when the consumer needs one)",
         explain="Give the heartbeat a statement that writes a table in the publication."),
    Code("heartbeat_not_understood", Severity.INFO, "the heartbeat statement's table could not be read: not judged",
         explain="Check by hand that its table exists, is writable by the role and is in the publication."),
    Code("heartbeat_table_ambiguous", Severity.INFO, "an unqualified heartbeat table exists in several schemas: "
         "not judged", explain="Schema-qualify the table in the heartbeat statement."),
    Code("heartbeat_table_missing", Severity.ERROR, "the heartbeat table does not exist",
         explain="Create the table the heartbeat statement writes (the report prints it)."),
    Code("heartbeat_table_created", Severity.INFO, "the consumer creates its heartbeat table and the role can",
         explain="Nothing to do."),
    Code("heartbeat_table_cannot_create", Severity.ERROR, "the consumer creates its heartbeat table but the role "
         "cannot", explain="GRANT CREATE ON SCHEMA to the role, or create the table for it."),
    Code("heartbeat_not_writable", Severity.ERROR, "the role may not INSERT/UPDATE the heartbeat table as the "
         "statement needs", explain="GRANT INSERT, UPDATE on the heartbeat table to the role."),
    Code("heartbeat_not_published", Severity.ERROR, "the consumer's publication does not carry the heartbeat table",
         explain="ALTER PUBLICATION ... ADD TABLE the heartbeat table."),
)


class HeartbeatCheck(Check):
    id = "heartbeat"
    report_order = 143
    title = "The consumer's heartbeat can write and is seen"
    requires = ("reachability",)
    facts = (HEARTBEAT_TABLE,)
    why = (
        "A logical slot advances only when its consumer confirms a position: on a quiet database the consumer's "
        "heartbeat (a periodic INSERT/UPDATE) is what it confirms. A heartbeat table that is missing, not writable "
        "by the CDC role, or left out of a pgoutput publication fails every beat, and the slot keeps the cluster's "
        "WAL until the disk fills."
    )
    remediation = ("Create the heartbeat table, GRANT INSERT, UPDATE on it to the CDC role, and add it to the "
                   "consumer's publication (ALTER PUBLICATION ... ADD TABLE, as the table's owner).")

    def run(self, ctx: CheckContext) -> Outcome:
        consumer = ctx.options.consumer
        if consumer is None:
            return Outcome([], "no --consumer-config: the consumer's heartbeat is not known")
        beat = consumer.heartbeat
        needs = ctx.profile.consumer.needs_heartbeat
        if beat is None:
            if not needs:
                return Outcome([], "no heartbeat configured")
            return Outcome([Finding(
                code="heartbeat_missing", severity=Severity.WARNING, object=consumer.file,
                message=f"The consumer's configuration sets no heartbeat, and profile {ctx.profile.name!r} needs one: "
                        "on a quiet database its slot keeps the cluster's WAL.",
                remediation=Remediation(steps=[f"Configure it: {self.remediation}"]))], "no heartbeat configured")
        if beat.query is None and beat.table is None:
            return Outcome([Finding(
                code="heartbeat_no_write", severity=Severity.WARNING if needs else Severity.INFO, object=beat.key,
                message=f"{beat.key} runs a heartbeat without a statement: it writes nothing in the database, so on "
                        "a quiet database the slot has no change to confirm.")], "heartbeat without a write")
        if not beat.understood or beat.table is None:
            return Outcome([Finding(
                code="heartbeat_not_understood", severity=Severity.INFO, object=beat.key, observed=beat.query,
                message=f"The statement of {beat.key} is not one pg-preflight reads (INSERT INTO t ..., UPDATE t "
                        "...): its table is not judged. Check by hand that it exists, is writable by the role and "
                        "is published.")], "heartbeat statement not understood")
        return judge(ctx, consumer, beat, ctx.fact(HEARTBEAT_TABLE))


def judge(ctx: CheckContext, consumer: ConsumerSettings, beat: Heartbeat, row: HeartbeatTableRow) -> Outcome:
    role = repr(row.judged_role)
    wanted = format_name(beat.schema_name, beat.table or "") if beat.schema_name else beat.table or ""
    if row.matches > 1:
        return Outcome([Finding(
            code="heartbeat_table_ambiguous", severity=Severity.INFO, object=wanted,
            message=f"{beat.key} writes {wanted} without a schema, and {row.matches} schemas hold a table of that "
                    "name: which one it writes depends on the session's search_path. Schema-qualify it.")],
            "heartbeat table ambiguous")
    if row.matches == 0 or row.schema is None or row.name is None:
        return _absent(beat, row, wanted, role)
    obj = format_name(row.schema, row.name)
    findings: list[Finding] = []
    refused = [w for w in beat.writes if not (row.can_insert if w == "insert" else row.can_update)]
    if refused:
        grant = Grant(row.judged_role, ", ".join(w.upper() for w in refused), object=(row.schema, row.name))
        findings.append(Finding(
            code="heartbeat_not_writable", severity=Severity.ERROR, object=obj,
            observed=f"no {', '.join(w.upper() for w in refused)}", expected=", ".join(w.upper() for w in beat.writes),
            message=f"{beat.key} writes {obj} ({', '.join(w.upper() for w in beat.writes)}), but {role} may not "
                    f"{' or '.join(w.upper() for w in refused)} it: every heartbeat fails.",
            remediation=Remediation(sql=[grant], steps=[f"Run it as the table's owner {row.owner!r}."])))
    if ctx.options.plugin not in NO_PUBLICATION_PLUGINS and not _published(ctx, consumer, row):
        name = ctx.options.publication or "the consumer's publication"
        fix = Remediation(sql=[PublicationChange(ctx.options.publication, "add", ((row.schema, row.name),))]
                          if ctx.options.publication and row.in_publication is not None else [], steps=["Add the table to the publication (or to the consumer's table include list when it "
                            "creates the publication itself, publication.autocreate.mode=filtered)."])
        findings.append(Finding(
            code="heartbeat_not_published", severity=Severity.ERROR, object=obj, expected=f"in publication {name}",
            message=f"{beat.key} writes {obj}, which {name} does not carry: pgoutput never decodes the write for "
                    "this slot, so on a quiet database the slot does not move.", remediation=fix))
    return Outcome(findings, f"heartbeat writes {obj}")


def _published(ctx: CheckContext, consumer: ConsumerSettings, row: HeartbeatTableRow) -> bool:
    """Whether the consumer's publication carries the table, as it exists or as the consumer will create it."""
    if row.in_publication is not None:
        if row.in_publication:
            return True
        selected = (row.schema, row.name) in {(t.schema, t.name) for t in ctx.options.tables}
        return consumer.autocreate == "filtered" and selected  # the connector keeps it in step with the selection
    if consumer.autocreate == "all_tables":
        return True
    if consumer.autocreate == "filtered":
        return (row.schema, row.name) in {(t.schema, t.name) for t in ctx.options.tables}
    return False  # no publication, or an empty one: the publication check says so too


def _absent(beat: Heartbeat, row: HeartbeatTableRow, wanted: str, role: str) -> Outcome:
    if beat.creates_table:
        if row.schema_exists and row.can_create_in_schema:
            return Outcome([Finding(
                code="heartbeat_table_created", severity=Severity.INFO, object=wanted,
                message=f"{wanted} does not exist yet: the consumer creates it ({beat.key}), and {role} may create "
                        "tables in that schema.")], "heartbeat table created by the consumer")
        schema = beat.schema_name or "public"
        why = "does not exist" if not row.schema_exists else f"does not let {role} CREATE in it"
        return Outcome([Finding(
            code="heartbeat_table_cannot_create", severity=Severity.ERROR, object=wanted,
            message=f"The consumer creates its heartbeat table {wanted} ({beat.key}), but schema {schema!r} {why}.",
            remediation=Remediation(sql=[Grant(row.judged_role, "CREATE", on="SCHEMA", object=schema)]
                                    if row.schema_exists else [],
                steps=["Or point the heartbeat at a schema the role may create tables in."]))],
            "heartbeat table cannot be created")
    return Outcome([Finding(
        code="heartbeat_table_missing", severity=Severity.ERROR, object=wanted, observed="absent",
        message=f"{beat.key} writes {wanted}, which does not exist: every heartbeat fails, and on a quiet database "
                "the slot does not move.",
        remediation=Remediation(steps=[
            "Create the table (with the columns the statement writes and a primary key), GRANT INSERT, UPDATE on it "
            "to the CDC role, and publish it."]))], "heartbeat table missing")
