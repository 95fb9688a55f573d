"""Golden files for every format, rendered from one canned report. Set UPDATE_GOLDEN=1 to rewrite them
(then review the diff: the golden content is the reviewed contract)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight.models import CheckStatus, Report
from preflight.reports import FORMATS, table
from preflight.statements import AlterTable
from tests.canned import canned_report

GOLDEN = Path(__file__).parent / "golden"


def _verbose(report: Report) -> str:
    return table.render(report, table.Style(detail="verbose"))


def _quiet(report: Report) -> str:
    return table.render(report, table.Style(detail="quiet"))


RENDERINGS: dict[str, Callable[[Report], str]] = {**FORMATS, "table-verbose": _verbose, "table-quiet": _quiet}


def unreachable_report() -> Report:
    """A server that refused the connection: nothing was checked."""
    from preflight import Options, run_checks
    from preflight.facts import ConnectOutcome, Snapshot

    down = Snapshot(connect=ConnectOutcome(ok=False, failure_kind="refused", advice="Check the host and port.",
                                           failure_message="nothing accepts connections at this address and port",
                                           detail="connection refused"))
    return run_checks(down, Options(dsn="postgresql://cdc@db.example.com:5432/app"))


@pytest.mark.parametrize("detail", ["short", "verbose"])
def test_golden_unreachable(detail: str) -> None:
    """A failed connection: the verdict says so, the skipped checks are one line, the fix is the advice."""
    rendered = table.render(unreachable_report(), table.Style(width=80, detail="verbose" if detail == "verbose" else "short"))
    path = GOLDEN / f"unreachable.table-{detail}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    assert rendered == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", sorted(RENDERINGS))
def test_golden(fmt: str) -> None:
    """Every format, and the table's short (default), verbose and quiet shapes."""
    rendered = RENDERINGS[fmt](canned_report())
    path = GOLDEN / f"canned.{fmt}.txt"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(rendered, encoding="utf-8")
    golden = path.read_text(encoding="utf-8")
    assert golden.strip(), "golden files are never empty"
    assert rendered == golden


def test_json_round_trips_through_the_model() -> None:
    text = FORMATS["json"](canned_report())
    again = Report.model_validate_json(text)
    # Statements are values in memory and text in JSON: read back, each is kept as that text, so the
    # report writes the same document again (and every other field compares equal).
    assert FORMATS["json"](again) == text
    def fixes(report: Report) -> list[tuple[str, str, list[str], list[str]]]:
        return [(c.id, f.code, f.remediation.sql_text(), f.remediation.steps_text()) for c in report.checks
                for f in c.findings]

    assert fixes(again) == fixes(canned_report())
    assert again.model_copy(update={"checks": []}) == canned_report().model_copy(update={"checks": []})
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


def test_verbose_table_lists_every_check_with_mark() -> None:
    text = table.render(canned_report(), table.Style(detail="verbose"))
    assert text.splitlines()[2].startswith("Verdict: NOT READY  1 failed, 1 errored, 1 warned, 2 passed, 1 skipped")
    for check in canned_report().checks:
        assert f" {check.id} " in text
    assert "55P03" in text and "requires grants" in text
    assert 'Sales EU."a""b; DROP"' in text  # name syntax: a part is quoted only for dots and quotes
    assert "needs_decision" in text and "public.orders" not in text  # ok tables are counted, not listed
    assert "Fix (review first" in text


def test_short_table_is_the_verdict_the_troubled_checks_the_script_and_the_next_step() -> None:
    report = canned_report()
    text = table.render(report)
    troubled = {c.id for c in report.checks if c.status.value in ("fail", "warn", "error")}
    listed = {line.split()[1] for line in text.splitlines() if line[:2] in ("✗ ", "! ", "E ")}
    assert listed == troubled
    assert "logical decoding needs" not in text  # the messages are --verbose's
    assert "55P03" in text  # an error is its check's one line
    assert "ALTER SYSTEM SET \"wal_level\" = 'logical';" in text.splitlines()
    assert text.splitlines()[-1].startswith("  ") and text.splitlines()[-2].startswith("Next: ")


