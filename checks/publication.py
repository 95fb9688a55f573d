"""Does the publication the consumer will use exist, publish every operation and cover the selection?

pgoutput streams only what a publication names. A missing table silently never replicates; a
publication named with ``--publication`` that does not exist fails the consumer's streaming; an
insert-only publication silently drops updates and deletes (a consumer that wants only inserts by
design waives ``publication_operations``); 15+ column lists and row filters that leave replica
identity columns out make UPDATE/DELETE fail on the source. A fix never takes a member away: a column
list is changed for that member alone (``replace_member``), never with SET TABLE. Without ``--publication`` the
publication this check's own script creates (``cdc_publication``) is recognised once it exists. The
checker never creates or alters a publication: it prints the SQL, and says who can run it; a
statement that would publish a table without a replica identity waits for that table's fix. The operations
required are the profile's consumer's (insert, update and delete unless it says otherwise); a consumer whose profile
needs publish_via_partition_root fails while it is off (partition_root_required).
A consumer that creates its publication itself (``--consumer-config``: Debezium's ``publication.autocreate.mode``)
is judged on whether its role can: FOR ALL TABLES needs a superuser, FOR TABLE the tables' ownership.
"""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.table_keys import TableKeys, kept, problem_of
from preflight.codes import Code, declare
from preflight.facts import (
    DEFAULT_NAME,
    NO_PUBLICATION_PLUGINS,
    PUBLICATIONS,
    TABLES,
    PublicationMember,
    PublicationRow,
    PublicationsFact,
    TableRow,
)
from preflight.models import Finding, FindingRef, Remediation, Severity
from preflight.names import format_name
from preflight.relations import publishable_rows
from preflight.sqltext import SqlName
from preflight.statements import PublicationChange, Sql, Statement, advice
from preflight.unvalidated import builder

CODES = declare(
    Code("publication_not_needed", Severity.INFO, "the output plugin does not use publications",
         explain="Filter tables in the consumer."),
    Code("publication_recognised", Severity.INFO, "no --publication given: the tool's default publication exists",
         explain="Configure the consumer with that publication name."),
    Code("table_not_in_publication", Severity.ERROR, "a selected table is not in the consumer's publication",
         explain="ALTER PUBLICATION ... ADD TABLE."),
    Code("publish_via_partition_root_off", Severity.INFO, "partitioned tables' changes arrive under the leaves' names",
         explain="Set publish_via_partition_root = true if the consumer expects the parent's name."),
    Code("publication_no_truncate", Severity.INFO, "the publication does not publish TRUNCATE",
         explain="Nothing, unless the consumer must see truncates: then ALTER PUBLICATION ... SET (publish = ...)."),
    Code("publication_operations", Severity.ERROR, "the publication leaves out INSERT, UPDATE or DELETE",
         explain="ALTER PUBLICATION ... SET (publish = 'insert, update, delete')."),
    Code("column_list_omits_key", (Severity.WARNING, Severity.ERROR), "a column list leaves out replica identity "
         "columns (an error when UPDATE/DELETE are published)", explain="Add the identity columns to the column list."),
    Code("row_filter", (Severity.WARNING, Severity.ERROR), "a row filter: other rows are never replicated (an error "
         "when it reads columns outside the replica identity while UPDATE/DELETE are published)",
         explain="Check the filter is what the consumer wants, and that it reads only replica identity columns."),
    Code("nothing_to_publish", (Severity.INFO, Severity.ERROR), "the selection holds no publishable table (an error "
         "when the named publication does not exist)", explain="Select tables, or create them first."),
    Code("publication_can_create", (Severity.INFO, Severity.ERROR), "no usable publication; the role can create it "
         "(an error when the named publication does not exist)", explain="Run the CREATE PUBLICATION printed."),
    Code("publication_cannot_create", (Severity.WARNING, Severity.ERROR), "no usable publication, and the role cannot "
         "create it (an error when the named publication does not exist)",
         explain="A table owner (or a superuser) runs the CREATE PUBLICATION printed."),
    Code("partition_root_required", Severity.ERROR, "the consumer needs publish_via_partition_root = true and it is off",
         explain="ALTER PUBLICATION ... SET (publish_via_partition_root = true) before the consumer starts."),
    Code("publication_autocreated", Severity.INFO, "the consumer creates the missing publication and its role can",
         explain="Nothing to do: the consumer creates it at its start."),
    Code("publication_autocreate_denied", Severity.ERROR, "the consumer would create the publication but its role cannot",
         explain="Create the publication printed as a table owner or superuser, or give the role what it needs."),
    Code("publication_autocreate_empty", Severity.ERROR, "the consumer creates an empty publication: no table replicates",
         explain="Set publication.autocreate.mode to filtered or all_tables, or create the publication yourself."),
    Code("publication_autocreate_conflict", Severity.ERROR, "autocreate mode filtered meets a FOR ALL TABLES publication",
         explain="Use another publication name, or set publication.autocreate.mode to disabled."),
    Code("publication_autocreate_updates", Severity.INFO, "autocreate mode filtered: the consumer sets the "
         "publication's tables itself", explain="Nothing to do: its role owns the tables."),
)

