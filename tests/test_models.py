"""Verdict and exit codes exactly as docs/json-contract.md states them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from preflight.models import (
    CheckResult,
    CheckStatus,
    FailOn,
    Finding,
    Report,
    Severity,
    Target,
    ToolInfo,
    Verdict,
    exit_code,
    status_from_findings,
    summarize,
    verdict,
)


def report_with(*statuses: CheckStatus) -> Report:
    checks = [CheckResult(id=f"c{i}", title="t", status=s) for i, s in enumerate(statuses)]
    return Report(tool=ToolInfo(version="0"), generated_at=datetime(2026, 1, 1, tzinfo=UTC), target=Target(dsn=""),
                  options={}, status=verdict(checks), summary=summarize(checks), checks=checks)


P, W, F, E, S = CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.SKIP


@pytest.mark.parametrize(
    ("statuses", "expected_verdict", "codes"),
    [
        ((P, P), Verdict.READY, (0, 0, 0)),
        ((P, W), Verdict.READY, (0, 1, 0)),
        ((P, S), Verdict.READY, (0, 0, 0)),
        ((P, F), Verdict.NOT_READY, (1, 1, 0)),
        ((P, E), Verdict.INCOMPLETE, (3, 3, 3)),
        ((W, E), Verdict.INCOMPLETE, (3, 1, 3)),
        ((F, E), Verdict.NOT_READY, (1, 1, 3)),
    ],
)
def test_verdict_and_exit_codes(statuses: tuple[CheckStatus, ...], expected_verdict: Verdict, codes: tuple[int, int, int]) -> None:
    report = report_with(*statuses)
    assert report.status is expected_verdict
    assert (exit_code(report, FailOn.ERROR), exit_code(report, FailOn.WARNING), exit_code(report, FailOn.NEVER)) == codes


def test_status_from_findings() -> None:
    def f(sev: Severity) -> Finding:
        return Finding(code="x", severity=sev, message="m")

    assert status_from_findings([]) is CheckStatus.PASS
    assert status_from_findings([f(Severity.INFO)]) is CheckStatus.PASS
    assert status_from_findings([f(Severity.INFO), f(Severity.WARNING)]) is CheckStatus.WARN
    assert status_from_findings([f(Severity.WARNING), f(Severity.ERROR)]) is CheckStatus.FAIL


def test_summary_uses_contract_keys() -> None:
    dumped = report_with(P, W, F, E, S).model_dump(by_alias=True, mode="json")
    assert dumped["summary"] == {"pass": 1, "warn": 1, "fail": 1, "error": 1, "skip": 1}
    assert dumped["schema_version"] == "1"
