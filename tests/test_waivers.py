"""Waivers: matched, expired, unmatched — each changes (or not) the verdict as promised."""

from __future__ import annotations

from datetime import date

from preflight import Options, run_checks
from preflight.models import CheckResult, CheckStatus, ExitCode, FailOn, Report, Verdict, WaiverOutcome, exit_code
from preflight.reports import table
from preflight.waivers import Waiver
from tests.snapshots import make_snapshot

ENGINE = ["reachability", "writer_status", "logical_replication", "slot_capacity"]


def run(*waivers: Waiver) -> tuple[Report, CheckResult, list[WaiverOutcome]]:
    report = run_checks(make_snapshot({"wal_level": "replica"}), Options(checks=ENGINE, waivers=list(waivers)))
    return report, report.check("logical_replication"), report.waivers


def test_matched_waiver_keeps_finding_but_not_the_verdict() -> None:
    report, check, outcomes = run(Waiver(check="logical_replication", object="wal_level", reason="migrating next week"))
    finding = check.findings[0]
    assert finding.waived and finding.waiver_reason == "migrating next week"
    assert check.status is CheckStatus.PASS
    assert report.status is Verdict.READY
    assert exit_code(report) is ExitCode.OK
    assert outcomes[0].state == "applied" and outcomes[0].matched == 1


def test_expired_waiver_stops_applying_and_says_so() -> None:
    report, check, outcomes = run(Waiver(check="logical_replication", reason="old", expires=date(2020, 1, 1)))
    assert check.status is CheckStatus.FAIL
    assert not check.findings[0].waived
    assert report.status is Verdict.NOT_READY
    assert outcomes[0].state == "expired"


def test_unmatched_waiver_is_reported() -> None:
    _, _, outcomes = run(Waiver(check="slot_capacity", object="nothing_here", reason="stale"))
    assert outcomes[0].state == "unmatched" and outcomes[0].matched == 0


def test_code_narrows_the_waiver() -> None:
    _, check, outcomes = run(Waiver(check="logical_replication", code="wal_sender_timeout_disabled", reason="x"))
    assert check.status is CheckStatus.FAIL
    assert outcomes[0].state == "unmatched"


def test_stale_waivers_are_warning_findings_of_the_check_they_name() -> None:
    report, check, _ = run(Waiver(check="logical_replication", object="wal_level", reason="old", expires=date(2020, 1, 1)),
                           Waiver(check="slot_capacity", object="nothing_here", reason="stale"))
    [expired] = [f for f in check.findings if f.code == "waiver_expired"]
    assert expired.severity.value == "warning" and expired.object == "wal_level"
    assert "expired on 2020-01-01 (reason: old)" in expired.message
    slots = report.check("slot_capacity")
    [unmatched] = [f for f in slots.findings if f.code == "waiver_unmatched"]
    assert unmatched.object == "nothing_here" and "matched no finding" in unmatched.message
    assert slots.status is CheckStatus.WARN  # a stale waiver is noticed (and fails --fail-on warning)
    assert exit_code(report, FailOn.WARNING) is ExitCode.FINDINGS


def test_a_waived_finding_says_so_in_the_table_with_reason_and_date() -> None:
    report, _, _ = run(Waiver(check="logical_replication", object="wal_level", reason="migrating next week",
                              expires=date(2999, 1, 31)))
    for style in (table.Style(), table.Style(detail="verbose")):
        assert "waived (migrating next week, until 2999-01-31)" in " ".join(table.render(report, style).split())