OPS = ("insert", "update", "delete", "truncate")
Name = tuple[str, str]


def publishable(ctx: CheckContext) -> list[TableRow]:
    """Selected persistent tables (and, 13+, partitioned tables) not decided ``exclude`` (nor their partitions)."""
    return publishable_rows(kept(ctx.fact(TABLES), ctx.options.decisions), ctx.version_num)


def roots_only(tables: list[TableRow]) -> list[TableRow]:
    """Drop partitions whose parent is in the list: adding the parent publishes them."""
    parents = {(t.schema, t.name) for t in tables if t.relkind == "p"}  # a partition's parent is partitioned
    return [t for t in tables if not (t.is_partition and (t.parent_schema, t.parent_name) in parents)]


new_ref = builder(FindingRef, "check", "object")  # one per unkeyed table: no validation of typed values


def unkeyed_first(tables: list[TableRow]) -> list[FindingRef]:
    """Publishing a table without a replica identity breaks its UPDATE/DELETE at once: its table_keys
    finding must be fixed first (a partitioned table's leaves are in the list with it)."""
    return [new_ref(TableKeys.id, format_name(t.schema, t.name)) for t in tables
            if problem_of(t) is not None]


def descendants(tables: list[TableRow], listed: list[TableRow]) -> list[TableRow]:
    """``listed`` and every table of ``tables`` below one of them (adding a parent publishes its partitions)."""
    names = {(t.schema, t.name) for t in listed}
    grew = True
    while grew:
        below = {(t.schema, t.name) for t in tables if (t.parent_schema, t.parent_name) in names}
        grew = not below <= names
        names |= below
    return [t for t in tables if (t.schema, t.name) in names]


def _names(tables: list[TableRow]) -> tuple[SqlName, ...]:
    return tuple([(t.schema, t.name) for t in tables])


def create_statement(name: str, tables: list[TableRow]) -> PublicationChange:
    with_root = any(t.relkind == "p" for t in tables)
    return PublicationChange(name, "create", _names(tables), via_root=with_root)


def add_statement(name: str, tables: list[TableRow]) -> PublicationChange:
    return PublicationChange(name, "add", _names(tables))


class PublicationCheck(Check):
    id = "publication"
    report_order = 100
    title = "Publication covers the selection"
    requires = ("reachability",)
    facts = (PUBLICATIONS, TABLES)
    why = (
        "pgoutput streams only the tables its publication names and only the operations it publishes: a table "
        "left out never replicates, and nobody notices until the data is missing downstream."
    )
    remediation = ("ALTER PUBLICATION ... ADD TABLE, or CREATE PUBLICATION ... FOR TABLE run by the tables' owner. "
                   "A member's column list changes by DROP TABLE then ADD TABLE of that member in one transaction, "
                   "never SET TABLE (it replaces every other member: they would stop replicating); switching "
                   "publish_via_partition_root is a choice for before any subscriber uses the publication.")

    def run(self, ctx: CheckContext) -> Outcome:
        plugin = ctx.options.plugin
        if plugin in NO_PUBLICATION_PLUGINS:
            return Outcome([Finding(code="publication_not_needed", severity=Severity.INFO, object=plugin,
                                    message=f"Plugin {plugin!r} does not use publications: it decodes every table "
                                            "of the database (filter tables in the consumer).")],
                           f"not needed with {plugin}")
        fact = ctx.fact(PUBLICATIONS)
        tables = publishable(ctx)
        name = ctx.options.publication or DEFAULT_NAME
        pub = next((p for p in fact.publications if p.pubname == name), None)
        consumer = ctx.options.consumer
        autocreate = consumer.autocreate if consumer is not None else "disabled"
        if pub is not None:
            sets_tables = autocreate == "filtered" and not pub.puballtables and can_set_tables(fact, pub, tables)
            outcome = judge_existing(ctx, pub, fact.members, tables, consumer_sets_tables=sets_tables)
            if autocreate == "filtered" and pub.puballtables:
                outcome.findings.append(Finding(
                    code="publication_autocreate_conflict", severity=Severity.ERROR, object=name,
                    observed="FOR ALL TABLES", expected="FOR TABLE (publication.autocreate.mode=filtered)",
                    message=f"Publication {name!r} is FOR ALL TABLES, but the consumer's configuration "
                            "(publication.autocreate.mode=filtered) keeps its publication to the selected tables: "
                            "Debezium refuses to start on it.",
                    remediation=Remediation(steps=[
                        "Set publication.autocreate.mode=all_tables (the publication is used as it is), or drop "
                        "the publication so that the connector creates it FOR TABLE the selected tables."])))
            return outcome
        if autocreate != "disabled":
            return autocreated(fact, tables, name, autocreate)
        return creation(fact, tables, ctx.options.publication)


