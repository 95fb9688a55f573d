"""Waivers: matched, expired, unmatched — each changes (or not) the verdict as promised."""

from __future__ import annotations

from datetime import date

from preflight import Options, run_checks
from preflight.models import CheckResult, CheckStatus, ExitCode, Report, Verdict, WaiverOutcome, exit_code
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
