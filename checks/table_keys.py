"""Can every selected table be published without breaking UPDATE/DELETE on the source?

A published table with no replica identity (default without a primary key, NOTHING, or USING INDEX
whose index is gone) makes UPDATE and DELETE fail on the source. Every such table needs a decision;
``--decisions`` settles them. Partitioned tables are judged on their leaves and, when the consumer's
publication publishes through the root (publish_via_partition_root, as the printed CREATE PUBLICATION
does), on the root too: the subscriber applies changes with the root's replica identity.

The judged set is what the consumer receives: the selection plus every table the consumer's existing
publication publishes outside it (FOR ALL TABLES, FOR TABLES IN SCHEMA). PostgreSQL refuses UPDATE and
DELETE on a table without identity in ANY publication that publishes them, consumed or not: such tables
in other publications are reported as warnings (the source is broken already; this consumer is not).

A decision is a promise, judged against the table as it is now: ``add_pk`` fails until the key is the
table's identity; ``replica_identity_full`` fails until it is applied, unless the profile's consumer applies
it itself during its setup. Under FULL a native subscriber finds the row to change by comparing every
column: a column type without a default equality operator (json, xml, point, ...) stops the subscription,
so for a consumer whose profile says so FULL is no identity at all. A consumer can ask for more than PostgreSQL
does (the profile's ``consumer.identity``): REPLICA IDENTITY FULL on every table (Materialize), a primary key whatever
the identity (Airbyte's CDC), or a primary key or FULL (ClickPipes); a table short of it fails for that consumer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import (
    EXTENSION_TABLES,
    NOT_REPLICATED,
    PUBLICATIONS,
    PUBLISHED_TABLES,
    TABLES,
    ExtensionTablesRow,
    NotReplicatedFact,
    PublicationsFact,
    TableRow,
    consumer_publication,
)
from preflight.facts.spelling import NAMES_NEARBY
from preflight.models import (
    Decision,
    Finding,
    Persistence,
    Remediation,
    ReplicaIdentity,
    Report,
    Severity,
    TableEntry,
    TableKind,
    TableStatus,
)
from preflight.names import format_name
from preflight.pg_versions import PARTITIONED_PUBLICATION, PUBLISH_GENERATED_COLUMNS, supports
from preflight.profiles import Profile
from preflight.relations import has_usable_identity
from preflight.remediation import new_alter_table, new_finding, new_remediation
from preflight.statements import AlterTable, Statement
from preflight.suggest import hinted, near_relations
from preflight.unvalidated import builder

# A selected table with no usable replica identity, by why (the finding's code).
MISSING_IDENTITY = {
    "no_replica_identity": "has no primary key and REPLICA IDENTITY DEFAULT, so it has no replica identity",
    "replica_identity_nothing": "has REPLICA IDENTITY NOTHING",
    "replica_identity_index_missing": "has REPLICA IDENTITY USING INDEX but that index no longer exists (acts as NOTHING)",
}
CODES = declare(
    Code("decision_matches_no_table", Severity.WARNING, "a decision in the decisions file names no selected table",
         explain="Fix the name in the decisions file (names are case-sensitive) or remove the decision."),
    Code("table_missing", Severity.ERROR, "a selected table does not exist in this database",
         explain="Fix the table name (case-sensitive) in the selection, or create the table."),
    Code("exclusion_not_applied", Severity.ERROR, "a table decided 'exclude' is published anyway",
         explain="Drop the table from the publication (ALTER PUBLICATION ... DROP TABLE)."),
    Code("unkeyed_in_other_publication", Severity.WARNING, "an unkeyed table's UPDATE/DELETE already fail on the source "
         "because another publication publishes them", explain="Give the table a replica identity, or stop "
         "publishing its UPDATE/DELETE."),
    *(Code(problem, (Severity.WARNING, Severity.ERROR), f"a selected table {text.split(', so')[0]}: UPDATE and DELETE "
           "fail on the source once it is published (a warning while its publication publishes neither)",
           explain="Add a primary key, use a unique index on NOT NULL columns as REPLICA IDENTITY, decide REPLICA "
                   "IDENTITY FULL, or exclude the table: 'pg-preflight decisions' writes a decisions template.")
      for problem, text in MISSING_IDENTITY.items()),
    Code("decision_not_needed", Severity.INFO, "a decision for a table that already has a usable replica identity",
         explain="Remove the decision from the decisions file: nothing needs doing."),
    Code("decided_replica_identity_full", (Severity.WARNING, Severity.ERROR), "REPLICA IDENTITY FULL was decided but "
         "not applied (a warning when the consumer applies it itself)",
         explain="Run the ALTER TABLE ... REPLICA IDENTITY FULL the report prints."),
    Code("decided_add_pk", (Severity.WARNING, Severity.ERROR), "a primary key was decided but not added yet "
         "(a warning when the table's publications publish neither UPDATE nor DELETE)",
         explain="Add the primary key (ALTER TABLE ... ADD PRIMARY KEY) before the consumer starts."),
    Code("full_identity_without_equality", (Severity.WARNING, Severity.ERROR), "REPLICA IDENTITY FULL, applied or "
         "decided, over a column type with no equality operator: this consumer cannot find the row",
         explain="Give the table a key identity (a primary key, or a unique index on NOT NULL columns with REPLICA "
                 "IDENTITY USING INDEX), or exclude it."),
    Code("not_publishable", Severity.INFO, "selected relations no publication can carry (views, foreign, unlogged, ...)",
         explain="Nothing: they will not replicate; copy them another way if the consumer needs them."),
    Code("partitioned_table", Severity.INFO, "a partitioned table: its leaves are judged, the publication chooses names",
         explain="Choose publish_via_partition_root on the publication."),
    Code("ddl_not_replicated", Severity.INFO, "logical replication never carries DDL",
         explain="Apply schema changes on the consumer's side yourself."),
    Code("unchanged_toast_not_sent", Severity.INFO, "an UPDATE leaving a large TOASTed value unchanged does not send it",
         explain="Make the consumer keep the old value, or use REPLICA IDENTITY FULL where it must see every column."),
    Code("extension_tables_not_selected", Severity.INFO, "extension-owned relations were left out of the selection",
         explain="Nothing: the extension recreates them on the consumer's side."),
    Code("sequences_not_replicated", Severity.INFO, "sequence values are not replicated",
         explain="Set the sequences on the target at cutover (setval)."),
    Code("large_objects_not_replicated", Severity.INFO, "large objects are never replicated",
         explain="Copy large objects another way, or store them as bytea."),
    Code("generated_columns_not_replicated", Severity.INFO, "generated columns are not replicated",
         explain="Compute them on the consumer's side."),
    Code("replica_identity_not_full", (Severity.WARNING, Severity.ERROR), "the consumer requires REPLICA IDENTITY "
         "FULL and the table has another (a warning when the consumer applies a decided FULL itself)",
         explain="Run the ALTER TABLE ... REPLICA IDENTITY FULL the report prints, or exclude the table."),
    Code("primary_key_required", (Severity.WARNING, Severity.ERROR), "the consumer captures only tables with a primary "
         "key and the table has none", explain="Add a primary key (ADD PRIMARY KEY USING INDEX over a unique index on "
         "NOT NULL columns), or exclude the table."),
    Code("primary_key_or_full_required", (Severity.WARNING, Severity.ERROR), "the consumer requires a primary key or "
         "REPLICA IDENTITY FULL and the table has neither", explain="Add a primary key, decide REPLICA IDENTITY FULL, "
         "or exclude the table."),
)

LARGE_TABLE_BYTES = 1 << 30  # above this, REPLICA IDENTITY FULL's WAL volume deserves a real key instead

KINDS: dict[str, TableKind] = {"r": "table", "p": "partitioned_table", "v": "view", "m": "materialized_view",
                               "f": "foreign_table"}
PERSISTENCE: dict[str, Persistence] = {"p": "permanent", "u": "unlogged", "t": "temporary"}
IDENTITY: dict[str, ReplicaIdentity] = {"d": "default", "i": "index", "f": "full", "n": "nothing"}
CHOICES = '"add_pk" (the owner adds a key first), "replica_identity_full" or "exclude"'
EXPECTED = "primary key, USING INDEX or FULL"
KEY_ONLY = "primary key or USING INDEX"  # expected where FULL cannot work for the consumer (the template reads it)
CHOICES_KEY_ONLY = '"add_pk" (the owner adds a key first) or "exclude"'
FULL_UNUSABLE = "full_identity_without_equality"
NO_REWRITE = "The fix below changes only the identity (no table rewrite)."
# The consumer's own identity rule (profile consumer.identity), on top of PostgreSQL's: problem -> what it asks for,
# and the decisions that can satisfy it.
CONSUMER_RULES: dict[str, tuple[str, frozenset[Decision]]] = {
    "replica_identity_not_full": ("REPLICA IDENTITY FULL", frozenset({"replica_identity_full"})),
    "primary_key_required": ("a primary key", frozenset({"add_pk"})),
    "primary_key_or_full_required": ("a primary key or REPLICA IDENTITY FULL",
                                     frozenset({"add_pk", "replica_identity_full"})),
}


@dataclass(slots=True)
class Judged:
    """One relation with its name (``schema.table``), its report row and, when it has no usable identity, the
    problem's code."""

    key: str
    row: TableRow
    entry: TableEntry
    problem: str | None = None  # no_replica_identity | replica_identity_nothing | replica_identity_index_missing
    #                             | full_identity_without_equality
    unusable: bool = False  # FULL cannot work for this consumer (a column type without equality)
    published_by: str | None = None  # outside the selection, received through this publication


