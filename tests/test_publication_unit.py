"""publication as a pure function of hand-built snapshots."""

from __future__ import annotations

from typing import Any

from preflight import Options, run_checks
from preflight.facts import PublicationMember, PublicationRow, Snapshot, TableRow
from preflight.models import CheckResult, CheckStatus, Finding
from tests import snapshots
from tests.snapshots import make_snapshot, member, publications
from tests.snapshots import publication as pub


def table(schema: str, name: str, relkind: str = "r", owns: bool = True, owner: str = "app", **more: Any) -> TableRow:
    return snapshots.table(schema, name, relkind=relkind, owner=owner, judged_role_owns=owns, **more)


def snap(tables: list[TableRow], pubs: list[PublicationRow] | None = None, members: list[PublicationMember] | None = None,
         can_create: bool = True, superuser: bool = False) -> Snapshot:
    return make_snapshot(tables=tables, publications=publications(pubs, members, can_create, superuser))


def run(snapshot: Snapshot, **options: Any) -> CheckResult:
    return run_checks(snapshot, Options(checks=["publication"], **options)).check("publication")


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def only(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, codes(result)
    return found[0]


TABLES = [table("public", "a"), table("Sales EU", 'a"b; DROP'), table("public", "v", relkind="v"),
          table("public", "u", relpersistence="u")]


def test_missing_tables_are_listed_with_add_table() -> None:
    result = run(snap(TABLES, [pub("p")], [member("public", "a")]), publication="p")
    assert result.status is CheckStatus.FAIL
    finding = only(result, "table_not_in_publication")  # views and unlogged tables are not publishable
    assert finding.object == 'Sales EU."a""b; DROP"'
    assert finding.remediation.sql_text() == ['ALTER PUBLICATION "p" ADD TABLE "Sales EU"."a""b; DROP";']
    assert "1/2 selected tables covered" in result.summary


def test_full_coverage_passes_and_excluded_tables_do_not_count() -> None:
    members = [member("public", "a"), member("Sales EU", 'a"b; DROP')]
    assert run(snap(TABLES, [pub("p", puballtables=True)], members), publication="p").status is CheckStatus.PASS
    decided = run(snap(TABLES, [pub("p")], [member("public", "a")]), publication="p",
                  decisions={'Sales EU."a""b; DROP"': "exclude"})
    assert decided.status is CheckStatus.PASS


def test_partitions_covered_through_leaves_or_root() -> None:
    tables = [table("public", "pt", relkind="p"),
              table("public", "pt1", is_partition=True, parent_schema="public", parent_name="pt")]
    leaves = run(snap(tables, [pub("p")], [member("public", "pt1", related=[["public", "pt"]])]), publication="p")
    assert leaves.status is CheckStatus.PASS
    viaroot = only(leaves, "publish_via_partition_root_off").remediation
    assert viaroot.sql == []  # a choice that changes what existing subscribers receive: never pasted with the rest
    assert viaroot.steps_text()[0].endswith('ALTER PUBLICATION "p" SET (publish_via_partition_root = true);')
    assert "REFRESH PUBLICATION" in viaroot.steps_text()[0]
    root = run(snap(tables, [pub("p", pubviaroot=True)], [member("public", "pt", related=[["public", "pt1"]])]),
               publication="p")
    assert root.status is CheckStatus.PASS and not root.findings
    none = run(snap(tables, [pub("p")], []), publication="p")
    by_object = {f.object: f.remediation for f in none.findings if f.code == "table_not_in_publication"}
    assert by_object["public.pt"].sql_text() == ['ALTER PUBLICATION "p" ADD TABLE "public"."pt";']
    assert by_object["public.pt1"].sql == [] and "parent" in by_object["public.pt1"].steps_text()[0]


def test_insert_only_publication_fails_and_its_fix_waits_for_unkeyed_members() -> None:
    members = [member("public", "a"), member("public", "k", identity_columns=None)]
    result = run(snap([table("public", "a"), table("public", "k")], [pub("p", pubupdate=False, pubdelete=False)],
                      members), publication="p")
    assert result.status is CheckStatus.FAIL  # updates and deletes never reach the consumer
    finding = only(result, "publication_operations")
    assert "insert-only" in finding.message and "silently" in finding.message
    assert finding.remediation.sql_text() == ["ALTER PUBLICATION \"p\" SET (publish = 'insert, update, delete, truncate');"]
    assert [(r.check, r.object) for r in finding.remediation.after] == [("table_keys", "public.k")]
    assert "waive publication_operations" in finding.remediation.steps_text()[0]
    no_insert = run(snap([table("public", "a")], [pub("p", pubinsert=False)], [member("public", "a")]), publication="p")
    assert no_insert.status is CheckStatus.FAIL


def test_column_list_without_key_and_row_filter_outside_identity_fail() -> None:
    members = [member("public", "a", attnames=["v"], identity_columns=["id"], rowfilter="(v > 0)",
                      rowfilter_columns=["v"])]
    result = run(snap([table("public", "a")], [pub("p")], members), publication="p")
    assert result.status is CheckStatus.FAIL
    omits = only(result, "column_list_omits_key")
    assert omits.severity.value == "error" and "id" in omits.message
    assert omits.remediation.sql_text() == ['BEGIN;\nALTER PUBLICATION "p" DROP TABLE "public"."a";\n'
                                     'ALTER PUBLICATION "p" ADD TABLE "public"."a" ("v", "id") WHERE ((v > 0));\nCOMMIT;']
    assert not [s for f in result.findings for s in f.remediation.sql_text() + f.remediation.steps_text() if "SET TABLE" in s
                and "never" not in s]  # SET TABLE would replace every other member of the publication
    flt = only(result, "row_filter")
    assert flt.observed == "(v > 0)" and flt.severity.value == "error" and "reads column(s) v" in flt.message
    keyed = [member("public", "a", attnames=["id", "v"], rowfilter="(id > 0)", rowfilter_columns=["id"])]
    on_key = run(snap([table("public", "a")], [pub("p")], keyed), publication="p")
    assert on_key.status is CheckStatus.WARN and only(on_key, "row_filter").severity.value == "warning"
    insert_only = run(snap([table("public", "a")], [pub("p", pubupdate=False, pubdelete=False)], members),
                      publication="p")
    assert only(insert_only, "column_list_omits_key").severity.value == "warning"  # nothing fails on the source


def test_no_publication_role_can_create() -> None:
    result = run(snap([table("public", "a"), table("Sales EU", "b")]))
    assert result.status is CheckStatus.PASS
    assert only(result, "publication_can_create").remediation.sql_text() == [
        'CREATE PUBLICATION "cdc_publication" FOR TABLE "public"."a", "Sales EU"."b";']


def test_named_publication_missing_fails_even_when_creatable() -> None:
    result = run(snap([table("public", "a")]), publication="gone")
    assert result.status is CheckStatus.FAIL  # the consumer's streaming: publication "gone" does not exist
    finding = only(result, "publication_can_create")
    assert "'gone' does not exist" in finding.message
    assert finding.remediation.sql_text() == ['CREATE PUBLICATION "gone" FOR TABLE "public"."a";']


def test_role_that_cannot_create_gets_owner_statement() -> None:
    tables = [table("public", "a", owns=False, owner="app"), table("public", "b", owns=False, owner="app")]
    result = run(snap(tables, can_create=False))
    assert result.status is CheckStatus.WARN
    finding = only(result, "publication_cannot_create")
    assert "lacks CREATE on the database" in finding.message and "does not own public.a" in finding.message
    assert "'app'" in finding.remediation.steps_text()[0]
    assert finding.remediation.sql_text() == ['CREATE PUBLICATION "cdc_publication" FOR TABLE "public"."a", "public"."b";']
    assert run(snap(tables, can_create=False, superuser=True)).status is CheckStatus.PASS


def test_plugins_without_publications_pass_with_note() -> None:
    for plugin in ("wal2json", "test_decoding", "decoderbufs"):
        result = run(snap([table("public", "a")]), plugin=plugin, publication="gone")
        assert result.status is CheckStatus.PASS
        assert codes(result) == ["publication_not_needed"]


def test_printed_publication_is_recognised_without_the_option() -> None:
    tables = [table("public", "a")]
    result = run(snap(tables, [pub("cdc_publication")], [member("public", "a")]))
    assert result.status is CheckStatus.PASS
    assert "publication_can_create" not in codes(result)
    assert only(result, "publication_recognised").object == "cdc_publication"
    other = run(snap(tables, [pub("someone_elses")], []))
    assert "publication_can_create" in codes(other)  # only the name the script creates is recognised


def test_create_waits_for_the_fix_of_every_unkeyed_table_and_partition_root() -> None:
    tables = [table("public", "a"), table("public", "log", has_primary_key=False),
              table("public", "m", relkind="p", relreplident="f", has_primary_key=False),
              table("public", "m1", is_partition=True, parent_schema="public", parent_name="m", has_primary_key=False)]
    finding = only(run(snap(tables)), "publication_can_create")
    assert finding.remediation.sql_text() == ['CREATE PUBLICATION "cdc_publication" FOR TABLE "public"."a", "public"."log", '
                                       '"public"."m" WITH (publish_via_partition_root = true);']
    assert [r.object for r in finding.remediation.after] == ["public.log", "public.m1"]


def test_add_table_waits_for_the_partitions_it_publishes() -> None:
    tables = [table("public", "m", relkind="p", relreplident="f", has_primary_key=False),
              table("public", "m1", is_partition=True, parent_schema="public", parent_name="m", has_primary_key=False)]
    result = run(snap(tables, [pub("p", pubviaroot=True)], []), publication="p")
    add = [f for f in result.findings if f.code == "table_not_in_publication" and f.remediation.sql_text()]
    assert [f.object for f in add] == ["public.m"]
    assert [r.object for r in add[0].remediation.after] == ["public.m1"]
