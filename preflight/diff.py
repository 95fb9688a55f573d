"""``pg-preflight diff OLD.json NEW.json``: what got better or worse between two reports (nightly audits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.models import CheckStatus, Finding, Report, Severity, Verdict

STATUS_RANK = {CheckStatus.PASS: 0, CheckStatus.SKIP: 0, CheckStatus.WARN: 1, CheckStatus.ERROR: 2, CheckStatus.FAIL: 3}
VERDICT_RANK = {Verdict.READY: 0, Verdict.INCOMPLETE: 1, Verdict.NOT_READY: 2}
Key = tuple[str, str, str | None]


@dataclass
class ReportDiff:
    verdict: tuple[Verdict, Verdict]
    checks: list[tuple[str, CheckStatus | None, CheckStatus | None]] = field(default_factory=list)
    new_findings: list[tuple[Key, Finding]] = field(default_factory=list)
    fixed_findings: list[tuple[Key, Finding]] = field(default_factory=list)
    changed_values: list[tuple[Key, object, object]] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        if VERDICT_RANK[self.verdict[1]] > VERDICT_RANK[self.verdict[0]]:
            return True
        if any(old is not None and new is not None and STATUS_RANK[new] > STATUS_RANK[old] for _, old, new in self.checks):
            return True
        return any(f.severity is not Severity.INFO and not f.waived for _, f in self.new_findings)


def _findings(report: Report) -> dict[Key, Finding]:
    return {(c.id, f.code, f.object): f for c in report.checks for f in c.findings}


def diff_reports(old: Report, new: Report) -> ReportDiff:
    result = ReportDiff(verdict=(old.status, new.status))
    old_checks = {c.id: c.status for c in old.checks}
    new_checks = {c.id: c.status for c in new.checks}
    for check_id in list(old_checks) + [i for i in new_checks if i not in old_checks]:
        before, after = old_checks.get(check_id), new_checks.get(check_id)
        if before != after:
            result.checks.append((check_id, before, after))
    before_f, after_f = _findings(old), _findings(new)
    result.new_findings = [(k, f) for k, f in after_f.items() if k not in before_f]
    result.fixed_findings = [(k, f) for k, f in before_f.items() if k not in after_f]
    result.changed_values = [(k, before_f[k].observed, f.observed) for k, f in after_f.items()
                             if k in before_f and before_f[k].observed != f.observed]
    return result


def _key(key: Key) -> str:
    check_id, code, obj = key
    return f"{check_id}/{code}" + (f" [{obj}]" if obj else "")


def render_diff(diff: ReportDiff) -> str:
    lines = [f"verdict: {diff.verdict[0].value} -> {diff.verdict[1].value}"
             if diff.verdict[0] != diff.verdict[1] else f"verdict: {diff.verdict[1].value} (unchanged)"]
    for check_id, before, after in diff.checks:
        lines.append(f"check {check_id}: {before.value if before else 'absent'} -> {after.value if after else 'absent'}")
    for key, finding in diff.new_findings:
        lines.append(f"+ new {finding.severity.value}: {_key(key)}: {finding.message}")
    for key, finding in diff.fixed_findings:
        lines.append(f"- fixed: {_key(key)}: {finding.message}")
    for key, old_value, new_value in diff.changed_values:
        lines.append(f"~ changed: {_key(key)}: {old_value} -> {new_value}")
    lines.append("result: WORSE" if diff.worse else "result: not worse")
    return "\n".join(lines) + "\n"
