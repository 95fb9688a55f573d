"""Replica-identity decisions: the seed API's ``{"decisions": {"schema.table": VALUE}}`` file.

Loading is strict (a typo in a decision file must not silently leave a table undecided): every
problem raises ``DecisionsError`` with one line naming the reason. Keys use the one name syntax
and are returned canonical (``format_name(*parse_name(key))``). ``template`` turns a report into
a file to review, suggesting one decision per table that needs one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args

from preflight.files import read_json
from preflight.models import Decision, Report, Severity, TableEntry
from preflight.names import NameError_, format_name, parse_name

VALUES: tuple[str, ...] = get_args(Decision)
LARGE_TABLE_BYTES = 1 << 30  # above this, REPLICA IDENTITY FULL's WAL volume deserves a real key instead


class DecisionsError(ValueError):
    """A decisions file that cannot be used; the message is one line."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise DecisionsError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


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


def load_decisions(path: str | Path) -> dict[str, Decision]:
    """Read and validate a decisions file; ``DecisionsError`` on any problem (missing, unreadable, malformed)."""
    data = read_json(Path(path), DecisionsError, object_pairs_hook=_no_duplicates)
    try:
        return parse_decisions(data)
    except DecisionsError as exc:
        raise DecisionsError(f"{path}: {exc}") from None


def suggest(table: TableEntry) -> tuple[Decision, str]:
    """The decision a template proposes for one table, and why.

    A primary key or a candidate unique NOT NULL index -> ``add_pk`` (the fix is an identity change,
    no rewrite, no extra WAL); no key on a table up to 1 GiB -> ``replica_identity_full``; no key on
    a larger one -> ``add_pk`` (FULL logs every old column of every UPDATE/DELETE).
    """
    if table.has_primary_key:
        return "add_pk", "has a primary key: ALTER TABLE ... REPLICA IDENTITY DEFAULT restores it"
    if table.candidate_index:
        return "add_pk", f"unique NOT NULL index {table.candidate_index}: REPLICA IDENTITY USING INDEX, no rewrite"
    if table.size_bytes is not None and table.size_bytes > LARGE_TABLE_BYTES:
        return "add_pk", f"no key and {table.size_bytes // (1 << 20)} MiB: FULL would log whole old rows"
    return "replica_identity_full", "no key; small enough for REPLICA IDENTITY FULL"


def template(report: Report) -> tuple[dict[str, dict[str, Decision]], list[str]]:
    """A decisions document for every table that needs a decision, and one explanatory line each.

    Only tables with their own error finding: a partitioned table is represented by its leaves.
    """
    flagged = {f.object for c in report.checks if c.id == "table_keys" for f in c.findings if f.severity is Severity.ERROR}
    decisions: dict[str, Decision] = {}
    notes: list[str] = []
    for table in report.tables:
        key = format_name(table.schema_, table.name)
        if table.status != "needs_decision" or key not in flagged:
            continue
        decisions[key], why = suggest(table)
        notes.append(f"{key}: {decisions[key]} ({why})")
    return {"decisions": decisions}, notes
