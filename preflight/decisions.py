"""Replica-identity decisions: a ``{"decisions": {"schema.table": VALUE}}`` file, the shape hosted CDC
connector APIs take them in (docs/architecture.md, "Inputs").

Loading is strict (a typo in a decision file must not silently leave a table undecided): every
problem raises ``DecisionsError`` with one line naming the reason. Keys use the one name syntax
and are returned canonical (``format_name(*parse_name(key))``). The table-key check writes the
template of such a file (``preflight.checks.table_keys.template``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

from preflight.files import read_json
from preflight.models import Decision
from preflight.names import NameError_, format_name, parse_name

VALUES: tuple[str, ...] = get_args(Decision)


class DecisionsError(ValueError):
    """A decisions file that cannot be used; the message is one line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DecisionsError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


@dataclass(frozen=True)
class DecisionsFile:
    """A decisions file: ``tables`` for every database, ``databases`` per database name (they win there)."""

    tables: dict[str, Decision]
    databases: dict[str, dict[str, Decision]] = field(default_factory=dict)


def parse_decisions_file(data: Any) -> DecisionsFile:
    """Validate the decoded JSON: ``{"decisions": {...}}`` and, for ``--all-databases``, an optional
    ``"databases": {"dbname": {"schema.table": decision}}`` whose entries apply to that database only."""
    if not isinstance(data, dict):
        raise DecisionsError('expected a JSON object {"decisions": {"schema.table": "exclude|add_pk|replica_identity_full"}}')
    extra = sorted(set(data) - {"decisions", "databases"})
    if extra or "decisions" not in data:
        what = f"unexpected key(s) {', '.join(map(repr, extra))}" if extra else 'missing the "decisions" key'
        raise DecisionsError(f'{what}; expected {{"decisions": {{"schema.table": "..."}}}}')
    per_database = data.get("databases", {})
    if not isinstance(per_database, dict):
        raise DecisionsError(f'"databases" must be an object of "dbname": {{"schema.table": decision}}, not '
                             f"{type(per_database).__name__}")
    databases = {}
    for dbname, raw in per_database.items():
        try:
            databases[dbname] = parse_decisions({"decisions": raw})
        except DecisionsError as exc:
            raise DecisionsError(f"database {dbname!r}: {exc}") from None
    return DecisionsFile(parse_decisions({"decisions": data["decisions"]}), databases)


def parse_decisions(data: Any) -> dict[str, Decision]:
    """Validate the decoded JSON; return canonical ``schema.table`` -> decision."""
    if not isinstance(data, dict):
        raise DecisionsError('expected a JSON object {"decisions": {"schema.table": "exclude|add_pk|replica_identity_full"}}')
    extra = sorted(set(data) - {"decisions"})
    if extra or "decisions" not in data:
        what = f"unexpected key(s) {', '.join(map(repr, extra))}" if extra else 'missing the "decisions" key'
        raise DecisionsError(f'{what}; expected {{"decisions": {{"schema.table": "..."}}}}')
    raw = data["decisions"]
    if not isinstance(raw, dict):
        raise DecisionsError(f'"decisions" must be an object of "schema.table": decision, not {type(raw).__name__}')
    out: dict[str, Decision] = {}
    origin: dict[str, str] = {}
    for key, value in raw.items():
        try:
            canonical = format_name(*parse_name(key))
        except NameError_ as exc:
            raise DecisionsError(f"bad table name {key!r}: {exc}") from None
        if not isinstance(value, str) or value not in VALUES:
            raise DecisionsError(f"unknown decision {value!r} for {key!r}; expected one of: {', '.join(VALUES)}")
        if canonical in out and out[canonical] != value:
            raise DecisionsError(f"{origin[canonical]!r} and {key!r} name the same table with different decisions")
        out[canonical] = value  # type: ignore[assignment]  # checked against VALUES above
        origin[canonical] = key
    return out


def load_decisions(path: str | Path) -> DecisionsFile:
    """Read and validate a decisions file; ``DecisionsError`` on any problem (missing, unreadable, malformed)."""
    data = read_json(Path(path), DecisionsError, object_pairs_hook=_no_duplicates)
    try:
        return parse_decisions_file(data)
    except DecisionsError as exc:
        raise DecisionsError(f"{path}: {exc}") from None