def judge_existing(ctx: CheckContext, pub: PublicationRow, members: list[PublicationMember],
                   tables: list[TableRow], consumer_sets_tables: bool = False) -> Outcome:
    """``consumer_sets_tables``: the consumer sets the publication's tables to the selection when it starts
    (``can_set_tables``), so a missing table is its to add, not a failure."""
    name = pub.pubname
    findings = operations(pub, members, ctx.profile.consumer.operations)
    if ctx.options.publication is None:
        findings.append(Finding(
            code="publication_recognised", severity=Severity.INFO, object=name,
            message=f"No --publication given: publication {name!r} (the name this tool's script creates) exists and "
                    "is judged as the consumer's. Configure the consumer with that name."))
    covered: set[Name] = set()
    for m in members:
        covered.add((m.schema, m.name))
        covered.update((r[0], r[1]) for r in m.related or [])
    missing = [t for t in tables if (t.schema, t.name) not in covered]
    add = roots_only(missing)
    for t in [] if consumer_sets_tables else missing:
        obj = format_name(t.schema, t.name)
        fix = (Remediation(sql=[add_statement(name, [t])], after=unkeyed_first(descendants(tables, [t])))
               if t in add else
               Remediation(steps=[f"Added with its parent {format_name(t.parent_schema or '', t.parent_name or '')}."]))
        findings.append(Finding(code="table_not_in_publication", severity=Severity.ERROR, object=obj,
                                observed="not published", expected=f"in publication {name}",
                                message=f"Table {obj} is selected but publication {name!r} does not include it: "
                                        "its changes would never reach the consumer.", remediation=fix))
    if not pub.pubviaroot and any(t.relkind == "p" for t in tables):
        statement = PublicationChange(name, "set", option="publish_via_partition_root", value="true")
        if ctx.profile.publish_via_partition_root:
            findings.append(partition_root_required(ctx, name, statement))
        else:
            findings.append(Finding(
                code="publish_via_partition_root_off", severity=Severity.INFO, object=name, observed=False,
                message=f"Publication {name!r} has publish_via_partition_root = false: changes of partitioned tables "
                        "arrive under each leaf partition's name. Set it to true if the consumer expects the parent's name.",
                remediation=Remediation(steps=[advice(
                    "A choice, not a fix: only if the consumer expects the parent's name, and before any subscriber uses "
                    "the publication (a subscription already receiving the leaves stops receiving them until ALTER "
                    "SUBSCRIPTION ... REFRESH PUBLICATION, and PostgreSQL warns that the switch can lose or duplicate "
                    "rows): ", statement)])))
    for m in members:  # every member: a bad column list breaks the source whether or not it is selected
        findings += filters(pub, m)
    summary = (f"publication {name!r}: {len(tables) - len(missing)}/{len(tables)} selected tables covered; publishes "
               + (", ".join(op for op in OPS if pub.publishes(op)) or "nothing"))
    if consumer_sets_tables and missing:
        findings.append(Finding(
            code="publication_autocreate_updates", severity=Severity.INFO, object=name,
            message=f"Publication {name!r} lacks {len(missing)} selected table(s); the consumer's configuration "
                    "(publication.autocreate.mode=filtered) sets its tables to the selection when it starts, and role "
                    f"{ctx.fact(PUBLICATIONS).judged_role!r} can (it owns the publication and the tables)."))
        summary += "; the consumer sets its tables"
    return Outcome(findings, summary)


