"""Golden files for every format, rendered from one canned report. Set UPDATE_GOLDEN=1 to rewrite them
(then review the diff: the golden content is the reviewed contract)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from preflight.models import Report
from preflight.reports import FORMATS
from tests.canned import canned_report

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_golden(fmt: str) -> None:
    rendered = FORMATS[fmt](canned_report())
    path = GOLDEN / f"canned.{fmt}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    golden = path.read_text(encoding="utf-8")
    assert golden.strip(), "golden files are never empty"
    assert rendered == golden


def test_json_round_trips_through_the_model() -> None:
    text = FORMATS["json"](canned_report())
    again = Report.model_validate_json(text)
    assert again == canned_report()
    data = json.loads(text)
    assert data["tables"][1]["schema"] == "Sales EU"
    assert set(data["summary"]) == {"pass", "warn", "fail", "error", "skip"}


def test_sql_script_is_safe_to_paste() -> None:
    script = FORMATS["sql"](canned_report())
    lines = script.splitlines()
    assert "ALTER SYSTEM SET \"wal_level\" = 'logical';" in lines
    assert "-- RESTART REQUIRED: takes effect only after a server restart" in lines
    # destructive statements are commented out; message text never escapes its comment
    assert "SELECT pg_catalog.pg_drop_replication_slot('old_cdc');" not in lines
    assert "-- SELECT pg_catalog.pg_drop_replication_slot('old_cdc');" in lines
    assert all(line.startswith("--") or line.strip() == "" or line.rstrip().endswith(";") for line in lines)


def test_table_lists_every_check_with_mark() -> None:
    text = FORMATS["table"](canned_report())
    assert "Verdict: NOT READY" in text
    for check in canned_report().checks:
        assert check.id in text
    assert "55P03" in text and "requires grants" in text
    assert 'Sales EU."a""b; DROP"' in text  # name syntax: a part is quoted only for dots and quotes
    assert "needs_decision" in text and "public.orders" not in text  # ok tables are counted, not listed
    assert "Remediation script" in text


def test_table_format_pages_long_lists() -> None:
    from preflight.models import CheckStatus, Finding, Severity, TableEntry
    from preflight.reports.table import MAX_FINDINGS_PER_CHECK, MAX_TABLE_ROWS

    report = canned_report()
    report.tables = [TableEntry(schema="s", name=f"t{i}", kind="table", persistence="permanent", has_primary_key=False,
                                replica_identity="default", status="needs_decision") for i in range(MAX_TABLE_ROWS + 100)]
    report.checks[2].findings = [Finding(code="x", severity=Severity.ERROR, message=f"m{i}")
                                 for i in range(MAX_FINDINGS_PER_CHECK + 30)]
    report.checks[2].status = CheckStatus.FAIL
    text = FORMATS["table"](report)
    assert "... and 100 more (every table is in --format json)" in text
    assert "... and 30 more findings" in text
    assert len(text.splitlines()) < MAX_TABLE_ROWS + MAX_FINDINGS_PER_CHECK + 100
