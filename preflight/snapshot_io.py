"""Saved snapshots: the gathered facts (no secrets) plus the selection they were gathered for, so the
checks can be re-run with no server (a support ticket, an air-gapped review)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from preflight.facts import Snapshot
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


def load_snapshot(path: Path) -> SavedSnapshot:
    text = read_text(path, SnapshotError)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}: not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("pg_preflight_snapshot") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: not a pg-preflight snapshot (format {FORMAT_VERSION})")
    try:
        return SavedSnapshot.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SnapshotError(f"{path}: {'.'.join(map(str, first['loc']))}: {first['msg']}") from None