# Built once per table (100k tables: 100k entries): without validation, from values the check typed already;
# the builder is derived from the model's fields (its findings: ``preflight.remediation``'s builders).
new_entry = builder(TableEntry, "schema_", "name", "kind", "persistence", "has_primary_key", "replica_identity",
                    "identity_index", "candidate_index", "decision", "status", "size_bytes")


def identity_fix(row: TableRow) -> AlterTable | None:
    """The no-rewrite fix when one exists: back to the primary key, or a candidate unique index."""
    if row.has_primary_key:
        return new_alter_table((row.schema, row.name), "REPLICA IDENTITY DEFAULT", None)
    if row.candidate_index:
        return new_alter_table((row.schema, row.name), "REPLICA IDENTITY USING INDEX", row.candidate_index)
    return None


_PROBLEMS = {"d": "no_replica_identity", "n": "replica_identity_nothing"}


def consumer_problem(relreplident: str, has_primary_key: bool, identity: str) -> str | None:
    """What the consumer's own identity rule finds short in a table PostgreSQL is content with."""
    full = relreplident == "f"
    if identity == "full" and not full:
        return "replica_identity_not_full"
    if identity == "primary_key" and not has_primary_key:
        return "primary_key_required"
    if identity == "primary_key_or_full" and not (has_primary_key or full):
        return "primary_key_or_full_required"
    return None


