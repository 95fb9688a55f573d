"""The human report, for a terminal: read in ten seconds by default, complete on demand.

The short form (the default) is the verdict, one line per check that failed or warned, the remediation
script, and a closing line saying what to do next. ``--verbose`` adds every check, every finding (each
explanation once: findings of one code are one paragraph naming all the objects they concern) and the
tables that need attention; ``--quiet`` is the verdict line alone.

Prose is wrapped at the terminal's width between words (a word longer than the width is never split);
SQL is never wrapped, so that it pastes as it reads. Every piece of server text is shown with
non-printable characters as escapes (``\\x1b``, ``\\u202e``) before it is wrapped or aligned; colour,
when asked for, is added last, around text already made visible.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Literal

import click
from tabulate import tabulate

from preflight.models import VERDICT_WORDS, CheckResult, CheckStatus, Finding, Report, Severity, unreachable
from preflight.names import format_name
from preflight.reports.sql import remediation_lines
from preflight.terminal import visible

MARKS = {CheckStatus.PASS: "✓", CheckStatus.WARN: "!", CheckStatus.FAIL: "✗", CheckStatus.ERROR: "E", CheckStatus.SKIP: "-"}
SEVERITY_MARKS = {Severity.INFO: "i", Severity.WARNING: "!", Severity.ERROR: "✗"}
WIDTH = 100  # a file, a pipe, or a terminal that does not say its width
MIN_WIDTH = 40
# The checklist pages long lists (100k-table databases): the JSON report keeps everything.
MAX_FINDINGS_PER_CHECK = 50
MAX_TABLE_ROWS = 200
MAX_SCRIPT_LINES = 40  # per check in the short form: the rest is in --verbose and --format sql
MAX_NAMED = 2  # objects named on a check's line in the short form

Detail = Literal["quiet", "short", "verbose"]
_COLOURS = {CheckStatus.PASS: "green", CheckStatus.WARN: "yellow", CheckStatus.FAIL: "red", CheckStatus.ERROR: "magenta",
            CheckStatus.SKIP: "bright_black"}
_VERDICT_COLOURS = {"ready": "green", "not_ready": "red", "incomplete": "yellow"}


@dataclass(frozen=True)
class Style:
    """How the table is drawn: the width to wrap at, how much to show, and whether to colour it."""

    width: int = WIDTH
    detail: Detail = "short"
    color: bool = False


class _Out:
    """Lines being written: prose wrapped at the width between words, colour added around visible text."""

    def __init__(self, style: Style) -> None:
        self.style = style
        self.width = max(MIN_WIDTH, style.width)
        self.lines: list[str] = []

    def paint(self, text: str, colour: str | None = None, bold: bool = False, dim: bool = False) -> str:
        if not self.style.color or not text:
            return text
        return click.style(text, fg=colour, bold=bold or None, dim=dim or None)

    def wrap(self, text: str, indent: str = "", hang: str | None = None) -> list[str]:
        """``text`` made visible (a message's own line breaks become spaces), wrapped between words."""
        return textwrap.wrap(visible(text), self.width, initial_indent=indent,
                             subsequent_indent=indent if hang is None else hang,
                             break_long_words=False, break_on_hyphens=False) or [indent.rstrip()]

    def para(self, text: str, indent: str = "", hang: str | None = None) -> None:
        self.lines += self.wrap(text, indent, hang)

    def blank(self) -> None:
        if self.lines and self.lines[-1]:
            self.lines.append("")


def render(report: Report, style: Style | None = None) -> str:
    """The report for a terminal; with ``--all-databases`` the cluster-wide checks first, then one
    section per database."""
    style = style or Style()
    out = _Out(style)
    if style.detail == "quiet":
        return _verdict_line(report, out, target=True) + "\n"
    _header(report, out)
    _body(report, out)
    for db, view in report.database_views():
        heading = f"Database {visible(db.dbname, keep='')}: {VERDICT_WORDS[db.verdict.value]} ({db.status})"
        out.blank()
        out.lines += ["=" * min(len(heading), out.width), out.paint(heading, bold=True)]
        _body(view, out)
    out.blank()
    _next_step(report, out)
    return "\n".join(out.lines).rstrip() + "\n"


def _counts(report: Report) -> str:
    s = report.summary
    parts = [(s.fail, "failed"), (s.error, "errored"), (s.warn, "warned"), (s.pass_, "passed"), (s.skip, "skipped")]
    return ", ".join(f"{n} {word}" for n, word in parts if n)


def _verdict_line(report: Report, out: _Out, target: bool = False) -> str:
    """The verdict and the counts; with ``target`` (--quiet: the only line) also the server, when it fits."""
    if unreachable(report):
        word, colour = "UNREACHABLE", "red"
        what = "could not connect, nothing was checked"
    else:
        word, colour = VERDICT_WORDS[report.status.value], _VERDICT_COLOURS[report.status.value]
        what = _counts(report) or "no check selected"
    where = visible(report.target.dsn, keep="")
    line = f"Verdict: {word}  {what}  ({where})"
    if not target or len(line) > out.width:
        line = f"Verdict: {word}  {what}"
    return "Verdict: " + out.paint(word, colour, bold=True) + line[len("Verdict: ") + len(word):]


def _header(report: Report, out: _Out) -> None:
    facts = [visible(fact.split(" (")[0], keep="") for fact in report.target.facts()]  # 15.8, not its build
    out.para(f"pg-preflight {report.tool.version}: {visible(report.target.dsn, keep='')}"
             + (f" ({', '.join(facts)})" if facts else ""), hang="  ")
    _consumer(report, out)
    out.blank()
    out.lines.append(_verdict_line(report, out))


# What --consumer-config set, in the header's order, with where each value came from.
_CONSUMER_FIELDS = (("slot_name", "slot"), ("publication", "publication"), ("plugin", "plugin"),
                    ("profile", "profile"), ("tables", "tables"), ("schemas", "schemas"))


def _consumer(report: Report, out: _Out) -> None:
    """One line per value the consumer's configuration decided (--consumer-config), and its origin."""
    config = report.options.get("consumer_config")
    if not isinstance(config, dict):
        return
    sources = config.get("sources") or {}
    out.para(f"Consumer configuration: {config.get('file')} ({config.get('format')})", hang="  ")
    if "dsn" in sources:
        out.para(f"connection: the target above  [{sources['dsn']}]", indent="  ", hang="    ")
    for field, label in _CONSUMER_FIELDS:
        value = report.options.get(field)
        if field not in sources or value in (None, []):
            continue
        shown = f"{len(value)} table(s)" if field == "tables" else ", ".join(value) if isinstance(value, list) else value
        out.para(f"{label}: {shown}  [{sources[field]}]", indent="  ", hang="    ")
    copy = "initial copy" if config.get("initial_copy") else "no initial copy"
    out.para(f"{copy}; publication autocreate: {config.get('publication_autocreate')}"
             f"  [{sources.get('initial_copy', 'default')}]", indent="  ", hang="    ")
    for note in config.get("notes") or []:
        out.para(f"note: {note}", indent="  ", hang="    ")


def _body(report: Report, out: _Out) -> None:
    verbose = out.style.detail == "verbose"
    if verbose:
        _checks_table(report, out)
    _problems(report, out, verbose)
    _skipped(report, out, verbose)
    _waived(report, out)
    if verbose:
        _tables_section(report, out)
    _script(report, out)


def _checks_table(report: Report, out: _Out) -> None:
    """Every check, one row each; the observed text wrapped in the space the other columns leave."""
    out.blank()
    dead = unreachable(report)  # then the skipped checks are one line below, all for the same reason
    shown = [c for c in report.checks if not (dead and c.status is CheckStatus.SKIP)]
    if not shown:
        return
    id_width = max(len(visible(c.id, keep="")) for c in shown)
    indent = 2 + id_width + 2 + 5 + 2
    for c in shown:
        head = f"{MARKS[c.status]} {visible(c.id, keep=''):<{id_width}}  {c.status.value:<5}  "
        summary = f"skipped: {c.skip_reason}" if c.status is CheckStatus.SKIP and c.skip_reason else c.summary
        text = out.wrap(summary or "-", " " * indent)
        out.lines.append(_paint_mark(out, c.status, head) + text[0][indent:])
        out.lines += text[1:]


def _paint_mark(out: _Out, status: CheckStatus, line: str) -> str:
    return out.paint(line[:1], _COLOURS[status], bold=True) + line[1:]


def _open(check: CheckResult) -> list[Finding]:
    """The findings that make a check warn or fail: not waived, not info."""
    return [f for f in check.findings if not f.waived and f.severity is not Severity.INFO]


def _grouped(findings: list[Finding]) -> dict[str, list[Finding]]:
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.code, []).append(finding)
    return groups


