"""Fleet audits: many servers checked concurrently, one summary row each, one report file each.

Each server gets its own session and timeouts, so one that hangs or refuses never stalls the rest.
The workers are daemon threads, not a ``ThreadPoolExecutor``: on Ctrl-C the run returns at once with
what finished, and nothing waits at exit for a connect still running (an executor's threads are
joined at interpreter exit, i.e. after the slowest connect timeout).
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from preflight.connection import DsnError, parse_dsn
from preflight.files import read_text
from preflight.models import CheckStatus, Report
from preflight.options import Options
from preflight.runner import run_preflight

_NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)=(postgres(?:ql)?://.*)$")


class FleetFileError(ValueError):
    """A DSN file line that cannot be used; the message names the file and line."""


@dataclass(frozen=True)
class FleetEntry:
    name: str
    dsn: str


def _default_name(dsn: str, taken: set[str]) -> str:
    effective = parse_dsn(dsn).params
    base = "_".join(p for p in (effective.get("host"), effective.get("port"), effective.get("dbname")) if p) or "server"
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def parse_dsn_file(path: Path) -> list[FleetEntry]:
    """One DSN per line, or ``NAME=URI``; ``#`` comments and blank lines ignored."""
    lines = read_text(path, FleetFileError).splitlines()
    entries: list[FleetEntry] = []
    taken: set[str] = set()
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = _NAME.match(text)
        name, dsn = (match.group(1), match.group(2)) if match else (None, text)
        try:
            parse_dsn(dsn)
        except DsnError as exc:
            raise FleetFileError(f"{path}:{number}: {exc}") from None
        if name in taken:
            raise FleetFileError(f"{path}:{number}: duplicate name {name!r}")
        name = name or _default_name(dsn, taken)
        taken.add(name)
        entries.append(FleetEntry(name, dsn))
    if not entries:
        raise FleetFileError(f"{path}: no DSN in the file")
    return entries


@dataclass
class FleetRun:
    """What a fleet run checked (in the file's order), what it did not, and the interrupt that stopped it."""

    results: list[tuple[FleetEntry, Report]] = field(default_factory=list)
    not_checked: list[FleetEntry] = field(default_factory=list)
    interrupt: KeyboardInterrupt | None = None


def run_fleet(entries: list[FleetEntry], options: Options, jobs: int,
              on_done: Callable[[FleetEntry, Report], None] | None = None) -> FleetRun:
    """Check every server with at most ``jobs`` at once. ``on_done`` runs in the calling thread.

    Ctrl-C (or SIGTERM raised as ``Terminated``) stops handing out servers and returns at once: the
    finished ones in ``results``, the rest in ``not_checked``; running connects are abandoned.
    """
    todo: queue.SimpleQueue[FleetEntry] = queue.SimpleQueue()
    for entry in entries:
        todo.put(entry)
    done: queue.SimpleQueue[tuple[FleetEntry, Report | BaseException]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                entry = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((entry, run_preflight(options.model_copy(update={"dsn": entry.dsn}))))
            except BaseException as exc:  # handed to the caller, raised there
                done.put((entry, exc))

    for n in range(min(max(1, jobs), len(entries))):
        threading.Thread(target=work, name=f"pg-preflight-{n}", daemon=True).start()
    reports: dict[str, Report] = {}
    run = FleetRun()
    try:
        while len(reports) < len(entries):
            try:
                entry, outcome = done.get(timeout=0.5)  # short waits: a signal is handled between them
            except queue.Empty:
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            reports[entry.name] = outcome
            if on_done:
                on_done(entry, outcome)
    except KeyboardInterrupt as exc:
        stop.set()
        run.interrupt = exc
    run.results = [(e, reports[e.name]) for e in entries if e.name in reports]
    run.not_checked = [e for e in entries if e.name not in reports]
    return run


def summary_row(entry: FleetEntry, report: Report) -> list[str]:
    failing = [c.id for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR)]
    return [entry.name, report.status.value, ", ".join(failing) or "-", report.target.provider or "-",
            report.target.server_version.split()[0] if report.target.server_version else "-"]
