"""A self-contained HTML audit page a DBA can attach to a ticket or print.

No external asset of any kind (the page must open offline and leak nothing when opened); every
report text goes through ``html.escape``; a Content-Security-Policy lets only the one inline script
(pinned by its hash) run, so even a mistake in escaping could not execute data. The script only
adds column sorting: the page is complete without it.
"""

from __future__ import annotations

import base64
import hashlib
import html
from string import Template

from preflight.models import (
    VERDICT_WORDS,
    CheckResult,
    DatabaseReport,
    Finding,
    Report,
    Severity,
    TableEntry,
    unreachable,
)
from preflight.names import format_name
from preflight.reports.sql import comment, remediation_lines
from preflight.terminal import visible

TABLE_GROUPS = [("needs_decision", "Needs a decision"), ("decided", "Decided, SQL not applied yet"),
                ("not_publishable", "Cannot be published"), ("excluded", "Excluded"), ("ok", "OK")]
SEVERITY_CLASS = {"error": "fail", "warning": "warn", "info": "skip"}  # a finding's colour: what it does to its check
DOCS = "https://www.postgresql.org/docs/current/logical-replication.html"

SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.tabIndex = 0; th.title = "Sort";
  function sort() {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var asc = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var key = function (row) {
      var c = row.cells[col], k = c.querySelector("[data-sort]");
      return k ? k.getAttribute("data-sort") : c.textContent;
    };
    Array.from(body.rows).sort(function (a, b) {
      var x = key(a), y = key(b), nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? r : -r;
    }).forEach(function (row) { body.appendChild(row); });
  }
  th.addEventListener("click", sort);
  th.addEventListener("keydown", function (e) { if (e.key === "Enter") { sort(); } });
});
"""
SCRIPT_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d232a; margin: 0 auto;
       max-width: 1180px; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 1px solid #d5dbe1; padding-bottom: 4px; } h3 { font-size: 15px; margin: 18px 0 6px; }
.banner { border-radius: 6px; padding: 14px 18px; border-left: 8px solid; }
.banner .word { font-size: 26px; font-weight: 700; letter-spacing: .04em; }
.v-ready { background: #e7f6ec; border-color: #1a7f37; } .v-not_ready { background: #fdecec; border-color: #c62828; }
.v-incomplete { background: #fff5e0; border-color: #b26a00; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid #e3e7eb; }
th { background: #f3f5f7; font-weight: 600; white-space: nowrap; }
table.sortable th { cursor: pointer; } th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0; }
dl.facts dt { color: #57606a; } dl.facts dd { margin: 0; }
code, pre { font: 12.5px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { background: #f6f8fa; border: 1px solid #e3e7eb; border-radius: 4px; padding: 10px; white-space: pre-wrap;
      overflow-wrap: anywhere; }
.badge { display: inline-block; min-width: 44px; text-align: center; border-radius: 3px; padding: 0 6px;
         font-size: 12px; font-weight: 700; color: #fff; }
.s-pass { background: #1a7f37; } .s-warn { background: #b26a00; } .s-fail { background: #c62828; }
.s-error { background: #6f42c1; } .s-skip { background: #6e7781; }
.finding { border: 1px solid #e3e7eb; border-radius: 4px; padding: 8px 12px; margin: 8px 0; }
.finding .vals { color: #57606a; } .flag { color: #c62828; font-weight: 600; } .muted { color: #57606a; }
.scroll { overflow-x: auto; } td code, dd code { overflow-wrap: anywhere; }
table.checks td:nth-child(2) code { overflow-wrap: normal; white-space: nowrap; }
table.checks td:nth-child(4), .finding { overflow-wrap: anywhere; }
@media (max-width: 640px) {
  body { padding: 12px; } .banner .word { font-size: 22px; }
  table.checks th:nth-child(3), table.checks td:nth-child(3) { display: none; }
  th, td { padding: 4px 5px; } .badge { min-width: 0; }
}
@media print {
  body { max-width: none; padding: 0; font-size: 11px; } .noprint { display: none; }
  .banner, .badge, th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .finding, tr, pre { break-inside: avoid; } h2 { break-after: avoid; } a { color: inherit; }
}
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'sha256-$script_hash'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pg-preflight $verdict: $dsn</title>
<style>$style</style>
</head>
<body>
<header class="banner v-$verdict_class">
<div class="word">$verdict</div>
<div>$counts</div>
</header>
$body
<footer class="muted"><p>Generated $generated by pg-preflight $version. Read-only checks; review every statement
before running it. See the <a href="$docs">PostgreSQL logical replication documentation</a>.</p></footer>
<script>$script</script>
</body>
</html>
""")


