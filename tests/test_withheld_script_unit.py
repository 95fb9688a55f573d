"""The remediation script never breaks the source: a statement waits for the fixes it depends on."""

from __future__ import annotations

from preflight import Options, run_checks
from preflight.models import Report
from preflight.reports import sql as sql_report
from tests.snapshots import make_snapshot, publications, table


def script(report: Report) -> list[str]:
    return sql_report.remediation_lines(report)


def run(*tables_: object, decisions: dict[str, str] | None = None) -> Report:
    snap = make_snapshot(tables=list(tables_), publications=publications())
    return run_checks(snap, Options(checks=["table_keys", "publication"], decisions=decisions or {}))


CREATE = 'CREATE PUBLICATION "cdc_publication" FOR TABLE "public"."a", "public"."log";'


def test_create_publication_is_withheld_while_a_table_has_no_identity_and_no_sql_fix() -> None:
    lines = script(run(table("public", "a"), table("public", "log", has_primary_key=False)))
    assert CREATE not in lines  # pasting it would break UPDATE/DELETE on public.log at once
    assert "-- " + CREATE in lines
    withheld = next(line for line in lines if "WITHHELD" in line)
    assert "table_keys no_replica_identity on public.log" in withheld


def test_create_publication_follows_the_identity_fix_it_depends_on() -> None:
    lines = script(run(table("public", "a"), table("public", "log", has_primary_key=False),
                       decisions={"public.log": "replica_identity_full"}))
    fix = 'ALTER TABLE "public"."log" REPLICA IDENTITY FULL;'
    assert fix in lines and CREATE in lines
    assert lines.index(fix) < lines.index(CREATE)
    assert not [line for line in lines if "WITHHELD" in line]


def test_a_healthy_selection_prints_the_create_plainly() -> None:
    lines = script(run(table("public", "a"), table("public", "log")))
    assert CREATE in lines and not [line for line in lines if "WITHHELD" in line]
