"""Saved snapshots: the gathered facts (no secrets) plus the selection they were gathered for, so the
checks can be re-run with no server (a support ticket, an air-gapped review)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from preflight.connection import DsnError, parse_dsn
from preflight.facts import Snapshot
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


def load_snapshot(path: Path) -> SavedSnapshot:
    """Read and validate a saved snapshot: untrusted input (it may come from a ticket), so anything
    malformed, of the wrong type or nested too deeply is a ``SnapshotError`` naming the file."""
    raw = read_json(path, SnapshotError)
    if not isinstance(raw, dict) or raw.get("pg_preflight_snapshot") != FORMAT_VERSION:
        raise SnapshotError(f"{path}: not a pg-preflight snapshot (format {FORMAT_VERSION})")
    saved: SavedSnapshot = validated(path, SnapshotError, lambda: SavedSnapshot.model_validate(raw))
    validated(path, SnapshotError, lambda: SavedSelection.model_validate(saved.options))
    try:
        parse_dsn(saved.target_dsn)
    except DsnError as exc:
        raise SnapshotError(f"{path}: target_dsn: {exc}") from None
    return saved
