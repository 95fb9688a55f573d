"""The remediation script alone: commented per check, restart-requiring and destructive statements flagged.

Destructive statements are written commented out, so that pasting the whole script never drops
anything by accident; a reviewer uncomments what they mean to run. So are withheld ones: a
remediation whose ``after`` findings are still open, with no SQL fix printed before it, would break
the source if run now (publishing a table that has no replica identity yet); the comment names the
finding to fix first.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from preflight.models import CheckResult, Finding, Remediation, Report, Severity
from preflight.sqltext import Unwritable, psql_connect
from preflight.statements import Reload, Restart, SettingChange, Sql, Statement, Step, step_text
from preflight.terminal import visible


def comment(text: str, prefix: str = "-- ") -> list[str]:
    """Every line of ``text`` as an SQL line comment (a message can never escape into SQL), with
    non-printable characters shown as escapes so that the script stays printable."""
    return [prefix + visible(line, keep="") if line else prefix.rstrip() for line in text.removesuffix("\n").split("\n")]


class _Script:
    """What the script has printed so far: statements, one per setting, and whether a reload is due.

    A setting several findings change is set once, where it first appears, to the largest value any
    of them needs (each check raises from the current value, but two checks can still disagree: the
    later, lower one would win when pasted). The same holds for a managed service's setting steps.
    A reload follows every batch of reloadable changes. Both read the setting change values
    (``preflight.statements.SettingChange``), never the text.
    """

    def __init__(self, report: Report, width: int | None = None, brief: bool = False, steps: bool = True) -> None:
        self.width, self.brief, self.steps = width, brief, steps
        self.steps_seen: set[str] = set()
        self.restarts: list[str] = []  # settings needing a restart, named once at the end of a brief script
        self.seen: set[str] = set()
        self.fixed: set[int] = set()  # id() of findings whose SQL fix is printed (runnable) above
        self.open: dict[tuple[str, str | None], list[Finding]] = {}
        for result in report.checks:
            for finding in result.findings:
                if finding.severity is not Severity.INFO:
                    self.open.setdefault((result.id, finding.object), []).append(finding)
        self.settings_done: set[str] = set()
        # A brief script states advice given for several objects once, naming them all: the step with
        # its object replaced by the list of every object it was given for.
        self.grouped: dict[str, list[str]] = {}
        if brief:
            for result in report.checks:
                for finding in result.findings:
                    for text in finding.remediation.steps_text():
                        if finding.object and finding.object in text and not finding.waived:
                            self.grouped.setdefault(_template(text, finding.object), []).append(finding.object)
        self.reload_due = False
        remediations = [f.remediation for result in report.checks for f in result.findings]
        self.largest = _largest(s for rem in remediations if not rem.destructive for s in rem.sql)
        self.largest_step = _largest(s for rem in remediations for s in rem.steps)

    def blocking_codes(self, rem: Remediation) -> list[str]:
        """The blockers as 'check code' once each (a brief script: the objects are listed elsewhere)."""
        return list(dict.fromkeys(f"{ref.check} {finding.code}" for ref in rem.after
                                  for finding in self.open.get((ref.check, ref.object), [])
                                  if id(finding) not in self.fixed))

    def blockers(self, rem: Remediation) -> list[str]:
        """The open findings ``rem`` must wait for whose fix is not printed above, as 'check code on object'."""
        return [f"{ref.check} {finding.code} on {ref.object}" for ref in rem.after
                for finding in self.open.get((ref.check, ref.object), []) if id(finding) not in self.fixed]

    def note(self, text: str, prefix: str = "-- ") -> list[str]:
        """Prose as comment lines, wrapped at ``width`` between words when one is set (never a statement)."""
        if self.width is None:
            return comment(text, prefix)
        hang = "--" + " " * (len(prefix) - 2)
        return [line for para in text.removesuffix("\n").split("\n")
                for line in textwrap.wrap(visible(para, keep=""), self.width, initial_indent=prefix, subsequent_indent=hang,
                                          break_long_words=False, break_on_hyphens=False) or [prefix.rstrip()]]

    def step(self, step: Step, obj: str | None = None) -> list[str]:
        """A manual step; a provider's setting change is merged like a statement (one per setting, largest).
        A brief script states each step once (one given for several objects names them all), and leaves
        the restart to its closing line."""
        text = step_text(step)
        if self.brief:
            template = _template(text, obj) if obj and obj in text else text
            if template in self.steps_seen or isinstance(step, Restart):
                return []
            self.steps_seen.add(template)
            objects = list(dict.fromkeys(self.grouped.get(template, [])))
            if len(objects) > 1 and not isinstance(step, SettingChange):
                named = ", ".join(objects[:MAX_GROUPED]) + (
                    f" and {len(objects) - MAX_GROUPED} more" if len(objects) > MAX_GROUPED else "")
                text = template.replace(_PLACEHOLDER, named)
        if not isinstance(step, SettingChange):
            return self.note(text, "-- step: ")
        if step.name in self.settings_done:
            return [] if self.brief else comment(f"({step.name} is changed above, to the largest value any finding needs)")
        self.settings_done.add(step.name)
        return self.note(step_text(self.largest_step.get(step.name, step)), "-- step: ")

    def statement(self, statement: Statement) -> list[str]:
        text = statement.text()
        if isinstance(statement, Reload):
            if not self.reload_due:
                return [] if self.brief else ["-- (statement already listed above)"]
            self.reload_due = False
            return [text]
        if isinstance(statement, SettingChange):
            name = statement.name
            if name in self.settings_done:
                return [] if self.brief else comment(f"({name} is set above, to the largest value any finding needs)")
            self.settings_done.add(name)
            self.reload_due = True
            chosen = self.largest.get(name, statement).text()
            note = [] if chosen == text else comment(f"(raised to what another finding needs for {name})")
            self.seen.add(chosen)
            return note + [chosen]
        if text in self.seen:
            return [] if self.brief else ["-- (statement already listed above)"]
        self.seen.add(text)
        self.reload_due |= isinstance(statement, Sql)  # hand-made (a plugin's), maybe an ALTER SYSTEM: keep its reload
        return [text]


_PLACEHOLDER = "\x00"
MAX_GROUPED = 8  # objects named by one grouped step; the findings (and --format json) name them all


def _template(step: str, obj: str) -> str:
    """``step`` with its object left out: the same advice for another object has the same template."""
    return step.replace(obj, _PLACEHOLDER)


def _largest(values: Iterable[Statement | Step]) -> dict[str, SettingChange]:
    """Per setting, the change (statement or provider step) to the largest number (compared in the
    setting's base unit, whatever unit each change is written in)."""
    sizes: dict[str, float] = {}
    largest: dict[str, SettingChange] = {}
    for value in values:
        if not isinstance(value, SettingChange):
            continue
        size = value.magnitude()
        if size is not None and (value.name not in sizes or size > sizes[value.name]):
            sizes[value.name], largest[value.name] = size, value
    return largest


def remediation_lines(report: Report, width: int | None = None, brief: bool = False, steps: bool = True,
                      max_lines_per_check: int | None = None) -> list[str]:
    """The body of the script; empty when nothing needs fixing. Shared with the table format.

    ``brief`` (the terminal report, which lists the findings already): no finding's message again, each
    step once, duplicates left out rather than noted, and one closing line for the restart. ``width``
    wraps the prose comments between words; a statement is never wrapped. Without ``steps`` (the short
    terminal report) a finding fixed by SQL shows its SQL alone; the steps of a failure without SQL, its
    only fix, stay; a warning's steps are left to the verbose report (its closing line says so). ``max_lines_per_check`` pages a check's block (100k tables: a statement each), saying how
    many statements were left out and where they all are."""
    lines: list[str] = []
    script = _Script(report, width, brief, steps)
    for result in report.checks:
        block = _check_block(result, script)
        if max_lines_per_check is not None and len(block) > max_lines_per_check + 1:
            left = sum(1 for line in block[max_lines_per_check:] if line and not line.startswith("--"))
            block = block[:max_lines_per_check] + script.note(
                f"... and {left} more statements of {result.id} (all of them: --format sql)")
        if block:
            lines += block + ([] if brief else [""])
    if script.restarts:
        lines += script.note(f"Then restart PostgreSQL (for {', '.join(dict.fromkeys(script.restarts))}).")
    return lines


def _check_block(result: CheckResult, script: _Script) -> list[str]:
    block: list[str] = []
    for finding in result.findings:
        if finding.remediation.is_empty() or (script.brief and finding.waived):
            continue
        block += _finding_block(result, finding, script)
    if block:
        head = script.note(f"{result.id}: {result.title}") if script.brief else \
            [visible(f"-- ===== {result.id}: {result.title} ({result.status.value}) =====", keep="")]
        block = head + block
    return block


def _finding_block(result: CheckResult, finding: Finding, script: _Script) -> list[str]:
    rem = finding.remediation
    head = f"[{finding.severity.value}] {finding.code}"
    if finding.object:
        head += f" on {finding.object}"
    out = [] if script.brief else comment(head) + comment(finding.message, "--   ")
    if script.brief and any(isinstance(step, Restart) for step in rem.steps):
        script.restarts.append(finding.object or finding.code)  # said once, by the script's closing line
    elif rem.requires_restart and not script.brief:
        out.append("-- RESTART REQUIRED: takes effect only after a server restart")
    blockers = script.blockers(rem) if rem.sql else []
    if blockers:
        shown = "; ".join(blockers[:5]) + (f"; and {len(blockers) - 5} more" if len(blockers) > 5 else "")
        out += script.note(f"WITHHELD until {' and '.join(script.blocking_codes(rem))} is fixed (now, it would make "
                           "UPDATE/DELETE fail on the source); re-run pg-preflight then." if script.brief else
                           f"WITHHELD: running this now would make UPDATE/DELETE fail on the source. Fix first: {shown}; "
                           "then re-run pg-preflight, which prints it uncommented.")
        out += [line for statement in rem.sql_text() for line in comment(statement)]
        rem = Remediation(steps=rem.steps)
    elif rem.sql and not rem.destructive:
        script.fixed.add(id(finding))
    for statement in rem.sql:
        text = statement.text()
        if visible(text) != text:  # only a plugin's hand-made SQL can get here
            out += script.note("not printed, it holds non-printable characters: " + text)
        elif rem.destructive:
            if text in script.seen:
                out += [] if script.brief else ["-- (statement already listed above)"]
                continue
            script.seen.add(text)
            out.append("-- DESTRUCTIVE: review, then uncomment to run")
            out += comment(text)
        else:
            out += script.statement(statement)
    # the short script: a failure's steps when they are its only fix; a warning's wait for --verbose
    if script.steps or (not finding.remediation.sql and finding.severity is Severity.ERROR):
        for step in rem.steps:
            out += script.step(step, finding.object)
    return out


def render(report: Report) -> str:
    header = [
        f"-- pg-preflight {report.tool.version} remediation script",
        *comment(f"target: {report.target.dsn}"),
        f"-- generated: {report.generated_at.isoformat()}  verdict: {report.status.value}",
        "-- Review before running. Run as a superuser (or the role each comment names).",
        "",
    ]
    if report.databases is not None:
        header[-1:] = ["-- A psql script: each database's statements follow a \\connect to that database.",
                       "-- In another client, run each section connected to the database its header names.", ""]
    body = remediation_lines(report)
    for db, view in report.database_views():
        body += _database_section(db.dbname, remediation_lines(view))
    if not body:
        body = ["-- Nothing to remediate.", ""]
    return "\n".join(header + body)


def _database_section(dbname: str, lines: list[str]) -> list[str]:
    """A database's statements after a comment naming it and the psql meta-command that connects to it.
    For a name no text can reproduce there is no ``\\connect``: its statements are written commented out,
    so that pasting never runs them in the previous section's database."""
    if not lines:
        return []
    head = comment(f"======== database {dbname} ========")
    try:
        return head + [psql_connect(dbname), ""] + lines
    except Unwritable:
        note = ["-- (no \\connect: the name holds bytes that are not valid text; connect to it yourself and "
                "run these uncommented)"]
        return head + note + [line if not line or line.startswith("--") else "-- " + line for line in lines]
