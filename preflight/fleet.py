"""Fleet audits: the inventory (a DSN file, a libpq service file), its shards, and the summary row of
each server (the run itself is ``cli.fleet``)."""

from __future__ import annotations

import configparser
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo

from preflight.connection import DsnError, parse_dsn
from preflight.files import one_line, read_text
from preflight.models import CheckStatus, Report, unreachable

_NAME = re.compile(r"^([A-Za-z0-9_][A-Za-z0-9_.-]*)=(postgres(?:ql)?://.*)$")
_NAME_WORD = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class FleetFileError(ValueError):
    """A DSN file line that cannot be used; the message names the file and line."""


class ShardError(ValueError):
    """A ``--shard`` value that is not ``I/N`` with 1 <= I <= N."""


@dataclass(frozen=True)
class FleetEntry:
    name: str
    dsn: str


def _unique(base: str, taken: set[str]) -> str:
    """``base`` made a plain word (it names the report file) and distinct from the names ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_.-]", "_", base)
    if base[0] in ".-":
        base = "_" + base
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def _default_name(dsn: str, taken: set[str]) -> str:
    effective = parse_dsn(dsn).params
    base = "_".join(p for p in (effective.get("host"), effective.get("port"), effective.get("dbname")) if p) or "server"
    return _unique(base, taken)


def parse_dsn_file(path: Path, taken: set[str] | None = None) -> list[FleetEntry]:
    """One DSN per line, or ``NAME=URI``; ``#`` comments and blank lines ignored. ``taken``: the names
    already in the inventory (filled in as the file is read)."""
    lines = read_text(path, FleetFileError).splitlines()
    entries: list[FleetEntry] = []
    taken = set() if taken is None else taken
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


def default_service_file() -> Path:
    """The service file libpq reads by default: ``PGSERVICEFILE``, else ``~/.pg_service.conf``."""
    return Path(os.environ.get("PGSERVICEFILE") or os.path.expanduser("~/.pg_service.conf"))


def parse_service_file(path: Path, taken: set[str] | None = None) -> list[FleetEntry]:
    """Every service of a libpq service file, named after the service; the DSN is ``service=NAME``.

    The connection parameters (passwords included) stay in the file: libpq reads them when it
    connects, so the caller points ``PGSERVICEFILE`` at ``path`` for the run.
    """
    parser = configparser.ConfigParser(interpolation=None, strict=False, delimiters=("=",), default_section="\x00",
                                       comment_prefixes=("#",), inline_comment_prefixes=None)
    try:
        parser.read_string(read_text(path, FleetFileError), source=str(path))
    except configparser.Error as exc:
        raise FleetFileError(f"{path}: not a service file: {one_line(exc.message)}") from None
    taken = set() if taken is None else taken
    entries: list[FleetEntry] = []
    for service in parser.sections():
        name = service if service not in taken else None
        if name is None or not _NAME_WORD.match(name):
            name = _unique(service or "service", taken)
        taken.add(name)
        entries.append(FleetEntry(name, make_conninfo(service=service)))
    if not entries:
        raise FleetFileError(f"{path}: no service in the file")
    return entries


def parse_shard(text: str) -> tuple[int, int]:
    """``I/N`` (1 <= I <= N) as ``(I, N)``."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*/\s*(\d{1,6})\s*", text)
    if not match:
        raise ShardError(f"--shard {text!r}: expected I/N, e.g. 2/5 (the second of five shards)")
    index, count = int(match.group(1)), int(match.group(2))
    if count < 1 or not 1 <= index <= count:
        raise ShardError(f"--shard {text!r}: I must be between 1 and N (N >= 1)")
    return index, count


def shard_of(name: str, count: int) -> int:
    """The shard (1..count) of the server called ``name``: a hash of the name, so the split is the same
    on every machine and run whatever the order of the inventory."""
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(entries: list[FleetEntry], index: int, count: int) -> list[FleetEntry]:
    return [e for e in entries if shard_of(e.name, count) == index]


def fleet_verdict(report: Report) -> str:
    """The verdict column: ``unreachable`` for a server the run could not connect to (nothing was
    checked, so it is not "not ready"), else the report's verdict."""
    return "unreachable" if unreachable(report) else report.status.value


def summary_row(entry: FleetEntry, report: Report) -> list[str]:
    failing = [c.id for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR)]
    return [entry.name, fleet_verdict(report), ", ".join(failing) or "-", report.target.provider or "-",
            report.target.server_version.split()[0] if report.target.server_version else "-"]
