"""Saved snapshots: the gathered facts (no secrets) plus the selection they were gathered for, so the
checks can be re-run with no server (a support ticket, an air-gapped review)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from preflight.connection import DsnError, parse_dsn
from preflight.facts import FACTS, Fact, Snapshot
from preflight.files import read_json, validated

FORMAT_VERSION = 1


class SnapshotError(ValueError):
    """A snapshot file that cannot be read; the message names the file and the reason."""


class SavedSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pg_preflight_snapshot: int = FORMAT_VERSION
    target_dsn: str
    options: dict[str, Any]
    snapshot: Snapshot


class SavedSelection(BaseModel):
    """The part of the saved options a re-run uses (the selection), checked on load."""

    model_config = ConfigDict(extra="ignore")

    schemas: list[str] = []
    tables: list[str] = []
    role: str | None = None


def save_snapshot(path: Path, snapshot: Snapshot, masked_dsn: str, options: dict[str, Any]) -> None:
    """Write the snapshot; the DSN is stored masked, so the file holds no password."""
    saved = SavedSnapshot(target_dsn=masked_dsn, options=options, snapshot=snapshot)
    path.write_text(saved.model_dump_json(indent=2) + "\n", encoding="utf-8")


def load_snapshot(path: Path, facts: Mapping[str, Fact] = FACTS) -> SavedSnapshot:
    """Read and validate a saved snapshot: untrusted input (it may come from a ticket), so anything
    malformed, of the wrong type or nested too deeply is a ``SnapshotError`` naming the file. Every
    fact ``facts`` knows is validated strictly against its row model (a string where a bool or a list
    is expected is an error, not coerced); a fact no installed check declares is kept as it was saved:
    nothing reads it."""
    raw = read_json(path, SnapshotError)
    if not isinstance(raw, dict) or raw.get("pg_preflight_snapshot") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: not a pg-preflight snapshot (format {FORMAT_VERSION})")
    saved: SavedSnapshot = validated(path, SnapshotError, lambda: SavedSnapshot.model_validate(raw))
    validated(path, SnapshotError, lambda: SavedSelection.model_validate(saved.options))
    try:
        parse_dsn(saved.target_dsn)
    except DsnError as exc:
        raise SnapshotError(f"{path}: target_dsn: {exc}") from None
    for name, value in saved.snapshot.facts.items():
        fact = facts.get(name)
        if fact is not None:
            saved.snapshot.facts[name] = _typed(path, fact, value)
    return saved


@cache
def _adapter(value_type: Any) -> TypeAdapter[Any]:
    return TypeAdapter(value_type)


def _typed(path: Path, fact: Fact, value: Any) -> Any:
    """The saved JSON value as the fact's row models; a mismatch names the fact, the row and the field."""
    try:
        return _adapter(fact.value_type).validate_json(json.dumps(value), strict=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        row = f" row {loc.pop(0)}" if loc and isinstance(loc[0], int) else ""
        field = f" field {'.'.join(map(str, loc))}" if loc else ""
        raise SnapshotError(f"{path}: fact {fact.name!r}{row}{field}: {first['msg']}") from None