def partition_root_required(ctx: CheckContext, name: str, statement: PublicationChange) -> Finding:
    """The profile's consumer needs partitioned tables under the root's name (Estuary, Sequin document it)."""
    source = ctx.profile.source_of("publish_via_partition_root")
    said = f" ({source.source})" if source is not None else ""
    return Finding(
        code="partition_root_required", severity=Severity.ERROR, object=name, observed=False, expected=True,
        message=f"Publication {name!r} has publish_via_partition_root = false and the selection holds partitioned "
                f"tables: profile '{ctx.profile.name}' needs it true{said}, or its consumer sees each leaf partition "
                "instead of the table it captures.",
        remediation=Remediation(sql=[statement], steps=[
            "Before the consumer uses the publication: a subscriber already receiving the leaves must refresh, and "
            "PostgreSQL warns that switching while changes stream can lose or duplicate rows."]))


def operations(pub: PublicationRow, members: list[PublicationMember],
               expected_ops: tuple[str, ...] = OPS[:3]) -> list[Finding]:
    """The operations the consumer expects (``expected_ops``: insert, update and delete by default) are required: one left
    out is silently lost.

    Adding UPDATE/DELETE makes them fail on the source for every member without a replica identity:
    the statement waits for those tables' fixes.
    """
    name = pub.pubname
    required = [op for op in OPS if op in expected_ops]
    off = [op for op in required if not pub.publishes(op)]
    if not off:
        return [] if pub.pubtruncate else [Finding(
            code="publication_no_truncate", severity=Severity.INFO, object=name,
            message=f"Publication {name!r} does not publish TRUNCATE: truncates on the source are not replicated.")]
    wanted = ", ".join(op for op in OPS if op != "truncate" or pub.pubtruncate or op in required)
    unkeyed = [new_ref(TableKeys.id, format_name(m.schema, m.name)) for m in members
               if m.identity_columns is None]
    fix = Remediation(sql=[PublicationChange(name, "set", option="publish", value=wanted)],
                      after=unkeyed if off != ["insert"] else [],
        steps=["A consumer that wants only these operations by design: waive publication_operations for "
               f"{name} instead (a [[tool.pg-preflight.waivers]] entry in the config file)."])
    identity = ""
    if "update" in off and "delete" in off:
        identity = (" It is insert-only: tables without a replica identity cannot break UPDATE/DELETE on the source "
                    "through it yet, so a missing replica identity is only a warning until it publishes them.")
    return [Finding(code="publication_operations", severity=Severity.ERROR,
                    object=name, observed=", ".join(op for op in OPS if pub.publishes(op)) or "nothing",
                    expected=", ".join(required),
                    message=f"Publication {name!r} does not publish {', '.join(off)}: those changes never reach the "
                            f"consumer, silently.{identity}", remediation=fix)]


