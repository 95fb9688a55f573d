"""Fleet audits: the DSN file and the summary row of each server (the run itself is ``cli.fleet``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from preflight.connection import DsnError, parse_dsn
from preflight.files import read_text
from preflight.models import CheckStatus, Report

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


def summary_row(entry: FleetEntry, report: Report) -> list[str]:
    failing = [c.id for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR)]
    return [entry.name, report.status.value, ", ".join(failing) or "-", report.target.provider or "-",
            report.target.server_version.split()[0] if report.target.server_version else "-"]