def _named(findings: list[Finding], limit: int | None) -> str:
    objects = list(dict.fromkeys(f.object for f in findings if f.object))
    if not objects:
        return ""
    if limit is not None and len(objects) > limit:
        return ", ".join(objects[:limit]) + f" and {len(objects) - limit} more"
    return ", ".join(objects)


def _one_line(code: str, findings: list[Finding]) -> str:
    """A code and the objects it concerns (how many, past ``MAX_NAMED``: --verbose names them all), leaving
    out a setting the code names already (wal_level_not_logical)."""
    objects = list(dict.fromkeys(f.object for f in findings if f.object and f.object.lower() not in code))
    if len(objects) > MAX_NAMED:
        return f"{code} (×{len(objects)})"
    return f"{code} ({', '.join(objects)})" if objects else code


def _problems(report: Report, out: _Out, verbose: bool) -> None:
    """The checks that failed, errored or warned: one line each (short), or every finding once (verbose)."""
    troubled = [c for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR, CheckStatus.WARN)]
    if not troubled:
        return
    out.blank()
    if verbose:
        out.lines.append(out.paint("Findings:", bold=True))
    id_width = max(len(visible(c.id, keep="")) for c in troubled)
    for check in troubled:
        if not verbose:
            parts = [_one_line(code, findings) for code, findings in _grouped(_open(check)).items()]
            text = "; ".join(parts) or (f"error: {check.error}" if check.error else check.summary)
            if unreachable(report) and any(f.code.startswith("connect_") for f in check.findings):
                text = check.summary  # what failed, in plain words (--verbose adds what the server said)
            line = out.wrap(text, " " * (id_width + 4))
            head = f"{MARKS[check.status]} {visible(check.id, keep=''):<{id_width}}  "
            out.lines.append(_paint_mark(out, check.status, head) + line[0][id_width + 4:])
            out.lines += line[1:]
            continue
        out.lines += _heading(out, check)
        if check.error:
            out.para(f"error: {check.error}", "    ", "      ")
        _findings(report, check, out)


