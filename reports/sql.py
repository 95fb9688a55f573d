"""The remediation script alone: commented per check, restart-requiring and destructive statements flagged.

Destructive statements are written commented out, so that pasting the whole script never drops
anything by accident; a reviewer uncomments what they mean to run.
"""

from __future__ import annotations

from preflight.models import CheckResult, Finding, Report
from preflight.terminal import visible


def comment(text: str, prefix: str = "-- ") -> list[str]:
    """Every line of ``text`` as an SQL line comment (a message can never escape into SQL), with
    non-printable characters shown as escapes so that the script stays printable."""
    return [prefix + visible(line, keep="") if line else prefix.rstrip() for line in text.removesuffix("\n").split("\n")]


def remediation_lines(report: Report) -> list[str]:
    """The body of the script; empty when nothing needs fixing. Shared with the table format."""
    lines: list[str] = []
    seen: set[str] = set()
    for result in report.checks:
        block = _check_block(result, seen)
        if block:
            lines += block + [""]
    return lines


def _check_block(result: CheckResult, seen: set[str]) -> list[str]:
    block: list[str] = []
    for finding in result.findings:
        if finding.remediation.is_empty():
            continue
        block += _finding_block(result, finding, seen)
    if block:
        block = [visible(f"-- ===== {result.id}: {result.title} ({result.status.value}) =====", keep="")] + block
    return block


def _finding_block(result: CheckResult, finding: Finding, seen: set[str]) -> list[str]:
    rem = finding.remediation
    head = f"[{finding.severity.value}] {finding.code}"
    if finding.object:
        head += f" on {finding.object}"
    out = comment(head) + comment(finding.message, "--   ")
    if rem.requires_restart:
        out.append("-- RESTART REQUIRED: takes effect only after a server restart")
    for statement in rem.sql:
        if statement in seen:
            out.append("-- (statement already listed above)")
            continue
        seen.add(statement)
        if visible(statement) != statement:  # only a plugin's hand-made SQL can get here
            out += comment("not printed, it holds non-printable characters: " + statement)
        elif rem.destructive:
            out.append("-- DESTRUCTIVE: review, then uncomment to run")
            out += comment(statement)
        else:
            out.append(statement)
    for step in rem.steps:
        out += comment(step, "-- step: ")
    return out


def render(report: Report) -> str:
    header = [
        f"-- pg-preflight {report.tool.version} remediation script",
        *comment(f"target: {report.target.dsn}"),
        f"-- generated: {report.generated_at.isoformat()}  verdict: {report.status.value}",
        "-- Review before running. Run as a superuser (or the role each comment names).",
        "",
    ]
    body = remediation_lines(report)
    if not body:
        body = ["-- Nothing to remediate.", ""]
    return "\n".join(header + body)
