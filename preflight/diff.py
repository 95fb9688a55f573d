"""``pg-preflight diff OLD.json NEW.json``: what got better or worse between two reports (nightly audits)."""

from __future__ import annotations

from dataclasses import dataclass, field

from preflight.models import CheckStatus, Estate, EstateServer, Finding, Report, Severity, Verdict
from preflight.settings import human_bytes

STATUS_RANK = {CheckStatus.PASS: 0, CheckStatus.SKIP: 0, CheckStatus.WARN: 1, CheckStatus.ERROR: 2, CheckStatus.FAIL: 3}
VERDICT_RANK = {Verdict.READY: 0, Verdict.INCOMPLETE: 1, Verdict.NOT_READY: 2}
Key = tuple[str, str, str | None]
# Findings whose ``observed`` is a number of bytes: a diff shows it as a size (330.6MB, not 346660864).
BYTE_VALUED = frozenset({"slot_retention_unlimited", "initial_copy_size"})


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
    # An observation (info) that comes or goes is neither a new problem nor a fix.
    result.new_findings = [(k, f) for k, f in after_f.items() if k not in before_f and f.severity is not Severity.INFO]
    result.fixed_findings = [(k, f) for k, f in before_f.items() if k not in after_f and f.severity is not Severity.INFO]
    result.changed_values = [(k, before_f[k].observed, f.observed) for k, f in after_f.items()
                             if k in before_f and before_f[k].observed != f.observed]
    return result


def _key(key: Key) -> str:
    check_id, code, obj = key
    return f"{check_id}/{code}" + (f" [{obj}]" if obj else "")


def _value(key: Key, value: object) -> object:
    if key[1] in BYTE_VALUED and isinstance(value, int | float) and not isinstance(value, bool):
        return human_bytes(value)
    return value


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
        lines.append(f"~ changed: {_key(key)}: {_value(key, old_value)} -> {_value(key, new_value)}")
    lines.append("result: WORSE" if diff.worse else "result: not worse")
    return "\n".join(lines) + "\n"


@dataclass
class EstateDiff:
    """Which servers got better or worse between two estate reports."""

    added: list[EstateServer] = field(default_factory=list)
    removed: list[EstateServer] = field(default_factory=list)
    verdicts: list[tuple[str, Verdict, Verdict]] = field(default_factory=list)
    new_failing: list[tuple[str, list[str]]] = field(default_factory=list)
    fixed: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def worse(self) -> bool:
        """A server's verdict worse, a new server that is not ready, or a check newly failing on a server."""
        return (any(VERDICT_RANK[new] > VERDICT_RANK[old] for _, old, new in self.verdicts)
                or any(s.verdict is not Verdict.READY for s in self.added) or bool(self.new_failing))


def diff_estates(old: Estate, new: Estate) -> EstateDiff:
    before = {s.name: s for s in old.servers}
    after = {s.name: s for s in new.servers}
    result = EstateDiff(added=[s for name, s in after.items() if name not in before],
                        removed=[s for name, s in before.items() if name not in after])
    for name, now in after.items():
        was = before.get(name)
        if was is None:
            continue
        if was.verdict != now.verdict:
            result.verdicts.append((name, was.verdict, now.verdict))
        failing = [c for c in now.failing_checks if c not in was.failing_checks]
        if failing:
            result.new_failing.append((name, failing))
        fixed = [c for c in was.failing_checks if c not in now.failing_checks]
        if fixed:
            result.fixed.append((name, fixed))
    return result


def render_estate_diff(diff: EstateDiff) -> str:
    lines: list[str] = []
    for name, old, new in diff.verdicts:
        lines.append(f"server {name}: {old.value} -> {new.value}")
    for server in diff.added:
        failing = f" (failing: {', '.join(server.failing_checks)})" if server.failing_checks else ""
        lines.append(f"+ new server {server.name}: {server.verdict.value}{failing}")
    for server in diff.removed:
        lines.append(f"- server gone: {server.name} (was {server.verdict.value})")
    for name, checks in diff.new_failing:
        lines.append(f"+ {name}: now failing {', '.join(checks)}")
    for name, checks in diff.fixed:
        lines.append(f"- {name}: fixed {', '.join(checks)}")
    worse = sorted({name for name, old, new in diff.verdicts if VERDICT_RANK[new] > VERDICT_RANK[old]}
                   | {s.name for s in diff.added if s.verdict is not Verdict.READY} | {name for name, _ in diff.new_failing})
    servers = "server" if len(worse) == 1 else "servers"
    lines.append(f"result: WORSE ({len(worse)} {servers}: {', '.join(worse)})" if worse else "result: not worse")
    return "\n".join(lines) + "\n"
