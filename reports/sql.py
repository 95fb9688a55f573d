"""The remediation script alone: commented per check, restart-requiring and destructive statements flagged.

Destructive statements are written commented out, so that pasting the whole script never drops
anything by accident; a reviewer uncomments what they mean to run. So are withheld ones: a
remediation whose ``after`` findings are still open, with no SQL fix printed before it, would break
the source if run now (publishing a table that has no replica identity yet); the comment names the
finding to fix first.
"""

from __future__ import annotations

from collections.abc import Iterable

from preflight.models import CheckResult, Finding, Remediation, Report, Severity
from preflight.setting_text import RELOAD, parse_alter_system
from preflight.sqltext import Unwritable, psql_connect
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
    A reload follows every batch of reloadable changes.
    """

    def __init__(self, report: Report) -> None:
        self.seen: set[str] = set()
        self.fixed: set[int] = set()  # id() of findings whose SQL fix is printed (runnable) above
        self.open: dict[tuple[str, str | None], list[Finding]] = {}
        for result in report.checks:
            for finding in result.findings:
                if finding.severity is not Severity.INFO:
                    self.open.setdefault((result.id, finding.object), []).append(finding)
        self.settings_done: set[str] = set()
        self.reload_due = False
        remediations = [f.remediation for result in report.checks for f in result.findings]
        self.largest = _largest(s for rem in remediations if not rem.destructive for s in rem.sql)
        self.largest_step = _largest(s for rem in remediations for s in rem.steps if _is_setting_step(s))

    def blockers(self, rem: Remediation) -> list[str]:
        """The open findings ``rem`` must wait for whose fix is not printed above, as 'check code on object'."""
        return [f"{ref.check} {finding.code} on {ref.object}" for ref in rem.after
                for finding in self.open.get((ref.check, ref.object), []) if id(finding) not in self.fixed]

    def step(self, step: str) -> list[str]:
        """A manual step; a provider's setting change is merged like a statement (one per setting, largest)."""
        parsed = parse_alter_system(step) if _is_setting_step(step) else None
        if parsed is None:
            return comment(step, "-- step: ")
        name = parsed[0]
        if name in self.settings_done:
            return comment(f"({name} is changed above, to the largest value any finding needs)")
        self.settings_done.add(name)
        return comment(self.largest_step.get(name, step), "-- step: ")

    def statement(self, statement: str) -> list[str]:
        if statement == RELOAD:
            if not self.reload_due:
                return ["-- (statement already listed above)"]
            self.reload_due = False
            return [statement]
        parsed = parse_alter_system(statement)
        if parsed is not None:
            name = parsed[0]
            if name in self.settings_done:
                return comment(f"({name} is set above, to the largest value any finding needs)")
            self.settings_done.add(name)
            self.reload_due = True
            chosen = self.largest.get(name, statement)
            note = [] if chosen == statement else comment(f"(raised to what another finding needs for {name})")
            self.seen.add(chosen)
            return note + [chosen]
        if statement in self.seen:
            return ["-- (statement already listed above)"]
        self.seen.add(statement)
        self.reload_due |= statement.lstrip().upper().startswith("ALTER SYSTEM")  # written some other way
        return [statement]


def _is_setting_step(step: str) -> bool:
    """A provider's setting change (it ends with the equivalent statement), not a statement itself."""
    return not step.startswith("ALTER SYSTEM") and parse_alter_system(step) is not None


def _largest(texts: Iterable[str]) -> dict[str, str]:
    """Per setting, the text (statement or step) setting the largest integer value."""
    values: dict[str, int] = {}
    largest: dict[str, str] = {}
    for text in texts:
        name, value = parse_alter_system(text) or ("", None)
        if value is not None and (name not in values or value > values[name]):
            values[name], largest[name] = value, text
    return largest


def remediation_lines(report: Report) -> list[str]:
    """The body of the script; empty when nothing needs fixing. Shared with the table format."""
    lines: list[str] = []
    script = _Script(report)
    for result in report.checks:
        block = _check_block(result, script)
        if block:
            lines += block + [""]
    return lines


def _check_block(result: CheckResult, script: _Script) -> list[str]:
    block: list[str] = []
    for finding in result.findings:
        if finding.remediation.is_empty():
            continue
        block += _finding_block(result, finding, script)
    if block:
        block = [visible(f"-- ===== {result.id}: {result.title} ({result.status.value}) =====", keep="")] + block
    return block


def _finding_block(result: CheckResult, finding: Finding, script: _Script) -> list[str]:
    rem = finding.remediation
    head = f"[{finding.severity.value}] {finding.code}"
    if finding.object:
        head += f" on {finding.object}"
    out = comment(head) + comment(finding.message, "--   ")
    if rem.requires_restart:
        out.append("-- RESTART REQUIRED: takes effect only after a server restart")
    blockers = script.blockers(rem) if rem.sql else []
    if blockers:
        shown = "; ".join(blockers[:5]) + (f"; and {len(blockers) - 5} more" if len(blockers) > 5 else "")
        out += comment(f"WITHHELD: running this now would make UPDATE/DELETE fail on the source. Fix first: {shown}; "
                       "then re-run pg-preflight, which prints it uncommented.")
        out += [line for statement in rem.sql for line in comment(statement)]
        rem = Remediation(steps=rem.steps)
    elif rem.sql and not rem.destructive:
        script.fixed.add(id(finding))
    for statement in rem.sql:
        if visible(statement) != statement:  # only a plugin's hand-made SQL can get here
            out += comment("not printed, it holds non-printable characters: " + statement)
        elif rem.destructive:
            if statement in script.seen:
                out.append("-- (statement already listed above)")
                continue
            script.seen.add(statement)
            out.append("-- DESTRUCTIVE: review, then uncomment to run")
            out += comment(statement)
        else:
            out += script.statement(statement)
    for step in rem.steps:
        out += script.step(step)
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