def _heading(out: _Out, check: CheckResult) -> list[str]:
    """A verbose check heading (its title: the summary is on its row above), wrapped like any prose."""
    lines = out.wrap(f"{MARKS[check.status]} {check.id}: {check.title}", "", "    ")
    return [_paint_mark(out, check.status, lines[0])] + lines[1:]


def _findings(report: Report, check: CheckResult, out: _Out) -> None:
    """Every finding of a check once: several of one code are one paragraph naming all their objects."""
    shown = [f for f in check.findings if not (f.severity is Severity.INFO and check.status is CheckStatus.PASS)]
    groups = _grouped(shown)
    for count, (code, group) in enumerate(groups.items()):
        if count >= MAX_FINDINGS_PER_CHECK:
            out.para(f"... and {len(groups) - count} more kinds of finding (see --format json)", "    ")
            break
        first = group[0]
        waived = [report.waiver_note(check.id, f) for f in group if f.waived]
        if len(group) == 1:
            where = f" [{first.object}]" if first.object else ""
            values = [f"{label}: {value}" for label, value in (("observed", first.observed), ("required", first.expected))
                      if value is not None]
            tail = f" ({'; '.join(values)})" if values else ""
            note = f" [{waived[0]}]" if waived else ""
            out.para(f"{SEVERITY_MARKS[first.severity]} {code}{where}: {first.message}{tail}{note}", "    ", "      ")
            continue
        objects = _named(group, MAX_FINDINGS_PER_CHECK)
        out.para(f"{SEVERITY_MARKS[first.severity]} {code}, {len(group)} findings"
                 + (f" ({objects})" if objects else "") + ":", "    ", "      ")
        example = f"for {first.object}: " if first.object else ""
        out.para(f"{example}{first.message}", "      ", "      ")
        for note in dict.fromkeys(waived):
            out.para(f"{sum(1 for w in waived if w == note)} of them {note}", "      ")


