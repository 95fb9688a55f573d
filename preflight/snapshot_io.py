"""Saved snapshots: the gathered facts (no secrets) plus the selection they were gathered for, so the
checks can be re-run with no server (a support ticket, an air-gapped review)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from preflight.facts import FACTS, Fact, Snapshot
from preflight.files import read_text

FORMAT_VERSION = 1


class SnapshotError(ValueError):
    """A snapshot file that cannot be read; the message names the file and the reason."""


class SavedSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pg_preflight_snapshot: int = FORMAT_VERSION
    target_dsn: str
    options: dict[str, Any]
    snapshot: Snapshot


def save_snapshot(path: Path, snapshot: Snapshot, masked_dsn: str, options: dict[str, Any]) -> None:
    """Write the snapshot; the DSN is stored masked, so the file holds no password."""
    saved = SavedSnapshot(target_dsn=masked_dsn, options=options, snapshot=snapshot)
    path.write_text(saved.model_dump_json(indent=2) + "\n", encoding="utf-8")


def load_snapshot(path: Path, facts: Mapping[str, Fact] = FACTS) -> SavedSnapshot:
    """Read a saved snapshot; every fact ``facts`` knows is validated against its row model.

    Validation is strict (a string where a bool or a list is expected is an error, not coerced). A fact
    no installed check declares is kept as it was saved: nothing reads it.
    """
    text = read_text(path, SnapshotError)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("pg_preflight_snapshot") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: not a pg-preflight snapshot (format {FORMAT_VERSION})")
    try:
        saved = SavedSnapshot.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SnapshotError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
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
