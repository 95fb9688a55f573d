"""row_security, columns, identifiers and sequences as pure functions of hand-built snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from preflight import Options, run_checks
from preflight.checks.identifiers import collisions, target_of
from preflight.checks.row_security import reads_filtered
from preflight.checks.sequences import sync_query
from preflight.facts import ColumnHazardRow, OwnedSequenceRow, RowSecurityRow
from preflight.models import CheckResult, Severity
from preflight.profiles import BUILTIN, NamingRule
from tests import snapshots
from tests.snapshots import make_snapshot


def rls(name: str = "t", owns: bool = False, forced: bool = False, bypasses: bool | None = False, policies: int = 0,
        sees_all: bool = False) -> RowSecurityRow:
    return RowSecurityRow("public", name, "app", forced, owns, bypasses, policies, sees_all)


def column(name: str, kind: str, generated: str = "", published: bool = False, table: str = "t") -> ColumnHazardRow:
    return ColumnHazardRow("public", table, name, kind, kind, generated, published)


def result(check_id: str, profile: str = "generic", version_num: int = 150000, **facts: Any) -> CheckResult:
    facts.setdefault("role", snapshots.role())
    facts.setdefault("tables", [])
    report = run_checks(make_snapshot(version_num=version_num, **facts), Options(checks=[check_id], profile=profile))
    return report.check(check_id)


@pytest.mark.parametrize(("row", "filtered"), [
    (rls(), True),  # no policy: nothing
    (rls(policies=1), True),  # a filtering policy
    (rls(policies=1, sees_all=True), False),  # USING (true) for the role
    (rls(owns=True), False),  # owners are exempt...
    (rls(owns=True, forced=True), True),  # ...unless FORCE
    (rls(bypasses=True, forced=True), False),  # superuser or BYPASSRLS
    (rls(bypasses=None), False),  # the role does not exist: grants says so
])
def test_which_reads_go_through_policies(row: RowSecurityRow, filtered: bool) -> None:
    assert reads_filtered(row) is filtered


def test_row_security_fails_per_filtered_table_with_the_policy_for_the_judged_role() -> None:
    out = result("row_security", row_security=[rls("a"), rls("b", policies=1, sees_all=True)],
                 role=snapshots.role(rolname="cdc"))
    assert [(f.code, f.object, f.severity) for f in out.findings] == [
        ("row_security_filters_copy", "public.a", Severity.ERROR)]
    assert out.findings[0].remediation.sql_text() == [
        'CREATE POLICY "cdc_reads_all_rows" ON "public"."a" FOR SELECT TO "cdc" USING (true);']


def test_generated_columns_per_version_and_profile() -> None:
    cols = [column("d", "int4", generated="s"), column("v", "int4", generated="v", table="u"),
            column("p", "int4", generated="s", published=True, table="w")]
    out = result("columns", column_hazards=cols, version_num=180000)
    assert {f.object: f.severity for f in out.findings} == {"public.t": Severity.WARNING, "public.u": Severity.WARNING}
    fixes = {f.object: f.remediation.sql_text() for f in out.findings}
    assert fixes == {"public.t": ['ALTER PUBLICATION "cdc_publication" SET (publish_generated_columns = stored);'],
                     "public.u": []}
    native = result("columns", "native", column_hazards=cols[:1])
    assert [(f.code, f.severity) for f in native.findings] == [("generated_columns_not_published", Severity.INFO)]


def test_column_rules_come_from_the_profile() -> None:
    cols = [column("n", "unbounded_numeric"), column("a", "array"), column("c", "composite"), column("m", "money")]
    flagged = {p: {f.object for f in result("columns", p, column_hazards=cols).findings} for p in BUILTIN}
    assert flagged["generic"] == flagged["native"] == flagged["ardent"] == set()
    assert flagged["debezium"] == {"public.t.c"}
    assert flagged["aws-dms"] == {"public.t.n", "public.t.a", "public.t.c"}


def test_unlogged_and_temporary_tables_warn_views_do_not() -> None:
    tables = [snapshots.table("public", "u", relpersistence="u"), snapshots.table("public", "tmp", relpersistence="t"),
              snapshots.table("public", "v", relkind="v"), snapshots.table("public", "ok")]
    out = result("columns", column_hazards=[], tables=tables)
    assert {f.object: (f.code, f.severity) for f in out.findings} == {
        "public.u": ("table_never_published", Severity.WARNING), "public.tmp": ("table_never_published", Severity.WARNING)}
    assert {f.object: f.remediation.sql_text() for f in out.findings} == {"public.u": ['ALTER TABLE "public"."u" SET LOGGED;'],
                                                                  "public.tmp": []}


DEBEZIUM = BUILTIN["debezium"].naming


def test_debezium_topics_replace_characters_and_keep_case() -> None:
    assert DEBEZIUM is not None
    assert target_of("public", "a b", DEBEZIUM).name == "public.a_b"
    assert target_of("Sales", "Orders", DEBEZIUM).name == "Sales.Orders"
    assert target_of("x.y", "z", DEBEZIUM).name == target_of("x", "y.z", DEBEZIUM).name == "x.y.z"


def test_folding_and_refusing_rules() -> None:
    rule = NamingRule(target="table", template="{schema}_{table}", allowed="a-z0-9_", reject=True, fold="lower")
    assert target_of("public", "Orders", rule).name == "public_orders"
    assert target_of("public", "line-items", rule).refused == "-"
    rows = [snapshots.table("public", "Orders"), snapshots.table("public", "orders"), snapshots.table("public", "x")]
    assert collisions(rows, rule) == {"public_orders": ["public.Orders", "public.orders"]}


def test_identifiers_without_naming_rules_say_nothing() -> None:
    rows = [snapshots.table("public", "a b"), snapshots.table("public", "a_b")]
    assert result("identifiers", tables=rows).findings == []
    assert [f.code for f in result("identifiers", "debezium", tables=rows).findings] == [
        "identifier_collision", "identifier_rewritten"]


def test_sequences_only_for_a_migration_cutover_and_names_quoted_as_literals() -> None:
    owned = [OwnedSequenceRow("Shop", "Orders_id_seq", "Shop", "Orders", "id"),
             OwnedSequenceRow("public", "it's_seq", "public", "items", "id")]
    assert result("sequences", owned_sequences=owned).findings == []
    out = result("sequences", "aws-dms", owned_sequences=owned)
    assert [(f.code, f.severity, f.observed) for f in out.findings] == [("sequences_not_synced", Severity.WARNING, 2)]
    query = sync_query(owned).text()
    assert "(VALUES ('Shop', 'Orders_id_seq'), ('public', 'it''s_seq'))" in query
    assert "pg_catalog.format('%I.%I', s.schemaname, s.sequencename)" in query
