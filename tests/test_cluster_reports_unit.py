"""Rendering an --all-databases report without a server: the JSON contract, the database sections, and
the psql ``\\connect`` line for hostile database names."""

from __future__ import annotations

import json

import pytest

from preflight.models import (
    CheckResult,
    CheckStatus,
    DatabaseReport,
    Finding,
    Remediation,
    Report,
    Severity,
    Verdict,
    exit_code,
    summarize,
    verdict,
)
from preflight.reports import FORMATS
from preflight.reports.json import render as render_json
from preflight.sqltext import psql_connect
from preflight.statements import as_statement
from tests.canned import canned_report

HOSTILE = "evil\n\\! rm -rf / 'x"


def database(name: str, status: CheckStatus, sql: str | None = None) -> DatabaseReport:
    findings = [Finding(code="no_select", severity=Severity.ERROR if status is CheckStatus.FAIL else Severity.WARNING,
                        object=f"{name}_table", message="cannot read",
                        remediation=Remediation(sql=[as_statement(sql)] if sql else []))]
    checks = [CheckResult(id="grants", title="Privileges", status=status, findings=findings)]
    return DatabaseReport(dbname=name, status="checked", verdict=verdict(checks), summary=summarize(checks),
                          checks=checks)


def cluster_report() -> Report:
    report = canned_report()
    dbs = [database("shop", CheckStatus.FAIL, 'GRANT SELECT ON TABLE "public"."t" TO "cdc";'),
           database(HOSTILE, CheckStatus.WARN, 'GRANT SELECT ON TABLE "public"."u" TO "cdc";')]
    everything = report.checks + [c for db in dbs for c in db.checks]
    return report.model_copy(update={"databases": dbs, "status": verdict(everything),
                                     "summary": summarize(everything)})


def test_single_database_json_has_no_databases_key() -> None:
    assert "databases" not in json.loads(render_json(canned_report()))
    assert "databases" not in json.loads(canned_report().to_json())


def test_streamed_json_equals_the_model_dump_with_databases() -> None:
    report = cluster_report()
    streamed = json.loads(render_json(report))
    assert streamed == json.loads(report.to_json())
    assert [db["dbname"] for db in streamed["databases"]] == ["shop", HOSTILE]
    assert streamed["databases"][0]["checks"][0]["findings"][0]["object"] == "shop_table"


def test_exit_code_counts_every_database() -> None:
    report = canned_report().model_copy(update={"checks": [], "databases": [database("shop", CheckStatus.FAIL)]})
    assert exit_code(report) == 1
    assert report.database_views()[0][1].target.dbname == "shop"
    assert report.database_views()[0][1].status is Verdict.NOT_READY


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_puts_the_finding_under_its_database(fmt: str) -> None:
    text = FORMATS[fmt](cluster_report())
    assert text.index("shop") < text.index("shop_table")
    if fmt == "sql":
        assert "\n\\! rm" not in text, "a database name must never start a psql meta-command line"


def test_sql_connects_before_each_database_section() -> None:
    script = FORMATS["sql"](cluster_report())
    lines = script.splitlines()
    shop = lines.index(psql_connect("shop"))
    assert lines[shop + 1:].index('GRANT SELECT ON TABLE "public"."t" TO "cdc";') >= 0
    hostile = lines.index(psql_connect(HOSTILE))
    assert shop < hostile < lines.index('GRANT SELECT ON TABLE "public"."u" TO "cdc";')


@pytest.mark.parametrize(("name", "line"), [
    ("app", "\\connect -reuse-previous=on 'dbname=''app'''"),
    ("o'hara", "\\connect -reuse-previous=on 'dbname=''o\\\\''hara'''"),
    ("host=evil", "\\connect -reuse-previous=on 'dbname=''host=evil'''"),
    ("a\nb", "\\connect -reuse-previous=on 'dbname=''a\\012b'''"),
])
def test_psql_connect_quotes_the_name_inside_a_conninfo(name: str, line: str) -> None:
    assert psql_connect(name) == line
