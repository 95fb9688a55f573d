"""Waivers: reviewed exceptions for findings. A waived finding stays in the report, marked, but no
longer decides the verdict; an expired waiver stops applying and says so; an unmatched one is reported."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from preflight.models import CheckResult, CheckStatus, WaiverOutcome, status_from_findings


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
    """Mark matching findings waived (in place), re-derive check statuses, and report every waiver."""
    outcomes: list[WaiverOutcome] = []
    for waiver in waivers:
        expired = waiver.expires is not None and waiver.expires < today
        matched = 0
        for result in results:
            for finding in result.findings:
                if waiver.matches(result.id, finding.code, finding.object):
                    matched += 1
                    if not expired and not finding.waived:
                        finding.waived = True
                        finding.waiver_reason = waiver.reason
        state = "expired" if expired else ("applied" if matched else "unmatched")
        outcomes.append(WaiverOutcome(check=waiver.check, object=waiver.object, code=waiver.code, reason=waiver.reason,
                                      expires=waiver.expires.isoformat() if waiver.expires else None, state=state,
                                      matched=matched))
    for result in results:
        if result.status in (CheckStatus.PASS, CheckStatus.WARN, CheckStatus.FAIL) and result.findings:
            result.status = status_from_findings(result.findings)
    return outcomes