def filters(pub: PublicationRow, member: PublicationMember) -> list[Finding]:
    """15+: a column list must keep the replica identity columns, a row filter may read only them, when the
    publication publishes UPDATE or DELETE (PostgreSQL refuses them on the source otherwise)."""
    obj = format_name(member.schema, member.name)
    changes = pub.pubupdate or pub.pubdelete
    out: list[Finding] = []
    keys, columns = member.identity_columns or [], member.attnames
    left_out = [k for k in keys if columns is not None and k not in columns]
    if left_out:
        fix = replace_member(pub.pubname, member, [*(columns or []), *left_out])
        out.append(Finding(
            code="column_list_omits_key", severity=Severity.ERROR if changes else Severity.WARNING, object=obj,
            observed=", ".join(columns or []), expected=f"includes {', '.join(keys)}",
            message=f"Publication {pub.pubname!r} publishes only columns ({', '.join(columns or [])}) of {obj}, "
                    f"leaving out replica identity column(s) {', '.join(left_out)}"
                    + (": UPDATE/DELETE on the table fail on the source (\"Column list used by the publication "
                       "does not cover the replica identity\")." if changes else "; the consumer cannot key its rows."),
            remediation=Remediation(sql=[fix], steps=[
                f"The transaction gives {obj} the same membership with the identity columns added to its column list "
                "(its row filter kept); every other member of the publication is left as it is (never ALTER "
                "PUBLICATION ... SET TABLE, which replaces them all). The table stays published: a subscription keeps "
                "receiving it and every other member, no REFRESH PUBLICATION needed; a subscriber that already copied "
                f"{obj} without these columns holds rows without them and must copy it again."])))
    if member.rowfilter:
        outside = [c for c in member.rowfilter_columns or [] if c not in keys]
        breaks = changes and (bool(outside) or member.rowfilter_columns is None)
        known = member.rowfilter_columns is not None
        if changes and outside:
            text = (f", and it reads column(s) {', '.join(outside)} outside the replica identity: UPDATE/DELETE on the "
                    "table fail on the source (\"Column used in the publication WHERE expression is not part of the "
                    "replica identity\").")
        elif breaks:
            text = ", and the filter may use only replica identity columns or UPDATE/DELETE fail on the source."
        else:
            text = "."
        filter_fix = Remediation(steps=[
            f"Rewrite the filter to read only replica identity columns ({', '.join(keys) or 'none'}), or drop it, in "
            f"one transaction: ALTER PUBLICATION ... DROP TABLE {obj}; then ALTER PUBLICATION ... ADD TABLE {obj} "
            "with its column list and the new WHERE (...); COMMIT (never SET TABLE: it replaces every other member "
            "of the publication). Or widen the replica identity (REPLICA IDENTITY FULL covers every column)."]
        ) if changes and outside else Remediation()
        out.append(Finding(
            code="row_filter", severity=Severity.ERROR if changes and known and outside else Severity.WARNING,
            object=obj, observed=member.rowfilter,
            message=f"Publication {pub.pubname!r} filters {obj} with WHERE {member.rowfilter}: other rows are "
                    f"never replicated{text}", remediation=filter_fix))
    return out


def replace_member(publication: str, member: PublicationMember, columns: list[str]) -> Sql:
    """One transaction that changes only ``member``'s column list: DROP TABLE then ADD TABLE with the new
    columns and its row filter as the server wrote it (``pg_get_expr``, re-read as pg_dump does). Never
    ``SET TABLE``: it replaces the publication's whole list, tables and schemas, and drops the rest."""
    pub, table = sql.Identifier(publication), sql.Identifier(member.schema, member.name)
    listed = sql.SQL("{} ({})").format(table, sql.SQL(", ").join(sql.Identifier(c) for c in columns))
    if member.rowfilter:
        listed = sql.SQL("{} WHERE ({})").format(listed, sql.SQL(member.rowfilter))
    return Sql(sql.SQL("BEGIN;\nALTER PUBLICATION {} DROP TABLE {};\nALTER PUBLICATION {} ADD TABLE {};\nCOMMIT;").format(
        pub, table, pub, listed))


def creation(fact: PublicationsFact, tables: list[TableRow], requested: str | None) -> Outcome:
    """No usable publication: print the CREATE PUBLICATION and say whether the judged role can run it."""
    target = requested or DEFAULT_NAME
    head = (f"Publication {requested!r} does not exist: the consumer's streaming would fail with "
            f"'publication \"{requested}\" does not exist'." if requested else "No --publication given.")
    severity = Severity.ERROR if requested else None
    if not tables:
        return Outcome([Finding(code="nothing_to_publish", severity=severity or Severity.INFO, object=requested,
                                message=f"{head} The selection holds no publishable table.")], "nothing to publish")
    listed = roots_only(tables)
    statement = create_statement(target, listed)
    first = unkeyed_first(tables)
    role, superuser, can_db = fact.judged_role, fact.judged_role_is_superuser, fact.judged_role_can_create
    not_owned = [t for t in listed if not t.judged_role_owns]
    owners = sorted({t.owner for t in listed})
    name_note = "" if requested else f" (named {target!r} here: use the name your consumer expects)"
    if superuser or (can_db and not not_owned):
        return Outcome([Finding(
            code="publication_can_create", severity=severity or Severity.INFO, object=target,
            message=f"{head} Role {role!r} can create a publication{name_note} for the {len(tables)} selected table(s).",
            remediation=Remediation(sql=[statement], after=first))], f"{role} can create the publication")
    reasons = []
    steps = []
    if not can_db:
        reasons.append(f"{role!r} lacks CREATE on the database")
    if not_owned:
        shown = ", ".join(format_name(t.schema, t.name) for t in not_owned[:5])
        more = f" and {len(not_owned) - 5} more" if len(not_owned) > 5 else ""
        reasons.append(f"{role!r} does not own {shown}{more} (FOR TABLE needs ownership of every table)")
    if len(owners) == 1:
        steps.append(f"Run it as the tables' owner {owners[0]!r} (it also needs CREATE on the database), or as a superuser.")
    else:
        steps.append(f"The tables have different owners ({', '.join(owners)}): run it as a role that is a member of "
                     "all of them, or as a superuser / the provider's admin role.")
    steps.append("FOR ALL TABLES and FOR TABLES IN SCHEMA need a superuser.")
    return Outcome([Finding(
        code="publication_cannot_create", severity=severity or Severity.WARNING, object=target,
        observed="; ".join(reasons),
        message=f"{head} Role {'; '.join(reasons)}, so it cannot create the publication{name_note}: "
                f"a table owner must run the statement below.",
        remediation=Remediation(sql=[statement], steps=[*steps], after=first))], f"{role} cannot create the publication")


