"""A Markdown summary for a pull-request comment or ``$GITHUB_STEP_SUMMARY``.

Every piece of report text is treated as hostile: inline text is backslash-escaped (so a message can
neither inject HTML nor break a table row, and ``@``, ``://`` and ``www.`` sit in code spans so no text can
mention anyone or become a link), code spans and the SQL fence are made longer than any backtick run
they hold, and non-printable characters are shown as escapes (``\x1b``), never dropped. The SQL
fence holds the script exactly: it is printable by construction.
"""

from __future__ import annotations

import re

from preflight.models import VERDICT_WORDS, CheckResult, Finding, Report, Severity, TableEntry
from preflight.names import format_name
from preflight.reports.sql import remediation_lines
from preflight.terminal import visible

TABLE_ORDER = {"needs_decision": 0, "decided": 1, "not_publishable": 2, "excluded": 3}

_NEWLINES = re.compile(r"\r\n|\r|\n")
# ASCII punctuation that means something inline (CommonMark/GFM); `_` only where it could emphasize.
_SPECIAL = re.compile(r"[\\`*\[\]<>|~&]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
# What GitHub turns into a mention or an autolink even when escaped; inside a code span it is just text.
_LINKING = re.compile(r"@|://|www\.", re.IGNORECASE)


def _clean(value: object) -> str:
    """``str(value)`` with non-printable characters (tabs too) escaped visibly; newlines kept."""
    return visible(value)


def text(value: object) -> str:
    """Inline text, safe in a paragraph, a list item and a table cell: escaped, newlines as ``<br>``."""
    escaped = _SPECIAL.sub(lambda m: "\\" + m.group(0), _clean(value))
    escaped = _LINKING.sub(lambda m: "`" + m.group(0) + "`", escaped)
    return "<br>".join(_NEWLINES.split(escaped))


def code(value: object, in_table: bool = False) -> str:
    """A code span whose delimiter is longer than any backtick run inside it."""
    body = " ".join(_NEWLINES.split(_clean(value)))
    if in_table:
        body = body.replace("|", "\\|")  # GFM splits cells before parsing code spans
    ticks = "`" * (max((len(run) for run in re.findall("`+", body)), default=0) + 1)
    pad = " " if body.startswith(("`", " ")) or body.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{body}{pad}{ticks}"


def fence_for(body: str) -> str:
    """A backtick fence longer than any backtick run in ``body``, so nothing inside can close it."""
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _header(report: Report) -> list[str]:
    t = report.target
    facts = [text(fact) for fact in t.facts()]
    s = report.summary
    counts = f"{s.pass_} passed, {s.warn} warned, {s.fail} failed, {s.error} errored, {s.skip} skipped"
    return [
        f"## pg-preflight: {VERDICT_WORDS[report.status.value]}",
        "",
        f"**Verdict: {VERDICT_WORDS[report.status.value]}** ({counts})",
        "",
        f"- Target: {code(t.dsn)}" + (f" ({', '.join(facts)})" if facts else ""),
        f"- Generated: {text(report.generated_at.isoformat())} by pg-preflight {text(report.tool.version)}",
    ]


def _check_cell(check: CheckResult) -> str:
    parts = [text(check.summary)] if check.summary and not (check.skip_reason and check.summary == "skipped") else []
    if check.skip_reason:
        parts.append("skipped: " + text(check.skip_reason))
    if check.error:
        parts.append("error: " + text(check.error))
    return "<br>".join(parts) or " "


def _checks(report: Report) -> list[str]:
    lines = ["", "### Checks", "", _row(["Check", "Status", "Summary"]), _row(["---", "---", "---"])]
    for check in report.checks:
        lines.append(_row([code(check.id, in_table=True), check.status.value.upper(), _check_cell(check)]))
    return lines


def _finding_item(report: Report, check: CheckResult, finding: Finding) -> str:
    item = f"- **{finding.severity.value.upper()}** {code(check.id)} {code(finding.code)}"
    if finding.object:
        item += f" on {code(finding.object)}"
    item += f": {text(finding.message)}"
    if finding.observed is not None or finding.expected is not None:
        observed = "-" if finding.observed is None else code(finding.observed)
        expected = "-" if finding.expected is None else code(finding.expected)
        item += f" (observed {observed}, required {expected})"
    if finding.waived:
        item += f" *{text(report.waiver_note(check.id, finding))}*"
    return item


def _findings(report: Report) -> list[str]:
    items = [_finding_item(report, c, f) for c in report.checks for f in c.findings if f.severity is not Severity.INFO]
    return ["", "### Findings", "", *items] if items else []


def _table_row(t: TableEntry) -> str:
    return _row([
        code(format_name(t.schema_, t.name), in_table=True), t.status, t.kind, t.persistence, t.replica_identity,
        "yes" if t.has_primary_key else "no",
        code(t.candidate_index, in_table=True) if t.candidate_index else "-", t.decision or "-",
    ])


def _tables(report: Report) -> list[str]:
    notable = sorted((t for t in report.tables if t.status != "ok"),
                     key=lambda t: (TABLE_ORDER.get(t.status, 9), t.schema_, t.name))
    if not notable:
        return []
    ok = len(report.tables) - len(notable)
    head = ["Table", "Status", "Kind", "Persistence", "Replica identity", "PK", "Candidate index", "Decision"]
    return [
        "", f"### Tables needing attention ({len(notable)} of {len(report.tables)}; {ok} ok)", "",
        _row(head), _row(["---"] * len(head)), *(_table_row(t) for t in notable),
    ]


def _script(report: Report) -> list[str]:
    body = "\n".join(remediation_lines(report)).rstrip()
    if not body:
        return ["", "Nothing to remediate."]
    fence = fence_for(body)
    return ["", "### Remediation script", "", "Review before running (also: `--format sql`).", "",
            fence + "sql", body, fence]


def render(report: Report) -> str:
    lines = _header(report) + _checks(report) + _findings(report) + _tables(report) + _script(report)
    for db, view in report.database_views():
        lines += ["", f"## Database {code(db.dbname)}: {VERDICT_WORDS[db.verdict.value]} ({db.status})"]
        lines += _checks(view) + _findings(view) + _tables(view) + _script(view)
    return "\n".join(lines) + "\n"