@cache  # asked for every selected table (100k), by table_keys and publication
def identity_problem(relreplident: str, has_primary_key: bool, has_identity_index: bool) -> str | None:
    """Why PostgreSQL finds a table's replica identity unusable (its finding's code), or None."""
    if has_usable_identity(relreplident, has_primary_key, has_identity_index):
        return None
    return _PROBLEMS.get(relreplident, "replica_identity_index_missing")


def problem_of(row: TableRow) -> str | None:
    return identity_problem(row.relreplident, row.has_primary_key, row.identity_index is not None)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a relation's catalog state says before any decision: its report words, whether a publication can
    carry it and, when it can, its problem (None: the identity is usable for this consumer) and whether FULL
    cannot work for the consumer (a column type without equality)."""

    kind: TableKind
    persistence: Persistence
    identity: ReplicaIdentity
    publishable: bool
    problem: str | None
    unusable: bool


@cache  # a function of a few catalog flags and the profile: asked once per table (100k), computed once per state
def verdict(relkind: str, relpersistence: str, relreplident: str, has_primary_key: bool, has_identity_index: bool,
            without_equality: bool, needs_equality: bool, identity: str) -> Verdict:
    """``identity`` (the consumer's own rule) finds more tables short and names the problem of any table short of
    it (its fix gives the table an identity too). With ``needs_equality``, FULL over a column type without equality
    (``without_equality``) is no identity."""
    kind = KINDS.get(relkind, "other")
    persistence = PERSISTENCE.get(relpersistence, "temporary")
    words = IDENTITY.get(relreplident, "nothing")
    unusable = needs_equality and without_equality  # FULL compares every column: one type has no equality
    if (kind != "table" and kind != "partitioned_table") or persistence != "permanent":
        return Verdict(kind, persistence, words, False, None, unusable)
    problem = identity_problem(relreplident, has_primary_key, has_identity_index)
    if problem is None and unusable and relreplident == "f":
        problem = FULL_UNUSABLE
    if identity != "any":  # the consumer's rule wins: its fix also gives the table an identity
        problem = consumer_problem(relreplident, has_primary_key, identity) or problem
    return Verdict(kind, persistence, words, True, problem, unusable)


PROBLEM_TEXT = {**MISSING_IDENTITY, FULL_UNUSABLE: "has REPLICA IDENTITY FULL"}


def equality_text(row: TableRow, consumer: str) -> str:
    kind = row.without_equality
    return (f"its column type {kind} has no default equality operator, and under REPLICA IDENTITY FULL a {consumer} "
            f"finds the row to change by comparing every column: it cannot apply any UPDATE or DELETE of it "
            f"(\"could not identify an equality operator for type {kind}\") and the subscription stops for every "
            "table")


class TableKeys(Check):
    id = "table_keys"
    report_order = 70
    title = "Replica identity of every selected table"
    requires = ("reachability",)
    facts = (TABLES,)
    optional_facts = (NOT_REPLICATED, PUBLICATIONS, PUBLISHED_TABLES, EXTENSION_TABLES, NAMES_NEARBY)  # the last for "did you mean"
    why = (
        "Once a table is in a publication that publishes updates/deletes, UPDATE and DELETE on it FAIL ON THE SOURCE "
        "unless it has a replica identity (a primary key, REPLICA IDENTITY USING INDEX on a unique NOT NULL index, "
        "or FULL). Judged by the identity, not just 'has a PK': USING INDEX and FULL are fine, NOTHING is not. "
        "A native subscriber applies UPDATE/DELETE of a FULL table by comparing every column: a column type without "
        "a default equality operator (json, xml, point, ...) stops the subscription for every table "
        "(full_identity_without_equality; CDC connectors are not affected). A decision is a promise checked against "
        "the table as it is now: add_pk fails until the key is the identity (decided_add_pk), replica_identity_full "
        "until it is applied unless the profile's consumer applies it itself (decided_replica_identity_full), and "
        "exclude fails while the consumer's publication still carries the table (exclusion_not_applied)."
    )
    remediation = (
        "Use a candidate unique NOT NULL index (REPLICA IDENTITY USING INDEX, no rewrite) or record a decision per "
        "table with --decisions FILE (template: 'pg-preflight decisions'): add_pk, replica_identity_full or exclude; "
        "then carry it out (the owner adds the key; the printed ALTER TABLE ... REPLICA IDENTITY FULL; the table out "
        "of the publication) and re-run. For a native subscriber, a table with a json/xml/point column needs a key "
        "or exclude, never FULL."
    )

    def run(self, ctx: CheckContext) -> Outcome:
        selected = ctx.fact(TABLES)
        outside = ctx.optional_fact(PUBLISHED_TABLES) or []
        rows = [*selected, *outside]
        decisions = ctx.options.decisions
        publications = ctx.optional_fact(PUBLICATIONS)
        profile = ctx.profile
        published = _consumer_members(publications) if "exclude" in decisions.values() else frozenset()
        judged = _judge(rows, decisions, _via_root(ctx, publications), profile.consumer.full_needs_equality, published,
                        profile.consumer.identity)
        names = {item.key for item in judged}
        missing = _missing_tables(ctx, names)
        findings = missing + [
            Finding(code="decision_matches_no_table", severity=Severity.WARNING, object=key,
                    message=hinted(f"The decision {value!r} for {key} matches no table in the selection (typo, or not "
                                   "selected?).", key, [item.key for item in judged]),
                    remediation=Remediation(steps=["Fix the key in the decisions file (name syntax: schema.table) or "
                                                   "add the table to the selection."]))
            for key, value in decisions.items() if key not in names
        ]
        consumer = consumer_publication(ctx.options)
        for item in judged[len(selected):]:
            item.published_by = consumer
        failing = Failing.under(_insert_only_publication(ctx))
        asked = {problem: Asked.of(profile, problem) for problem in CONSUMER_RULES}
        findings += [finding for item in judged if item.problem is not None or item.entry.decision is not None
                     if (finding := _table_finding(item, profile, failing, asked)) is not None]  # the rest: nothing to say
        findings += [_exclusion_not_applied(item, consumer) for item in judged
                     if item.entry.decision == "exclude" and item.key in published]
        findings += _unkeyed_elsewhere(publications, names)
        findings += _notes(judged, ctx)
        entries = [item.entry for item in judged]
        summary = _summary(entries)
        if missing:
            summary += f"; {len(missing)} table(s) named with -t missing"
        return Outcome(findings, summary, entries)


def _missing_tables(ctx: CheckContext, names: set[str]) -> list[Finding]:
    """A -t naming no relation fails as a missing -s schema does: the consumer's publication could not name it.

    Owned here, not by ``grants`` (which owns ``schema_missing``): this check judges every selected table, and
    ``pg-preflight decisions`` runs it alone.
    """
    out: list[Finding] = []
    nearby = near_relations(ctx.optional_fact(NAMES_NEARBY))  # what a misspelt -t may have meant
    for key in dict.fromkeys(format_name(t.schema, t.name) for t in ctx.options.tables):
        if key not in names:
            out.append(Finding(
                code="table_missing", severity=Severity.ERROR, object=key, observed="absent", expected="exists",
                message=hinted(f"The selected table {key} does not exist in this database (no table, view or foreign "
                               "table of that name; names are case-sensitive): a publication naming it fails with "
                               "'relation does not exist'.", key, nearby),
                remediation=Remediation(steps=["Fix the --table selection (schema.table), or create the table."]),
            ))
    return out


def _insert_only_publication(ctx: CheckContext) -> str | None:
    """The consumer's publication, when it exists and publishes neither UPDATE nor DELETE (nothing can fail then)."""
    name = consumer_publication(ctx.options)
    facts = ctx.optional_fact(PUBLICATIONS)
    for pub in facts.publications if facts else []:
        if name and pub.pubname == name and not pub.pubupdate and not pub.pubdelete:
            return str(name)
    return None


def _via_root(ctx: CheckContext, facts: PublicationsFact | None) -> bool:
    """Whether partitioned tables reach the consumer under the root's name, with the root's replica identity:
    the consumer's publication says so, and the printed CREATE PUBLICATION sets it."""
    name = consumer_publication(ctx.options)
    if name is None or not supports(ctx.version_num, PARTITIONED_PUBLICATION):
        return False
    pub = next((p for p in facts.publications if p.pubname == name), None) if facts else None
    return pub.pubviaroot if pub else True


def _consumer_members(facts: PublicationsFact | None) -> frozenset[str]:
    """Every table the consumer's existing publication carries, with the rest of each member's partition tree."""
    out: set[str] = set()
    for member in facts.members if facts else []:
        out.add(format_name(member.schema, member.name))
        out.update(format_name(schema, name) for schema, name in member.related or [])
    return frozenset(out)


def _exclusion_not_applied(item: Judged, publication: str | None) -> Finding:
    """``exclude`` means the consumer does not receive the table; its publication still carries it."""
    key = item.key
    return Finding(
        code="exclusion_not_applied", severity=Severity.ERROR, object=key, observed=f"published by {publication}",
        expected="not published",
        message=f"{key} is decided 'exclude', but publication {publication!r} publishes it: the consumer receives "
                "it (its initial copy, its changes) and PostgreSQL applies the publication's rules to it (UPDATE/DELETE "
                "fail on the source without a replica identity). It is judged as undecided above.",
        remediation=Remediation(steps=[
            f"Have the publication's owner leave {key} out of {publication!r} (a FOR TABLE publication: ALTER "
            "PUBLICATION ... DROP TABLE; FOR ALL TABLES or FOR TABLES IN SCHEMA cannot leave one table out: use a "
            "FOR TABLE publication of the tables the consumer receives), or remove the 'exclude' decision."]))


def _unkeyed_elsewhere(facts: PublicationsFact | None, judged: set[str]) -> list[Finding]:
    """Tables outside the judged set that another publication already breaks (UPDATE/DELETE fail now)."""
    by_table: dict[str, list[str]] = {}
    for pubname, schema, name in facts.unkeyed_elsewhere or [] if facts else []:
        by_table.setdefault(format_name(schema, name), []).append(pubname)
    return [Finding(
        code="unkeyed_in_other_publication", severity=Severity.WARNING, object=key, observed="no replica identity",
        message=f"{key} has no usable replica identity and publication(s) {', '.join(sorted(set(pubs)))} publish its "
                "UPDATE/DELETE: they fail on the source right now (PostgreSQL refuses them for any publication that "
                "publishes them, consumed or not). This consumer does not receive it, so it does not fail this check.",
        remediation=Remediation(steps=[f"Give {key} a replica identity (a primary key, USING INDEX, or FULL), or "
                                       "remove it from those publications.",]))
        for key, pubs in sorted(by_table.items()) if key not in judged]


@dataclass(frozen=True, slots=True)
class Failing:
    """How a table without a usable identity is reported, decided before any finding is built: an error, or
    under an insert-only publication a warning (nothing fails today) that says so."""

    severity: Severity = Severity.ERROR
    note: str = ""

    @classmethod
    def under(cls, insert_only: str | None) -> Failing:
        if insert_only is None:
            return cls()
        return cls(Severity.WARNING, f" Publication {insert_only!r} publishes neither UPDATE nor DELETE, so nothing "
                                     "fails today; adding them to it later brings the failure back.")


def decision_lookup(rows: list[TableRow], decisions: dict[str, Decision]) -> Callable[[TableRow, str], Decision | None]:
    """``(row, key) -> decision``: a table's own, else its nearest partitioned ancestor's among ``rows``."""
    by_key = {format_name(r.schema, r.name): r for r in rows} if decisions else {}

    def decision_of(row: TableRow, key: str) -> Decision | None:
        seen: set[str] = set()
        current: TableRow | None = row
        while current is not None and key not in seen:  # a leaf inherits its parent's decision
            seen.add(key)
            if key in decisions:
                return decisions[key]
            parent = current.parent_name
            key = format_name(current.parent_schema or "", parent) if parent else ""
            current = by_key.get(key) if parent else None
        return None
    return decision_of


def kept(rows: list[TableRow], decisions: dict[str, Decision]) -> list[TableRow]:
    """``rows`` without the tables decided ``exclude`` (a partitioned table's decision reaches its leaves): what
    the consumer receives, for every check that sizes or grants it."""
    if "exclude" not in decisions.values():
        return rows
    decision_of = decision_lookup(rows, decisions)
    return [r for r in rows if decision_of(r, format_name(r.schema, r.name)) != "exclude"]


def _judge(rows: list[TableRow], decisions: dict[str, Decision], via_root: bool = False,
           needs_equality: bool = False, published: frozenset[str] = frozenset(),
           identity: str = "any") -> list[Judged]:
    """Leaves and plain tables on their own identity; partitioned tables as the sum of their leaves (and,
    published via the root, of their own identity: ``ALTER TABLE root ...`` never reaches the leaves, nor
    the leaves' the root). With ``needs_equality`` (the consumer's profile), FULL over a column type without
    equality is no identity, and deciding FULL for such a table decides nothing. ``exclude`` on a table the
    consumer's publication publishes (``published``) excludes nothing: it is judged as undecided. ``identity``
    (the consumer's own rule) finds more tables short and names the problem of any table short of it (its fix
    gives the table an identity too); only a decision that satisfies it decides them."""
    keys = [format_name(r.schema, r.name) for r in rows]
    decision_of = decision_lookup(rows, decisions)

    judged: dict[str, Judged] = {}
    entry_of = new_entry
    for row, key in zip(rows, keys, strict=True):  # once per table: no call that is not needed
        decision = decision_of(row, key) if decisions else None
        effective = None if decision == "exclude" and key in published else decision
        seen = verdict(row.relkind, row.relpersistence, row.relreplident, row.has_primary_key,
                       row.identity_index is not None, row.without_equality is not None, needs_equality, identity)
        problem = seen.problem
        status: TableStatus
        if not seen.publishable:
            status = "not_publishable"
        elif effective == "exclude":
            status = "excluded"
        elif problem is None:
            status = "ok"
        elif effective is None or (decision == "replica_identity_full" and seen.unusable) or (
                problem in CONSUMER_RULES and effective not in CONSUMER_RULES[problem][1]):
            status = "needs_decision"
        else:
            status = "decided"
        entry = entry_of(row.schema, row.name, seen.kind, seen.persistence, row.has_primary_key, seen.identity,
                         row.identity_index, row.candidate_index, decision, status, row.size_bytes)
        judged[key] = Judged(key, row, entry, problem, seen.unusable)
    _roll_up_partitions(judged, via_root)
    return list(judged.values())


def _roll_up_partitions(judged: dict[str, Judged], via_root: bool) -> None:
    """A partitioned table has no rows of its own: its status is its leaves' worst, its findings are theirs;
    a root published via itself also keeps its own status and finding."""
    children: dict[str, list[str]] = {}
    for key, item in judged.items():
        if item.row.parent_name:
            children.setdefault(format_name(item.row.parent_schema or "", item.row.parent_name), []).append(key)
    rank = {"needs_decision": 0, "decided": 1, "ok": 2}

    def leaves(key: str) -> list[Judged]:
        kids = children.get(key, [])
        if not kids:
            return [judged[key]]
        return [leaf for kid in kids for leaf in leaves(kid)]

    for key, item in judged.items():
        if item.entry.kind != "partitioned_table" or item.entry.status in ("excluded", "not_publishable"):
            continue
        if not children.get(key):
            continue  # no partition in the selection: judged on its own identity (new partitions inherit a PK)
        own = via_root and not item.row.is_partition
        statuses = [leaf.entry.status for leaf in leaves(key) + ([item] if own else []) if leaf.entry.status in rank]
        item.entry.status = min(statuses, key=rank.__getitem__) if statuses else "ok"
        if not own:
            item.problem = None


def _table_finding(item: Judged, profile: Profile, failing: Failing, asked: dict[str, Asked]) -> Finding | None:
    """The one finding of a table without a usable identity, or with a decision (None: nothing to say)."""
    entry, row, problem, key = item.entry, item.row, item.problem, item.key
    if problem is None:
        if entry.decision and entry.status == "ok":
            return new_finding("decision_not_needed", Severity.INFO,
                               f"{key} already has a usable replica identity ({entry.replica_identity}); the decision "
                               f"{entry.decision!r} needs no action.", key, None, None, new_remediation([], []))
        return None
    if entry.status == "excluded":
        return None
    if problem in CONSUMER_RULES:
        return _consumer_rule(item, asked[problem])
    consumer = profile.consumer
    unusable = item.unusable
    outage = (f"Once {key} is published, every UPDATE and DELETE on it FAILS ON THE SOURCE (\"cannot update table "
              f"... because it does not have a replica identity and publishes updates\").")
    fix = identity_fix(row)
    where = f"{key} {PROBLEM_TEXT[problem]}."
    if item.published_by:
        where += (f" It is outside the selection, but publication {item.published_by!r} publishes it: the consumer "
                  "receives it and its UPDATE/DELETE fail on the source now.")
    if problem == FULL_UNUSABLE or (unusable and entry.decision == "replica_identity_full"):
        return _full_unusable(item, profile, fix, "" if problem == FULL_UNUSABLE else f"{where} {outage}", failing)
    if entry.status == "needs_decision":  # the one finding of every table without identity: tens of thousands
        choices, expected = CHOICES, EXPECTED
        if unusable:
            choices, expected = CHOICES_KEY_ONLY, KEY_ONLY
            where += f" REPLICA IDENTITY FULL is no way out for this consumer: {equality_text(row, consumer.kind)}."
        if fix is None:
            message, fixes, step = f"{where} {outage}{failing.note}", [], f"Decide for {key} in --decisions FILE: "
        else:
            message, fixes = f"{where} {outage} {NO_REWRITE}{failing.note}", [fix]
            step = f"Or record a decision for {key} in --decisions FILE: "
        return new_finding(problem, failing.severity, message, key, entry.replica_identity, expected,
                           new_remediation(fixes, [f"{step}{choices} ('pg-preflight decisions' writes a template)."]))
    if entry.decision == "replica_identity_full":
        size = row.size_bytes or 0
        cost = ("FULL logs every old column of each UPDATE/DELETE: expect more WAL on wide or TOAST-heavy tables.")
        if size > LARGE_TABLE_BYTES:
            cost = (f"{key} is {size // (1 << 20)} MiB: FULL logs every old column of each UPDATE/DELETE, "
                    "expect much more WAL; a key (add_pk) is cheaper if one exists.")
        full = new_alter_table((row.schema, row.name), "REPLICA IDENTITY FULL", None)
        if consumer.applies_replica_identity_full:
            return new_finding("decided_replica_identity_full", Severity.WARNING,
                               f"{where} Decided: replica_identity_full, not applied yet; profile '{profile.name}' says "
                               f"its consumer ({consumer.kind}) applies REPLICA IDENTITY FULL itself during its setup, "
                               f"before it publishes the table. {cost}", key, entry.replica_identity, "full",
                               new_remediation([full], []))
        return new_finding("decided_replica_identity_full", failing.severity,
                           f"{where} Decided: replica_identity_full, not applied yet, and the consumer ({consumer.kind}, "
                           f"profile '{profile.name}') does not apply it itself. {outage} {cost}{failing.note}", key,
                           entry.replica_identity, "full",
                           new_remediation([full], ["Apply the statement above (identity change only, no rewrite; a "
                                                    "partitioned table's every leaf), then re-run pg-preflight."]))
    return _pending_key(item, fix, where, outage, failing)


@dataclass(frozen=True, slots=True)
class Asked:
    """The profile's consumer's own identity rule as its findings word it: worded once per run, not per table."""

    problem: str
    wanted: str
    satisfy: frozenset[Decision]
    says: str  # "profile ... says its consumer (...) needs ... on every table it receives (where it says so)."
    choices: str  # the decisions that satisfy it, as a step offers them
    applies_full: bool  # the consumer applies a decided REPLICA IDENTITY FULL itself

    @classmethod
    def of(cls, profile: Profile, problem: str) -> Asked:
        wanted, satisfy = CONSUMER_RULES[problem]
        consumer = profile.consumer
        source = profile.source_of("consumer.identity")
        said = (f" ({'its documentation' if source.documented else 'our judgement'}: {source.source})"
                if source is not None else "")
        return cls(problem, wanted, satisfy, f"profile '{profile.name}' says its consumer ({consumer.kind}) needs "
                   f"{wanted} on every table it receives{said}.", " or ".join(f'"{d}"' for d in sorted(satisfy)),
                   consumer.applies_replica_identity_full)


def _consumer_rule(item: Judged, asked: Asked) -> Finding:
    """A table PostgreSQL can publish, short of the identity the profile's consumer asks for."""
    entry, row, key = item.entry, item.row, item.key
    problem, wanted, satisfy = asked.problem, asked.wanted, asked.satisfy
    has = "a primary key" if row.has_primary_key else "no primary key"
    message = f"{key} has {has} and REPLICA IDENTITY {entry.replica_identity.upper()}: {asked.says}"
    table = (row.schema, row.name)
    full = new_alter_table(table, "REPLICA IDENTITY FULL", None)
    fixes: list[Statement]
    if "replica_identity_full" in satisfy:
        fixes = [full]
        steps = ["The statement changes only the identity (no table rewrite); FULL logs every old column of each "
                 "UPDATE and DELETE (more WAL on wide tables)."]
    elif row.candidate_index:
        fixes = [new_alter_table(table, "ADD PRIMARY KEY USING INDEX", row.candidate_index)]
        steps = [f"The statement makes {key}'s unique index on NOT NULL columns ({row.candidate_index}) its primary "
                 "key (no scan: its columns are NOT NULL already; a short ACCESS EXCLUSIVE lock)."]
    else:
        fixes = []
        steps = [f"The owner of {key} ({row.owner or 'unknown'}) adds a primary key: CREATE UNIQUE INDEX "
                 "CONCURRENTLY, then ALTER TABLE ... ADD PRIMARY KEY USING INDEX."]
    below = problem_of(row)
    if below is not None:
        message += (f" PostgreSQL finds it short too (it {PROBLEM_TEXT[below]}): once published, its UPDATE and "
                    "DELETE fail on the source.")
    if item.published_by:
        message += f" It is outside the selection, but publication {item.published_by!r} publishes it."
    if entry.decision in satisfy:
        message += f" Decided: {entry.decision}, not carried out yet."
        if entry.decision == "replica_identity_full" and asked.applies_full:
            return new_finding(problem, Severity.WARNING, message + " The consumer applies it itself during its setup.",
                               key, entry.replica_identity, wanted, new_remediation([full], []))
    else:
        steps.append(f"Or decide for {key} in --decisions FILE: {asked.choices}, or \"exclude\" (the consumer then "
                     "does not receive it).")
    return new_finding(problem, Severity.ERROR, message, key, entry.replica_identity, wanted,
                       new_remediation(fixes, steps))


def _pending_key(item: Judged, fix: AlterTable | None, where: str, outage: str, failing: Failing) -> Finding:
    """``add_pk`` is a promise made before retrying: until the key is the table's identity, it fails."""
    entry, row, key = item.entry, item.row, item.key
    promise = ("Decided: add_pk (the owner adds a primary key or a valid unique key on the source before retrying), "
               "and the key is not the table's replica identity yet.")
    if row.has_primary_key:
        needed = f"{key} has a primary key, but its identity is not DEFAULT: apply the statement above."
    elif row.candidate_index:
        needed = (f"{key} has a valid unique index on NOT NULL columns ({row.candidate_index}), but it is not the "
                  "replica identity: apply the statement above (REPLICA IDENTITY USING INDEX).")
    else:
        needed = (f"{key} has no primary key and no valid unique index on NOT NULL columns: the owner "
                  f"({row.owner or 'unknown'}) adds one (a unique index on nullable columns or a partial, deferrable "
                  "or expression index does not qualify).")
    steps = [f"The owner of {key} ({row.owner or 'unknown'}) adds a primary key (or a unique index on NOT NULL "
             "columns, then ALTER TABLE ... REPLICA IDENTITY USING INDEX), e.g. CREATE UNIQUE INDEX CONCURRENTLY "
             "then ALTER TABLE ... ADD PRIMARY KEY USING INDEX (ADD PRIMARY KEY alone locks and scans the table).",
             "Then re-run pg-preflight: the table is ok once it has a replica identity."]
    if fix:
        steps = ["Apply the statement above (identity change only, no rewrite), then re-run pg-preflight."]
    return new_finding("decided_add_pk", failing.severity, f"{where} {promise} {needed} {outage}{failing.note}", key,
                       entry.replica_identity, KEY_ONLY, new_remediation([fix] if fix else [], steps))


def _full_unusable(item: Judged, profile: Profile, fix: AlterTable | None, before: str, failing: Failing) -> Finding:
    """FULL, applied or decided, for a consumer that cannot match rows on a column type without equality."""
    entry, row, key = item.entry, item.row, item.key
    text = equality_text(row, profile.consumer.kind)
    if before:  # decided FULL, not applied: the decision cannot work
        message = (f"{before} Decided: replica_identity_full, which does not work for profile '{profile.name}': "
                   f"{text}.")
    else:
        message = f"{key} has REPLICA IDENTITY FULL, but {text} (profile '{profile.name}')."
    steps = [f"Give {key} a key identity: the owner adds a primary key (decision add_pk; a unique index on NOT NULL "
             "columns with REPLICA IDENTITY USING INDEX also works), or decide \"exclude\" in --decisions FILE."]
    if fix:
        steps = [f"Apply the statement above (identity change only, no rewrite), or decide \"exclude\" for {key}."]
    return new_finding(FULL_UNUSABLE, failing.severity, message + failing.note, key, entry.replica_identity, KEY_ONLY,
                       new_remediation([fix] if fix else [], steps))


def _notes(judged: list[Judged], ctx: CheckContext) -> list[Finding]:
    """Info: what is listed but not published, partitioned tables, and what replication never carries."""
    out: list[Finding] = []
    skipped = [j.key for j in judged if j.entry.status == "not_publishable"]
    if skipped:
        out.append(Finding(code="not_publishable", severity=Severity.INFO, observed=len(skipped), count=len(skipped),
                           message=f"{len(skipped)} relation(s) cannot be published (views, materialized views, foreign, "
                                   f"unlogged or temporary tables) and will not replicate: {_some(skipped)}."))
    for j in judged:
        if j.entry.kind == "partitioned_table" and not j.row.is_partition and j.entry.status != "not_publishable":
            key = j.key
            out.append(Finding(code="partitioned_table", severity=Severity.INFO, object=key,
                               message=f"{key} is partitioned: each leaf partition is judged above. Choose "
                                       "publish_via_partition_root on the publication: true = changes arrive under "
                                       f"{key}'s name (survives re-partitioning), false = under each partition's name."))
    publishable = [j for j in judged if j.entry.status not in ("not_publishable", "excluded")]
    if publishable:
        out.append(Finding(code="ddl_not_replicated", severity=Severity.INFO,
                           message="Logical replication never carries DDL (ALTER TABLE, CREATE INDEX, ...): "
                                   "apply schema changes on the consumer side yourself."))
    facts = ctx.optional_fact(NOT_REPLICATED)
    if facts is not None:
        out += _not_replicated(facts, ctx.version_num)
    toast = sum(1 for j in judged if j.published_by is None and j.row.relkind == "r" and j.row.has_toast)
    keyed = any(j.entry.status == "ok" and j.entry.replica_identity in ("default", "index") for j in publishable)
    if toast and keyed:
        out.append(Finding(code="unchanged_toast_not_sent", severity=Severity.INFO, observed=toast,
                           message=f"{toast} selected table(s) can hold TOASTed values: with a key identity, an "
                                   "UPDATE that leaves a large value unchanged does not send it (the consumer sees "
                                   "'unchanged toast'); FULL sends it."))
    out += [_extension_tables(row) for row in ctx.optional_fact(EXTENSION_TABLES) or []]
    return out


def _extension_tables(row: ExtensionTablesRow) -> Finding:
    """What the default selection left out because an extension owns it (the extension's, not the application's)."""
    schema = format_name(row.schema)
    return Finding(code="extension_tables_not_selected", severity=Severity.INFO, object=schema,
                   observed=row.relations,
                   message=f"{row.relations} extension-owned relation(s) in schema {schema} (extension "
                           f"{row.extension}) not selected: they belong to the extension, not the application. "
                           "Name them with -s/-t to check them anyway.")


def _not_replicated(facts: NotReplicatedFact, version_num: int) -> list[Finding]:
    out: list[Finding] = []
    if facts.sequences:
        out.append(Finding(code="sequences_not_replicated", severity=Severity.INFO, observed=facts.sequences,
                           message=f"{facts.sequences} sequence(s) in the selection: sequence values are not "
                                   "replicated; set them on the target at cutover (setval)."))
    if facts.large_objects:
        out.append(Finding(code="large_objects_not_replicated", severity=Severity.INFO, observed=facts.large_objects,
                           message=f"{facts.large_objects} large object(s) (pg_largeobject) in this database: "
                                   "logical replication never carries them."))
    generated = [format_name(*g) for g in facts.generated_columns or []]
    if generated:
        when = ("before PostgreSQL 18 they are never published" if not supports(version_num, PUBLISH_GENERATED_COLUMNS)
                else "they are published only with the publication option publish_generated_columns = stored")
        out.append(Finding(code="generated_columns_not_replicated", severity=Severity.INFO, observed=len(generated),
                           message=f"{len(generated)} generated column(s) ({_some(generated)}): {when}; "
                                   "the consumer must compute them."))
    return out


def _some(names: list[str], limit: int = 10) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _summary(entries: list[TableEntry]) -> str:
    if not entries:
        return "no tables in the selection"
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.status] = counts.get(entry.status, 0) + 1
    parts = [f"{counts[s]} {s.replace('_', ' ')}" for s in ("ok", "needs_decision", "decided", "excluded", "not_publishable")
             if counts.get(s)]
    return f"{len(entries)} relation(s): " + ", ".join(parts)