def can_set_tables(fact: PublicationsFact, pub: PublicationRow, tables: list[TableRow]) -> bool:
    """publication.autocreate.mode=filtered on an existing publication: the connector sets its tables to the
    captured ones when they differ (ALTER PUBLICATION ... SET TABLE), which its role can do as a superuser, or as
    the publication's owner owning every table."""
    return fact.judged_role_is_superuser or (pub.owner == fact.judged_role and all(t.judged_role_owns for t in tables))


def autocreated(fact: PublicationsFact, tables: list[TableRow], name: str, mode: str) -> Outcome:
    """The consumer creates the missing publication itself (Debezium's publication.autocreate.mode): FOR ALL
    TABLES needs a superuser, FOR TABLE the ownership of every table (and CREATE on the database), an empty one
    CREATE on the database, and then publishes nothing until tables are added."""
    role, superuser, can_db = fact.judged_role, fact.judged_role_is_superuser, fact.judged_role_can_create
    listed = roots_only(tables)
    how = {"all_tables": f"CREATE PUBLICATION {name} FOR ALL TABLES", "no_tables": f"CREATE PUBLICATION {name}",
           "filtered": f"CREATE PUBLICATION {name} FOR TABLE <the {len(listed)} selected tables>"}[mode]
    head = (f"Publication {name!r} does not exist: the consumer creates it "
            f"(publication.autocreate.mode={mode}: {how}).")
    not_owned = [t for t in listed if not t.judged_role_owns]
    if mode == "all_tables" and not superuser:
        reason = f"{role!r} is not a superuser (FOR ALL TABLES needs one)"
    elif mode == "filtered" and not superuser and (not can_db or not_owned):
        shown = ", ".join(format_name(t.schema, t.name) for t in not_owned[:5])
        more = f" and {len(not_owned) - 5} more" if len(not_owned) > 5 else ""
        reason = "; ".join(r for r in (
            "" if can_db else f"{role!r} lacks CREATE on the database",
            f"{role!r} does not own {shown}{more} (FOR TABLE needs ownership of every table)" if not_owned else "")
            if r)
    elif not superuser and not can_db:
        reason = f"{role!r} lacks CREATE on the database"
    else:
        if mode == "no_tables" and tables:
            return Outcome([Finding(
                code="publication_autocreate_empty", severity=Severity.ERROR, object=name,
                message=f"{head} It publishes no table: the {len(tables)} selected table(s) never replicate until "
                        "they are added to it.",
                remediation=Remediation(sql=[add_statement(name, listed)], after=unkeyed_first(tables)))],
                f"{role} creates an empty publication")
        return Outcome([Finding(code="publication_autocreated", severity=Severity.INFO, object=name,
                                message=f"{head} Role {role!r} can.")], f"{role} can create the publication")
    statement: Statement = (create_statement(name, listed) if listed
                            else Sql(sql.SQL("CREATE PUBLICATION {};").format(sql.Identifier(name))))
    return Outcome([Finding(
        code="publication_autocreate_denied", severity=Severity.ERROR, object=name, observed=reason,
        message=f"{head} Role {reason}: the connector fails when it starts.",
        remediation=Remediation(sql=[statement], after=unkeyed_first(tables), steps=[
            "Create the publication beforehand as the tables' owner (or a superuser) and set "
            "publication.autocreate.mode=disabled, or give the role what the mode needs."]))],
        f"{role} cannot create the publication")
