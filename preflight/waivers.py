"""Waivers: reviewed exceptions for findings. A waived finding stays in the report, marked, but no
longer decides the verdict; an expired waiver stops applying and says so; an unmatched one is reported.
Both of those are also a warning finding of the check the waiver names (``waiver_expired``,
``waiver_unmatched``), so that a stale waiver shows where people look, and gets cleaned up."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from preflight.codes import WAIVER_CODES
from preflight.models import (
    CheckResult,
    CheckStatus,
    Finding,
    Remediation,
    Severity,
    WaiverOutcome,
    status_from_findings,
)

_EDIT = WAIVER_CODES["waiver_expired"].explain


class Waiver(BaseModel):
    """``check`` (id), optional ``object`` (name syntax) and ``code``, a ``reason``, optional ``expires``."""

    model_config = ConfigDict(extra="forbid")

    check: str = Field(min_length=1)
    object: str | None = None
    code: str | None = None
    reason: str = Field(min_length=1)
    expires: date | None = None

    def matches(self, check_id: str, code: str, obj: str | None) -> bool:
        return (self.check == check_id and (self.object is None or self.object == obj)
                and (self.code is None or self.code == code))


def apply_waivers(results: list[CheckResult], waivers: list[Waiver], today: date) -> list[WaiverOutcome]:
    """Replace matching findings by waived copies (findings are frozen: the results' lists change), re-derive
    check statuses, and report every waiver."""
    outcomes: list[WaiverOutcome] = []
    for waiver in waivers:
        expired = waiver.expires is not None and waiver.expires < today
        matched = 0
        for result in results:
            for i, finding in enumerate(result.findings):
                if waiver.matches(result.id, finding.code, finding.object):
                    matched += 1
                    if not expired and not finding.waived:
                        result.findings[i] = replace(finding, waived=True, waiver_reason=waiver.reason)
        state = "expired" if expired else ("applied" if matched else "unmatched")
        outcomes.append(WaiverOutcome(check=waiver.check, object=waiver.object, code=waiver.code, reason=waiver.reason,
                                      expires=waiver.expires.isoformat() if waiver.expires else None, state=state,
                                      matched=matched))
        if state != "applied":
            _stale(results, waiver, state)
    for result in results:
        if result.status in (CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL) and result.findings:
            result.status = status_from_findings(result.findings)
    return outcomes


def _stale(results: list[CheckResult], waiver: Waiver, state: str) -> None:
    """A warning finding on the check the waiver names (when it ran): the waiver needs attention."""
    target = next((r for r in results if r.id == waiver.check
                   and r.status in (CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL)), None)
    if target is None:
        return
    what = waiver.check + (f" {waiver.code}" if waiver.code else "") + (f" on {waiver.object}" if waiver.object else "")
    if state == "expired":
        message = (f"The waiver of {what} expired on {waiver.expires} (reason: {waiver.reason}): the findings it "
                   "waived count again.")
    else:
        message = (f"The waiver of {what} matched no finding in this run (reason: {waiver.reason}): what it excused "
                   "is gone, or its check, object or code is misspelt.")
    finding = Finding(code=f"waiver_{state}", severity=Severity.WARNING, message=message, object=waiver.object,
                      observed=state, expected="a waiver that matches a finding and has not expired",
                      remediation=Remediation(steps=[_EDIT]))
    WAIVER_CODES.admit(target.id, [finding])
    target.findings.append(finding)
