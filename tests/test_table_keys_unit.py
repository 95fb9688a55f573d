"""table_keys as a pure function of hand-built snapshots: every identity case, decisions, partitions, notes."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg import sql

from preflight import Options, run_checks
from preflight.checks.table_keys import identity_fix, template
from preflight.facts import TableRow
from preflight.models import CheckResult, CheckStatus, Decision, Report, Severity, TableEntry
from tests import snapshots
from tests.snapshots import make_snapshot, not_replicated


def table(name: str, schema: str = "public", relkind: str = "r", relpersistence: str = "p", relreplident: str = "d",
          has_primary_key: bool = False, identity_index: str | None = None, candidate_index: str | None = None,
          parent: tuple[str, str] | None = None, size_bytes: int = 8192, **more: Any) -> TableRow:
    fields: dict[str, Any] = {"owner": "app_owner", "judged_role_owns": False, **more}
    return snapshots.table(schema, name, relkind=relkind, relpersistence=relpersistence, relreplident=relreplident,
                           is_partition=parent is not None, parent_schema=parent[0] if parent else None,
                           parent_name=parent[1] if parent else None, has_primary_key=has_primary_key,
                           identity_index=identity_index, candidate_index=candidate_index, size_bytes=size_bytes,
                           **fields)


def run(rows: list[TableRow], decisions: dict[str, Decision] | None = None, profile: str = "generic",
        **facts: Any) -> Report:
    snap = make_snapshot(tables=rows, **facts)
    return run_checks(snap, Options(checks=["table_keys"], decisions=decisions or {}, profile=profile))


def check(report: Report) -> CheckResult:
    return report.check("table_keys")


def entry(report: Report, name: str) -> TableEntry:
    return next(t for t in report.tables if t.name == name)


def finding(report: Report, obj: str, severity: Severity | None = None) -> Any:
    return next(f for f in check(report).findings if f.object == obj and (severity is None or f.severity is severity))


@pytest.mark.parametrize(("row", "status"), [
    (table("pk", has_primary_key=True), "ok"),
    (table("full", relreplident="f"), "ok"),
    (table("idx", relreplident="i", identity_index="idx_u", candidate_index="idx_u"), "ok"),
    (table("nokey"), "needs_decision"),
    (table("nothing_pk", relreplident="n", has_primary_key=True), "needs_decision"),
    (table("gone", relreplident="i", identity_index=None), "needs_decision"),
    (table("unlogged", relpersistence="u"), "not_publishable"),
    (table("v", relkind="v"), "not_publishable"),
    (table("mv", relkind="m"), "not_publishable"),
    (table("ft", relkind="f"), "not_publishable"),
])
def test_status_by_identity(row: TableRow, status: str) -> None:
    report = run([row])
    assert entry(report, row.name).status == status
    expected = CheckStatus.FAIL if status == "needs_decision" else CheckStatus.PASS
    assert check(report).status is expected


def test_needs_decision_names_the_outage_and_the_choices() -> None:
    report = run([table("nokey")])
    f = finding(report, "public.nokey")
    assert f.severity is Severity.ERROR and f.code == "no_replica_identity"
    assert "FAILS ON THE SOURCE" in f.message and "does not have a replica identity" in f.message
    assert f.remediation.sql_text() == []
    assert "add_pk" in f.remediation.steps_text()[0] and "exclude" in f.remediation.steps_text()[0]


def test_candidate_index_is_offered_as_using_index() -> None:
    report = run([table("t", candidate_index="t_code_key")])
    f = finding(report, "public.t")
    assert f.remediation.sql_text() == ['ALTER TABLE "public"."t" REPLICA IDENTITY USING INDEX "t_code_key";']
    assert entry(report, "t").candidate_index == "t_code_key"


def test_nothing_with_primary_key_suggests_default() -> None:
    report = run([table("n", relreplident="n", has_primary_key=True)])
    f = finding(report, "public.n")
    assert f.code == "replica_identity_nothing"
    assert f.remediation.sql_text() == ['ALTER TABLE "public"."n" REPLICA IDENTITY DEFAULT;']
    assert entry(report, "n").replica_identity == "nothing"


def test_decisions_not_applied_fail_and_exclude_removes() -> None:
    rows = [table("a"), table("b", candidate_index="b_key"), table("c"), table("big", size_bytes=5 << 30)]
    report = run(rows, {"public.a": "replica_identity_full", "public.b": "add_pk", "public.c": "exclude",
                        "public.big": "replica_identity_full"})
    assert check(report).status is CheckStatus.FAIL
    assert {f.object for f in check(report).findings if f.severity is Severity.ERROR} == {"public.a", "public.b",
                                                                                          "public.big"}
    assert [entry(report, n).status for n in ("a", "b", "c", "big")] == ["decided", "decided", "excluded", "decided"]
    assert finding(report, "public.a").remediation.sql_text() == ['ALTER TABLE "public"."a" REPLICA IDENTITY FULL;']
    assert finding(report, "public.b").remediation.sql_text() == ['ALTER TABLE "public"."b" REPLICA IDENTITY USING INDEX "b_key";']
    assert "5120 MiB" in finding(report, "public.big").message
    assert not [f for f in check(report).findings if f.object == "public.c"]
    assert entry(report, "c").decision == "exclude"


def test_add_pk_without_candidate_is_an_owner_todo_and_fails() -> None:
    report = run([table("t")], {"public.t": "add_pk"})
    f = finding(report, "public.t")
    assert (f.code, f.severity) == ("decided_add_pk", Severity.ERROR) and f.remediation.sql_text() == []
    assert "before retrying" in f.message and "no valid unique index" in f.message
    assert "app_owner" in f.remediation.steps_text()[0]
    assert check(report).status is CheckStatus.FAIL


@pytest.mark.parametrize(("row", "needed"), [
    (table("t", candidate_index="t_code_key"), 'REPLICA IDENTITY USING INDEX "t_code_key";'),
    (table("t", relreplident="n", has_primary_key=True), 'REPLICA IDENTITY DEFAULT;'),
])
def test_add_pk_with_a_key_that_is_not_the_identity_says_what_is_needed(row: TableRow, needed: str) -> None:
    f = finding(run([row], {"public.t": "add_pk"}), "public.t")
    assert f.severity is Severity.ERROR and f.remediation.sql_text() == [f'ALTER TABLE "public"."t" {needed}']
    assert "not the replica identity" in f.message or "identity is not DEFAULT" in f.message


@pytest.mark.parametrize("row", [table("t", has_primary_key=True),
                                 table("t", relreplident="i", identity_index="t_code_key", candidate_index="t_code_key")])
def test_add_pk_done_passes(row: TableRow) -> None:
    report = run([row], {"public.t": "add_pk"})
    assert entry(report, "t").status == "ok" and check(report).status is CheckStatus.PASS


@pytest.mark.parametrize(("profile", "severity"), [("generic", Severity.ERROR), ("native", Severity.ERROR),
                                                   ("debezium", Severity.ERROR), ("aws-dms", Severity.ERROR),
                                                   ("ardent", Severity.WARNING)])
def test_replica_identity_full_not_applied_fails_unless_the_consumer_applies_it(profile: str,
                                                                                severity: Severity) -> None:
    report = run([table("t")], {"public.t": "replica_identity_full"}, profile=profile)
    f = finding(report, "public.t")
    assert (f.code, f.severity) == ("decided_replica_identity_full", severity)
    assert f.remediation.sql_text() == ['ALTER TABLE "public"."t" REPLICA IDENTITY FULL;']
    assert ("applies REPLICA IDENTITY FULL itself" in f.message) is (severity is Severity.WARNING)


def test_replica_identity_full_decided_on_a_parent_fails_on_every_unapplied_leaf() -> None:
    rows = [table("m", relkind="p", relreplident="f"), table("m_1", parent=("public", "m")),
            table("m_2", parent=("public", "m"), relreplident="f")]
    report = run(rows, {"public.m": "replica_identity_full"},
                 publications=snapshots.publications([snapshots.publication("cdc_publication")]))
    errors = {f.object: f.code for f in check(report).findings if f.severity is Severity.ERROR}
    assert errors == {"public.m_1": "decided_replica_identity_full"}  # the root's FULL does not reach its leaves


@pytest.mark.parametrize("profile", ["generic", "native"])
def test_full_with_a_type_without_equality_is_not_ready_for_a_native_subscriber(profile: str) -> None:
    report = run([table("t", relreplident="f", without_equality="json")], profile=profile)
    f = finding(report, "public.t")
    assert (f.code, f.severity) == ("full_identity_without_equality", Severity.ERROR)
    assert "could not identify an equality operator for type json" in f.message
    assert entry(report, "t").status == "needs_decision"
    pk = finding(run([table("t", relreplident="f", has_primary_key=True, without_equality="json")], profile=profile),
                 "public.t")
    assert pk.remediation.sql_text() == ['ALTER TABLE "public"."t" REPLICA IDENTITY DEFAULT;']


@pytest.mark.parametrize("profile", ["debezium", "aws-dms", "ardent"])
def test_full_with_a_type_without_equality_is_fine_for_cdc_connectors(profile: str) -> None:
    report = run([table("t", relreplident="f", without_equality="json")], profile=profile)
    assert check(report).status is CheckStatus.PASS and entry(report, "t").status == "ok"


def test_full_decided_for_a_type_without_equality_is_no_decision_for_a_native_subscriber() -> None:
    rows = [table("t", without_equality="point")]
    report = run(rows, {"public.t": "replica_identity_full"}, profile="native")
    f = finding(report, "public.t")
    assert (f.code, f.severity, f.remediation.sql_text()) == ("full_identity_without_equality", Severity.ERROR, [])
    assert "REPLICA IDENTITY FULL" not in " ".join(f.remediation.sql_text()) and "exclude" in f.remediation.steps_text()[0]
    undecided = finding(run(rows, profile="native"), "public.t")
    assert undecided.code == "no_replica_identity" and "replica_identity_full" not in undecided.remediation.steps_text()[0]
    assert template(run(rows, profile="native"))[0] == {"decisions": {"public.t": "add_pk"}}
    debezium = finding(run(rows, {"public.t": "replica_identity_full"}, profile="debezium"), "public.t")
    assert debezium.code == "decided_replica_identity_full"
    assert template(run(rows, profile="debezium"))[0] == {"decisions": {"public.t": "replica_identity_full"}}


def test_applied_decision_is_simply_ok() -> None:
    report = run([table("t", relreplident="f")], {"public.t": "replica_identity_full"})
    assert entry(report, "t").status == "ok" and entry(report, "t").decision == "replica_identity_full"
    assert check(report).status is CheckStatus.PASS


def test_decision_matching_no_table_warns() -> None:
    report = run([table("t", has_primary_key=True)], {"public.nope": "exclude"})
    f = finding(report, "public.nope")
    assert f.severity is Severity.WARNING and f.code == "decision_matches_no_table"
    assert check(report).status is CheckStatus.WARN


def test_partitioned_table_judged_on_leaves_and_inherits_decision() -> None:
    rows = [table("m", relkind="p"), table("m_1", parent=("public", "m")), table("m_2", parent=("public", "m"), relreplident="f")]
    report = run(rows)
    assert entry(report, "m").status == "needs_decision"
    assert entry(report, "m_1").status == "needs_decision" and entry(report, "m_2").status == "ok"
    # the printed CREATE PUBLICATION publishes via the root: the root's own identity is judged too
    assert {f.object for f in check(report).findings if f.severity is Severity.ERROR} == {"public.m", "public.m_1"}
    advice = finding(report, "public.m", Severity.INFO)
    assert advice.code == "partitioned_table" and "publish_via_partition_root" in advice.message
    decided = run(rows, {"public.m": "replica_identity_full"})
    assert entry(decided, "m_1").status == "decided" and entry(decided, "m").status == "decided"
    assert finding(decided, "public.m_1").remediation.sql_text() == ['ALTER TABLE "public"."m_1" REPLICA IDENTITY FULL;']
    assert finding(decided, "public.m").remediation.sql_text() == ['ALTER TABLE "public"."m" REPLICA IDENTITY FULL;']
    leaves_only = run(rows, publications=snapshots.publications([snapshots.publication("cdc_publication")]))
    assert {f.object for f in check(leaves_only).findings if f.severity is Severity.ERROR} == {"public.m_1"}
    via_root = run(rows, publications=snapshots.publications([snapshots.publication("cdc_publication", pubviaroot=True)]))
    assert {f.object for f in check(via_root).findings if f.severity is Severity.ERROR} == {"public.m", "public.m_1"}


def test_partition_inheriting_primary_key_is_ok() -> None:
    rows = [table("m", relkind="p", has_primary_key=True), table("m_1", parent=("public", "m"), has_primary_key=True)]
    report = run(rows)
    assert [t.status for t in report.tables] == ["ok", "ok"]


def test_not_replicated_notes_are_info() -> None:
    facts = not_replicated(sequences=3, large_objects=2, generated_columns=[["public", "t", "total"]])
    report = run([table("t", has_primary_key=True, has_toast=True)], not_replicated=facts)
    codes = {f.code for f in check(report).findings}
    assert {"sequences_not_replicated", "large_objects_not_replicated", "generated_columns_not_replicated",
            "ddl_not_replicated", "unchanged_toast_not_sent"} <= codes
    assert check(report).status is CheckStatus.PASS


def test_unchanged_toast_counts_the_selected_plain_tables_that_have_toast() -> None:
    rows = [table("a", has_primary_key=True, has_toast=True), table("b", has_primary_key=True, has_toast=False),
            table("m", relkind="p", has_primary_key=True, has_toast=False),
            table("m_1", parent=("public", "m"), has_primary_key=True, has_toast=True),
            table("old", has_primary_key=True)]  # a snapshot saved before has_toast was read: not counted
    notes = [f for f in check(run(rows)).findings if f.code == "unchanged_toast_not_sent"]
    assert [(f.observed, f.severity) for f in notes] == [(2, Severity.INFO)]
    assert not [f for f in check(run([table("c", has_primary_key=True)])).findings if f.code == "unchanged_toast_not_sent"]


def test_empty_selection_passes() -> None:
    report = run([])
    assert check(report).status is CheckStatus.PASS and report.tables == []


def test_missing_tables_fact_is_error() -> None:
    snap = make_snapshot()
    snap.failures["tables"] = "57014: canceling statement due to lock timeout"
    report = run_checks(snap, Options(checks=["table_keys"]))
    assert check(report).status is CheckStatus.ERROR and "lock timeout" in (check(report).error or "")


@pytest.mark.parametrize(("schema", "name", "index"), [
    ("Sales EU", 'a"b; DROP', "idx"), ("my.schema", "select", 'i"x'), ("Ünï", "Mixed Case", "ÜIdx")])
def test_generated_sql_quotes_every_identifier(schema: str, name: str, index: str) -> None:
    statement = identity_fix(table(name, schema=schema, candidate_index=index))
    assert statement is not None and statement.text() == sql.SQL("ALTER TABLE {} REPLICA IDENTITY USING INDEX {};").format(
        sql.Identifier(schema, name), sql.Identifier(index)).as_string(None)


def test_template_suggests_sensible_decisions() -> None:
    rows = [table("small"), table("huge", size_bytes=2 << 30), table("cand", candidate_index="k"),
            table("n", relreplident="n", has_primary_key=True), table("fine", has_primary_key=True)]
    document, notes = template(run(rows))
    assert document == {"decisions": {"public.small": "replica_identity_full", "public.huge": "add_pk",
                                      "public.cand": "add_pk", "public.n": "add_pk"}}
    assert len(notes) == 4


def test_tables_the_publication_reaches_outside_the_selection_are_judged() -> None:
    outside = [table("log", schema="other")]
    report = run([table("a", has_primary_key=True)], published_tables=outside,
                 publications=snapshots.publications([snapshots.publication("allpub", puballtables=True)]))
    assert check(report).status is CheckStatus.FAIL
    f = finding(report, "other.log")
    assert f.code == "no_replica_identity" and "outside the selection" in f.message and "'cdc_publication'" in f.message
    assert entry(report, "log").status == "needs_decision"


def test_unkeyed_tables_of_other_publications_warn_only() -> None:
    pubs = snapshots.publications([snapshots.publication("allpub", puballtables=True)],
                                  unkeyed_elsewhere=[["allpub", "other", "log"], ["allpub", "public", "t"]])
    report = run([table("t")], publications=pubs)
    elsewhere = [f for f in check(report).findings if f.code == "unkeyed_in_other_publication"]
    assert [f.object for f in elsewhere] == ["other.log"]  # public.t is judged (and fails) as a selected table
    assert elsewhere[0].severity is Severity.WARNING and "allpub" in elsewhere[0].message
    assert finding(report, "public.t").severity is Severity.ERROR


def test_insert_only_consumer_publication_softens_missing_identity() -> None:
    pubs = snapshots.publications([snapshots.publication("cdc_publication", pubupdate=False, pubdelete=False)])
    report = run([table("t")], publications=pubs)
    assert finding(report, "public.t").severity is Severity.WARNING
    assert check(report).status is CheckStatus.WARN


def test_exclude_of_a_table_the_consumers_publication_publishes_is_not_applied() -> None:
    rows = [table("a", has_primary_key=True), table("log")]
    pubs = snapshots.publications([snapshots.publication("cdc_publication")],
                                  members=[snapshots.member("public", "a"), snapshots.member("public", "log")])
    report = run(rows, {"public.log": "exclude"}, publications=pubs)
    errors = {(f.object, f.code) for f in check(report).findings if f.severity is Severity.ERROR}
    assert errors == {("public.log", "exclusion_not_applied"), ("public.log", "no_replica_identity")}
    assert entry(report, "log").status == "needs_decision" and entry(report, "log").decision == "exclude"
    unpublished = run(rows, {"public.log": "exclude"}, publications=snapshots.publications(
        [snapshots.publication("cdc_publication")], members=[snapshots.member("public", "a")]))
    assert check(unpublished).status is CheckStatus.PASS and entry(unpublished, "log").status == "excluded"


def test_exclude_on_a_parent_leaves_its_partitions_out_of_the_printed_publication() -> None:
    rows = [table("a", has_primary_key=True), table("m", relkind="p"), table("m_1", parent=("public", "m"))]
    report = run_checks(make_snapshot(tables=rows, publications=snapshots.publications()),
                        Options(checks=["table_keys", "publication"], decisions={"public.m": "exclude"}))
    assert report.check("table_keys").status is CheckStatus.PASS
    printed = [s for f in report.check("publication").findings for s in f.remediation.sql_text()]
    assert printed == ['CREATE PUBLICATION "cdc_publication" FOR TABLE "public"."a";'], printed


def test_insert_only_consumer_publication_softens_unkept_decisions_and_full_without_equality() -> None:
    pubs = snapshots.publications([snapshots.publication("cdc_publication", pubupdate=False, pubdelete=False)])
    rows = [table("a"), table("b"), table("j", relreplident="f", without_equality="json")]
    report = run(rows, {"public.a": "add_pk", "public.b": "replica_identity_full"}, profile="native",
                 publications=pubs)
    assert {(f.object, f.code, f.severity) for f in check(report).findings if f.object in ("public.a", "public.b",
                                                                                              "public.j")} == {
        ("public.a", "decided_add_pk", Severity.WARNING),
        ("public.b", "decided_replica_identity_full", Severity.WARNING),
        ("public.j", "full_identity_without_equality", Severity.WARNING)}
    assert check(report).status is CheckStatus.WARN