def e(value: object) -> str:
    """Escaped text (quotes too, so it is safe in attributes); non-printable characters shown as escapes."""
    return html.escape(visible(value), quote=True)


def status_badge(word: str, css: str, sort_key: int | None = None) -> str:
    key = "" if sort_key is None else f' data-sort="{sort_key}"'
    return f'<span class="badge s-{e(css)}"{key}>{e(word.upper())}</span>'


def html_table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A sortable table; cells are already-escaped HTML. On a narrow screen it scrolls sideways inside
    its own box rather than pushing the page wider than the screen."""
    ths = "".join(f'<th scope="col">{h}</th>' for h in head)
    trs = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="sortable{" " + cls if cls else ""}"><thead><tr>{ths}</tr></thead>'
            f'<tbody>\n{trs}\n</tbody></table></div>')


def _target(report: Report) -> str:
    t = report.target
    role = None if t.in_recovery is None else ("standby (in recovery)" if t.in_recovery else "primary")
    opts = report.options
    facts: list[tuple[str, object]] = [
        ("Host", t.host), ("Port", t.port), ("Database", t.dbname), ("User", t.user),
        ("Server version", t.server_version), ("Role", role), ("Provider", t.provider),
        ("TLS", None if t.ssl is None else ("yes" if t.ssl else "no")),
        ("Schemas", ", ".join(map(str, opts.get("schemas") or [])) or "all non-system"),
        ("Tables", ", ".join(map(str, opts.get("tables") or [])) or None),
        ("Plugin", opts.get("plugin")), ("Profile", opts.get("profile")),
    ]
    items = f"<dt>DSN</dt><dd><code>{e(t.dsn)}</code></dd>"
    items += "".join(f"<dt>{k}</dt><dd>{e(v)}</dd>" for k, v in facts if v is not None)
    return f'<h2 id="target">Target</h2>\n<dl class="facts">{items}</dl>'


def _checks(report: Report) -> str:
    order = {"fail": 0, "error": 1, "warn": 2, "skip": 3, "pass": 4}
    rows = []
    dead = unreachable(report)  # then every other check was skipped for that one reason: one row says so
    for c in report.checks:
        if dead and c.status.value == "skip":
            continue
        notes = [e(c.summary)] if c.summary and not (c.skip_reason and c.summary == "skipped") else []
        if c.skip_reason:
            notes.append(f'<span class="muted">skipped: {e(c.skip_reason)}</span>')
        if c.error:
            notes.append(f'<span class="muted">error: {e(c.error)}</span>')
        badge = status_badge(c.status.value, c.status.value, order[c.status.value])
        rows.append([badge, f"<code>{e(c.id)}</code>", e(c.title), "<br>".join(notes)])
    skipped = [c.id for c in report.checks if c.status.value == "skip"]
    if dead and skipped:
        rows.append([status_badge("skip", "skip", order["skip"]), f"{len(skipped)} checks", "",
                     f'<span class="muted">skipped: the connection failed ({e(", ".join(skipped))})</span>'])
    # No time column: the checks judge facts read beforehand, so each takes well under a millisecond.
    return '<h2 id="checks">Checks</h2>\n' + html_table(["Status", "Check", "Title", "Summary"], rows, "checks")


def _finding(report: Report, check: CheckResult, f: Finding) -> str:
    badge = status_badge(f.severity.value, SEVERITY_CLASS[f.severity.value])
    head = f"{badge} <code>{e(check.id)}</code> <code>{e(f.code)}</code>"
    if f.object:
        head += f" on <code>{e(f.object)}</code>"
    if f.waived:
        head += f' <span class="muted">{e(report.waiver_note(check.id, f))}</span>'
    parts = [f"<div>{head}</div>", f"<p>{e(f.message)}</p>".replace("\n", "<br>\n")]
    values = [f"{label} <code>{e(value)}</code>" for label, value in (("observed", f.observed), ("required", f.expected))
              if value is not None]
    if values:
        parts.append(f'<div class="vals">{", ".join(values)}</div>')
    rem = f.remediation
    if rem.requires_restart:
        parts.append('<div class="flag">Requires a server restart.</div>')
    if rem.destructive:
        parts.append('<div class="flag">Destructive: review before running.</div>')
    if rem.after:
        after = ", ".join(f"{ref.check} on {ref.object}" for ref in rem.after)
        parts.append(f'<div class="flag">Run only after fixing {e(after)}: run earlier, it breaks UPDATE/DELETE '
                     "on the source (the script orders it after their fixes, or withholds it).</div>")
    if rem.sql:  # destructive statements commented out, as in the script: pasting never destroys
        sql = [line for stmt in rem.sql_text() for line in (comment(stmt) if rem.destructive else [stmt])]
        parts.append("<pre>" + e("\n".join(sql)) + "</pre>")
    if rem.steps:
        parts.append("<ol>" + "".join(f"<li>{e(s)}</li>" for s in rem.steps_text()) + "</ol>")
    return '<div class="finding">' + "\n".join(parts) + "</div>"


def _findings(report: Report) -> str:
    items = [_finding(report, c, f) for c in report.checks for f in c.findings if f.severity is not Severity.INFO]
    if not items:
        return ""
    return '<h2 id="findings">Findings</h2>\n' + "\n".join(items)


def _table_row(t: TableEntry) -> list[str]:
    size = "" if t.size_bytes is None else _size(t.size_bytes)
    return [f"<code>{e(format_name(t.schema_, t.name))}</code>", e(t.kind), e(t.persistence),
            "yes" if t.has_primary_key else "no", e(t.replica_identity), e(t.identity_index or "-"),
            e(t.candidate_index or "-"), e(t.decision or "-"),
            f'<span data-sort="{t.size_bytes or 0}">{e(size)}</span>']


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def _tables(report: Report) -> str:
    if not report.tables:
        return ""
    head = ["Table", "Kind", "Persistence", "PK", "Replica identity", "Identity index", "Candidate index",
            "Decision", "Size"]
    out = [f'<h2 id="tables">Tables ({len(report.tables)} selected)</h2>']
    for status, label in TABLE_GROUPS:
        group = sorted((t for t in report.tables if t.status == status), key=lambda t: (t.schema_, t.name))
        if group:
            out.append(f'<h3 id="tables-{status}">{e(label)} ({len(group)})</h3>')
            out.append(html_table(head, [_table_row(t) for t in group]))
    return "\n".join(out)


def _script(report: Report) -> str:
    lines = remediation_lines(report)
    body = e("\n".join(lines).rstrip()) if lines else "-- Nothing to remediate."
    return (f'<h2 id="script">Remediation script</h2>\n<p class="muted noprint">The same as <code>--format sql</code>:'
            f" destructive statements are commented out.</p>\n<pre>{body}</pre>")


def _database(section: tuple[DatabaseReport, Report]) -> str:
    """One database of an --all-databases run: its heading, then its checks, findings, tables and script."""
    db, view = section
    parts = (_checks(view), _findings(view), _tables(view), _script(view))
    return (f'<section class="database"><h2>Database <code>{e(db.dbname)}</code> '
            f'{status_badge(VERDICT_WORDS[db.verdict.value], db.verdict.value)} <span class="muted">{e(db.status)}</span></h2>\n'
            + "\n".join(p for p in parts if p) + "\n</section>")


def render(report: Report) -> str:
    s = report.summary
    counts = ", ".join(f"{n} {word}" for n, word in ((s.fail, "failed"), (s.error, "errored"), (s.warn, "warned"),
                                                    (s.pass_, "passed"), (s.skip, "skipped")) if n)
    word = VERDICT_WORDS[report.status.value]
    if unreachable(report):  # nothing was checked: not a verdict on the server
        word, counts = "UNREACHABLE", "could not connect, nothing was checked"
    body = "\n".join(p for p in (_target(report), _checks(report), _findings(report), _tables(report),
                                 _script(report), *map(_database, report.database_views())) if p)
    return PAGE.substitute(
        script_hash=SCRIPT_HASH, verdict=word, verdict_class=e(report.status.value),
        dsn=e(report.target.dsn), style=STYLE, counts=e(counts), body=body, docs=DOCS, script=SCRIPT,
        generated=e(report.generated_at.isoformat()), version=e(report.tool.version),
    )