# The decisions template (``pg-preflight decisions``) is this check's policy, not the engine's.

def suggest(table: TableEntry) -> tuple[Decision, str]:
    """The decision a template proposes for one table, and why.

    A primary key or a candidate unique NOT NULL index -> ``add_pk`` (the fix is an identity change,
    no rewrite, no extra WAL); no key on a table up to 1 GiB -> ``replica_identity_full``; no key on
    a larger one -> ``add_pk`` (FULL logs every old column of every UPDATE/DELETE).
    """
    if table.has_primary_key:
        return "add_pk", "has a primary key: ALTER TABLE ... REPLICA IDENTITY DEFAULT restores it"
    if table.candidate_index:
        return "add_pk", f"unique NOT NULL index {table.candidate_index}: REPLICA IDENTITY USING INDEX, no rewrite"
    if table.size_bytes is not None and table.size_bytes > LARGE_TABLE_BYTES:
        return "add_pk", f"no key and {table.size_bytes // (1 << 20)} MiB: FULL would log whole old rows"
    return "replica_identity_full", "no key; small enough for REPLICA IDENTITY FULL"


def suggest_for_consumer(table: TableEntry, problem: str) -> tuple[Decision, str]:
    """The decision that satisfies the consumer's identity rule: FULL where it takes FULL (a key instead for a table
    over 1 GiB when it takes a key too), else a primary key."""
    wanted, satisfy = CONSUMER_RULES[problem]
    large = table.size_bytes is not None and table.size_bytes > LARGE_TABLE_BYTES
    if "replica_identity_full" in satisfy and not (large and "add_pk" in satisfy):
        return "replica_identity_full", f"the consumer needs {wanted}: REPLICA IDENTITY FULL, no rewrite"
    if table.candidate_index:
        return "add_pk", (f"the consumer needs {wanted}: ADD PRIMARY KEY USING INDEX {table.candidate_index}, "
                          "no scan")
    return "add_pk", f"the consumer needs {wanted}: the owner adds one"


def template(report: Report) -> tuple[dict[str, dict[str, Decision]], list[str]]:
    """A decisions document for every table that needs a decision, and one explanatory line each.

    Only tables with their own error finding: a partitioned table is represented by its leaves.
    """
    flagged = {f.object: f for c in report.checks if c.id == TableKeys.id for f in c.findings
               if f.severity is Severity.ERROR}
    decisions: dict[str, Decision] = {}
    notes: list[str] = []
    for table in report.tables:
        key = format_name(table.schema_, table.name)
        if table.status != "needs_decision" or key not in flagged:
            continue
        if flagged[key].code in CONSUMER_RULES:  # only what satisfies the consumer's own rule
            decisions[key], why = suggest_for_consumer(table, flagged[key].code)
        elif flagged[key].expected == KEY_ONLY:  # FULL cannot work for the consumer: never suggest it
            decisions[key], why = "add_pk", "REPLICA IDENTITY FULL cannot work for the consumer here (a column type " \
                                            "without an equality operator): a key, or exclude it"
        else:
            decisions[key], why = suggest(table)
        notes.append(f"{key}: {decisions[key]} ({why})")
    return {"decisions": decisions}, notes