def _skipped(report: Report, out: _Out, verbose: bool) -> None:
    """Skipped checks as one line: after a failed connection there are a dozen, all for one reason."""
    skipped = [c for c in report.checks if c.status is CheckStatus.SKIP]
    if not skipped or (verbose and not unreachable(report)):
        return  # verbose: the checks table shows each skipped check with its reason
    out.blank()
    reasons = list(dict.fromkeys(c.skip_reason or "not run" for c in skipped))
    why = "the connection failed" if unreachable(report) else "; ".join(reasons)
    ids = ", ".join(visible(c.id, keep="") for c in skipped)
    out.para(f"- {len(skipped)} {'check' if len(skipped) == 1 else 'checks'} skipped ({why})" + (f": {ids}" if verbose or len(skipped) <= 3 else ""),
             hang="  ")


def _waived(report: Report, out: _Out) -> None:
    """Waived findings, one line each: visible where people look, so that a waiver is never forgotten."""
    waived = [(c, f) for c in report.checks for f in c.findings if f.waived]
    if not waived:
        return
    out.blank()
    for check, finding in waived[:MAX_FINDINGS_PER_CHECK]:
        where = f" on {finding.object}" if finding.object else ""
        out.para(f"~ {check.id} {finding.code}{where}: {report.waiver_note(check.id, finding)}", hang="    ")
    if len(waived) > MAX_FINDINGS_PER_CHECK:
        out.para(f"~ ... and {len(waived) - MAX_FINDINGS_PER_CHECK} more waived findings (see --format json)")


def _tables_section(report: Report, out: _Out) -> None:
    """Tables that are not simply ``ok``: what each needs, grouped by status."""
    notable = [t for t in report.tables if t.status != "ok"]
    if not notable:
        return
    ok = len(report.tables) - len(notable)
    order = {"needs_decision": 0, "decided": 1, "excluded": 2, "not_publishable": 3}
    shown = sorted(notable, key=lambda t: (order.get(t.status, 9), t.schema_, t.name))[:MAX_TABLE_ROWS]
    head = ["table", "status", "kind", "persistence", "identity", "pk", "candidate index", "decision"]
    rows = [[visible(cell, keep="") for cell in (format_name(t.schema_, t.name), t.status, t.kind, t.persistence,
                                                 t.replica_identity, "yes" if t.has_primary_key else "no",
                                                 t.candidate_index or "-", t.decision or "-")]
            for t in shown]
    out.blank()
    out.para(f"Tables ({len(report.tables)} selected, {ok} ok; the others below):")
    for keep in (range(8), (0, 1, 4, 5, 6, 7), (0, 1, 4, 6)):  # fewer columns until the grid fits
        grid = tabulate([[row[i] for i in keep] for row in rows], headers=[head[i] for i in keep],
                        tablefmt="plain").splitlines()
        if max(len(line) for line in grid) + 2 <= out.width:
            out.lines += ["  " + line for line in grid]
            break
    else:  # too narrow for any grid: one paragraph per table
        for row in rows:
            out.para(f"{row[0]}: " + ", ".join(f"{h} {v}" for h, v in zip(head[1:], row[1:], strict=True)), "  ", "    ")
    if len(notable) > len(shown):
        out.para(f"  ... and {len(notable) - len(shown)} more (every table is in --format json)")


def _script(report: Report, out: _Out) -> None:
    verbose = out.style.detail == "verbose"
    script = remediation_lines(report, width=out.width, brief=True, steps=verbose,
                               max_lines_per_check=None if verbose else MAX_SCRIPT_LINES)
    if not script:
        return
    out.blank()
    out.lines.append(out.paint("Fix (review first; also: --format sql):", bold=True))
    for line in script:
        out.lines.append(out.paint(visible(line, keep=""), dim=True) if line.startswith("--") else visible(line, keep=""))


def _next_step(report: Report, out: _Out) -> None:
    """The closing line: what to do now, and where the rest of the report is."""
    more = ("'--verbose' for every finding and step" if out.style.detail != "verbose"
            else "'--format json' for everything")
    if unreachable(report):
        text = "Next: fix the connection (the step above says how), then run the same command again."
    elif report.status.value == "ready":
        text = ("Next: point the consumer at this server; keep this command in CI (it exits 1 when the "
                "server stops being ready).")
    elif report.status.value == "incomplete":
        text = f"Next: a check could not complete: {more} shows why; fix its access, then run the same command again."
    else:
        who = "as the roles its comments name" if out.style.detail == "verbose" else "as a superuser or the owners"
        text = f"Next: review and run the script above ({who}), then run the same command again; {more}."
    out.lines += [out.paint(line, bold=True) for line in out.wrap(text, hang="  ")]
