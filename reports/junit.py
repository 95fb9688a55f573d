"""JUnit XML, so CI UIs (GitHub, GitLab, Jenkins) show one test per check.

Built with ElementTree, never by string pasting, so any report text is escaped; characters that
XML 1.0 cannot carry (NUL and other controls) and every other non-printable character are written as
visible escapes (``\x1b``), never dropped; the remediation statements are printable already.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from preflight.models import CheckResult, CheckStatus, Finding, Report, Severity, summarize
from preflight.terminal import visible


def clean(value: object) -> str:
    """``str(value)`` as XML 1.0 can carry it: non-printable characters (which include every character
    outside XML's Char production) shown as escapes; newlines kept."""
    return visible(value)


def _sub(parent: ET.Element, tag: str, body: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})
    if body:
        element.text = clean(body)
    return element


def _timestamp(when: datetime) -> str:
    """JUnit's schema wants a timestamp without a zone: UTC."""
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when.isoformat(timespec="seconds")


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.3f}"


def _finding_text(finding: Finding) -> str:
    line = f"[{finding.severity.value}] {finding.code}"
    if finding.object:
        line += f" on {finding.object}"
    line += f": {finding.message}"
    if finding.observed is not None or finding.expected is not None:
        line += f" (observed: {finding.observed}; required: {finding.expected})"
    if finding.waived:
        line += " [waived" + (f": {finding.waiver_reason}]" if finding.waiver_reason else "]")
    rem = finding.remediation
    flags = [flag for flag, on in (("requires restart", rem.requires_restart), ("destructive", rem.destructive)) if on]
    label = f"fix ({', '.join(flags)})" if flags else "fix"
    lines = line.splitlines() + [f"{label}: {sql}" for sql in rem.sql_text()] + [f"step: {step}" for step in rem.steps_text()]
    return "\n    ".join(lines)


def _texts(check: CheckResult, waived: bool) -> list[str]:
    """Non-info findings, waived ones apart: a waived finding never fails the testcase."""
    return [_finding_text(f) for f in check.findings if f.severity is not Severity.INFO and f.waived is waived]


def _testcase(suite: ET.Element, check: CheckResult, classname: str) -> None:
    case = _sub(suite, "testcase", classname=classname, name=check.id, time=_seconds(check.duration_ms))
    findings = "\n".join(_texts(check, waived=False))
    out: list[str] = [f"{check.title}: {check.summary}"]
    if check.status is CheckStatus.FAIL:
        _sub(case, "failure", findings, message=check.summary or check.title, type="fail")
    elif check.status is CheckStatus.ERROR:
        _sub(case, "error", check.error or findings, message=check.summary or check.error or "error", type="error")
    elif check.status is CheckStatus.SKIP:
        _sub(case, "skipped", message=check.skip_reason or check.summary or "skipped")
    elif findings:  # warn: the testcase passes, the warnings are kept for the reader
        out.append(findings)
    waived = _texts(check, waived=True)
    if waived:
        out += ["waived findings:", *waived]
    _sub(case, "system-out", "\n".join(out))


def render(report: Report) -> str:
    """One testsuite; with ``--all-databases`` the cluster-wide one and one per database (its name and
    classname carry the database's name)."""
    s = report.summary
    everything = report.all_checks()
    time = _seconds(sum(c.duration_ms for c in everything))
    counts = {"tests": str(len(everything)), "failures": str(s.fail), "errors": str(s.error), "skipped": str(s.skip)}
    root = ET.Element("testsuites", {"name": "pg-preflight", **counts, "time": time})
    scope = "cluster" if report.databases is not None else report.target.dbname or report.target.host or "server"
    _suite(root, report, "pg-preflight", "pg-preflight." + scope, None)
    for db, view in report.database_views():
        _suite(root, view, f"pg-preflight database {db.dbname}", f"pg-preflight.{db.dbname}", db.dbname)
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(root: ET.Element, report: Report, name: str, classname: str, database: str | None) -> None:
    s = summarize(report.checks)
    counts = {"tests": str(len(report.checks)), "failures": str(s.fail), "errors": str(s.error), "skipped": str(s.skip)}
    suite_attrs = {"name": name, **counts, "time": _seconds(sum(c.duration_ms for c in report.checks)),
                   "timestamp": _timestamp(report.generated_at)}
    if report.target.host:
        suite_attrs["hostname"] = report.target.host
    suite = _sub(root, "testsuite", **suite_attrs)
    properties = _sub(suite, "properties")
    props = {"verdict": report.status.value, "server_version": report.target.server_version or "",
             "dsn": report.target.dsn, "tool_version": report.tool.version}
    if database is not None:
        props["database"] = database
    for prop, value in props.items():
        _sub(properties, "property", name=prop, value=value)
    for check in report.checks:
        _testcase(suite, check, classname)