def test_quiet_table_is_the_verdict_line_alone() -> None:
    assert table.render(canned_report(), table.Style(detail="quiet")) == (
        "Verdict: NOT READY  1 failed, 1 errored, 1 warned, 2 passed, 1 skipped\n")  # the DSN would not fit in 100 columns
    assert table.render(canned_report(), table.Style(detail="quiet", width=120)) == (
        "Verdict: NOT READY  1 failed, 1 errored, 1 warned, 2 passed, 1 skipped  (postgresql://cdc:***@db.example.com:5432/app)\n")


def test_table_format_pages_long_lists() -> None:
    from preflight.models import Finding, Severity, TableEntry
    from preflight.reports.table import MAX_FINDINGS_PER_CHECK, MAX_TABLE_ROWS

    report = canned_report()
    report.tables = [TableEntry(schema="s", name=f"t{i}", kind="table", persistence="permanent", has_primary_key=False,
                                replica_identity="default", status="needs_decision") for i in range(MAX_TABLE_ROWS + 100)]
    report.checks[2].findings = [Finding(code="x", severity=Severity.ERROR, message=f"m{i}")
                                 for i in range(MAX_FINDINGS_PER_CHECK + 30)]
    report.checks[2].status = CheckStatus.FAIL
    report.checks[1].findings = [Finding(code=f"c{i}", severity=Severity.ERROR, message=f"n{i}")
                                 for i in range(MAX_FINDINGS_PER_CHECK + 20)]
    report.checks[1].status = CheckStatus.FAIL
    text = table.render(report, table.Style(detail="verbose"))
    assert "... and 100 more (every table is in --format json)" in text
    assert f"x, {MAX_FINDINGS_PER_CHECK + 30} findings:" in text  # one code: one paragraph, its explanation once
    assert text.count("m0") == 1 and "m1" not in text
    assert "... and 20 more kinds of finding (see --format json)" in text
    assert len(text.splitlines()) < MAX_TABLE_ROWS + MAX_FINDINGS_PER_CHECK + 100


def test_the_short_script_pages_a_check_with_many_statements() -> None:
    from preflight.models import CheckStatus, Finding, Remediation, Severity
    from preflight.reports.table import MAX_SCRIPT_LINES

    report = canned_report()
    report.checks[2].findings = [
        Finding(code="no_replica_identity", severity=Severity.ERROR, object=f"s.t{i}", message="m",
                remediation=Remediation(sql=[AlterTable(("s", f"t{i}"), "REPLICA IDENTITY FULL")],
                                        steps=[f"Decide for s.t{i} in --decisions FILE."]))
        for i in range(500)]
    report.checks[2].status = CheckStatus.FAIL
    short = table.render(report)
    assert short.count("REPLICA IDENTITY FULL;") == MAX_SCRIPT_LINES - 1  # the block's heading is one of its lines
    assert f"... and {500 - MAX_SCRIPT_LINES + 1} more statements of logical_replication (all of them: --format sql)" in short
    verbose = table.render(report, table.Style(detail="verbose"))
    assert verbose.count("REPLICA IDENTITY FULL;") == 500
    assert "Decide for s.t0, s.t1, s.t2, s.t3, s.t4, s.t5, s.t6, s.t7 and 492 more in --decisions FILE." in " ".join(
        verbose.split())  # one grouped step, not 500


def test_html_of_an_unreachable_server_says_so_once() -> None:
    report = unreachable_report()
    page = FORMATS["html"](report)
    assert "UNREACHABLE" in page and "could not connect, nothing was checked" in page
    skipped = sum(c.status is CheckStatus.SKIP for c in report.checks)
    assert skipped > 1 and page.count('class="badge s-skip"') == 1  # one row for the skipped checks
    assert f"{skipped} checks" in page
