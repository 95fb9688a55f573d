"""The human report: one line per check with a mark and what was observed, findings beneath it,
and the remediation script at the end. Reads like a careful DBA's checklist.

It is meant for a terminal: every piece of server text is shown with non-printable characters as
escapes (``\x1b``, ``\u202e``) before it is wrapped or aligned."""

from __future__ import annotations

import textwrap

from tabulate import tabulate

from preflight.models import VERDICT_WORDS, CheckStatus, Report, Severity
from preflight.names import format_name
from preflight.reports.sql import remediation_lines
from preflight.terminal import visible

MARKS = {CheckStatus.PASS: "✓", CheckStatus.WARN: "!", CheckStatus.FAIL: "✗", CheckStatus.ERROR: "E", CheckStatus.SKIP: "-"}
SEVERITY_MARKS = {Severity.INFO: "i", Severity.WARNING: "!", Severity.ERROR: "✗"}
WIDTH = 100
# The checklist pages long lists (100k-table databases): the JSON report keeps everything.
MAX_FINDINGS_PER_CHECK = 50
MAX_TABLE_ROWS = 200


def _header(report: Report) -> list[str]:
    where = visible(report.target.dsn, keep="")
    facts = [visible(fact, keep="") for fact in report.target.facts()]
    s = report.summary
    counts = f"{s.pass_} passed, {s.warn} warned, {s.fail} failed, {s.error} errored, {s.skip} skipped"
    return [
        f"pg-preflight {report.tool.version}  {where}" + (f"  ({', '.join(facts)})" if facts else ""),
        f"Verdict: {VERDICT_WORDS[report.status.value]}  ({counts})",
        "",
    ]


def _wrap(text: str, indent: str) -> list[str]:
    return textwrap.wrap(visible(text), WIDTH, initial_indent=indent, subsequent_indent=indent + "  ") or [indent]


def _tables_section(report: Report) -> list[str]:
    """Tables that are not simply ``ok``: what each needs, grouped by status."""
    notable = [t for t in report.tables if t.status != "ok"]
    if not notable:
        return []
    ok = len(report.tables) - len(notable)
    order = {"needs_decision": 0, "decided": 1, "excluded": 2, "not_publishable": 3}
    shown = sorted(notable, key=lambda t: (order.get(t.status, 9), t.schema_, t.name))[:MAX_TABLE_ROWS]
    rows = [
        [visible(cell, keep="") for cell in (format_name(t.schema_, t.name), t.status, t.kind, t.persistence,
                                             t.replica_identity, "yes" if t.has_primary_key else "no",
                                             t.candidate_index or "-", t.decision or "-")]
        for t in shown
    ]
    head = ["table", "status", "kind", "persistence", "identity", "pk", "candidate index", "decision"]
    lines = ["", f"Tables ({len(report.tables)} selected, {ok} ok; the others below):"] + [
        "    " + line for line in tabulate(rows, headers=head, tablefmt="plain").splitlines()
    ]
    if len(notable) > len(shown):
        lines.append(f"    ... and {len(notable) - len(shown)} more (every table is in --format json)")
    return lines


def render(report: Report) -> str:
    """The checklist; with ``--all-databases`` the cluster-wide checks first, then one section per database."""
    text = _render_one(report)
    for db, view in report.database_views():
        heading = f"Database {visible(db.dbname, keep='')}: {VERDICT_WORDS[db.verdict.value]} ({db.status})"
        text += "\n" + "=" * len(heading) + "\n" + heading + "\n" + "=" * len(heading) + "\n"
        text += _render_one(view).split("\n", 2)[2]  # its header would repeat the cluster's target line
    return text


def _render_one(report: Report) -> str:
    rows = [[MARKS[c.status], visible(c.id, keep=""), c.status.value, visible(c.summary, keep="")] for c in report.checks]
    lines = _header(report)
    lines += tabulate(rows, headers=["", "check", "status", "observed"], tablefmt="plain").splitlines()
    details: list[str] = []
    for check in report.checks:
        notes: list[str] = []
        if check.skip_reason:
            notes += _wrap(f"skipped: {check.skip_reason}", "    ")
        if check.error:
            notes += _wrap(f"error: {check.error}", "    ")
        shown = 0
        for finding in check.findings:
            if finding.severity is Severity.INFO and check.status is CheckStatus.PASS:
                continue  # a passing check's observations are on its line already
            shown += 1
            if shown > MAX_FINDINGS_PER_CHECK:
                notes.append(f"    ... and {len(check.findings) - MAX_FINDINGS_PER_CHECK} more findings (see --format json)")
                break
            where = f" [{finding.object}]" if finding.object else ""
            parts = [f"{label}: {value}" for label, value in (("observed", finding.observed),
                                                               ("required", finding.expected)) if value is not None]
            values = f" ({'; '.join(parts)})" if parts else ""
            notes += _wrap(f"{SEVERITY_MARKS[finding.severity]} {finding.code}{where}: {finding.message}{values}", "    ")
        if notes:
            details += [f"{MARKS[check.status]} {visible(check.id, keep='')}"] + notes
    if details:
        lines += ["", "Findings:"] + details
    lines += _tables_section(report)
    script = remediation_lines(report)
    if script:
        lines += ["", "Remediation script (also: --format sql):", ""] + ["    " + x if x else "" for x in script]
    return visible("\n".join(lines).rstrip()) + "\n"
