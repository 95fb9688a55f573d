"""Profiles: what "ready" means for a given consumer. Data, not code: consumers disagree on thresholds,
so every finding that applies one says which profile demanded it.

Built in: ``generic`` (the default), ``ardent`` (the minimums a hosted CDC product, Ardent, publishes), ``debezium``,
``aws-dms``. A user's own profile is a TOML file with the same keys (``--profile path/to/profile.toml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from preflight.files import read_toml, validated

if TYPE_CHECKING:  # options validate a profile name with load_profile: no import back at run time
    from preflight.options import Options


class ProfileError(ValueError):
    """An unknown profile name or an invalid profile file (one line)."""


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    min_version_num: int = Field(100000, ge=90400)
    plugin: str = "pgoutput"
    free_slots: int = Field(1, ge=0)
    free_senders: int = Field(1, ge=0)
    min_max_replication_slots: int = Field(1, ge=0)
    min_max_wal_senders: int = Field(1, ge=0)
    writer_required: bool = False
    ssl_required: bool = False
    wal_sender_timeout_min_ms: int = Field(10000, ge=0)
    wal_sender_timeout_zero_ok: bool = False
    max_xact_age_s: float = Field(600.0, gt=0)
    min_slot_budget_hours: float = Field(24.0, ge=0)  # how long the consumer may be down before its slot is lost


BUILTIN: dict[str, Profile] = {p.name: p for p in [
    Profile(name="generic", description="Any logical replication consumer: pgoutput, one free slot and walsender."),
    Profile(name="ardent", description="A hosted CDC product's published minimums: 13+, TLS, wal2json, 10 slots and senders.", min_version_num=130000,
            plugin="wal2json", min_max_replication_slots=10, min_max_wal_senders=10, writer_required=True,
            ssl_required=True),
    Profile(name="debezium", description="Debezium's PostgreSQL connector (pgoutput).", min_version_num=100000,
            writer_required=False, wal_sender_timeout_zero_ok=False),
    Profile(name="aws-dms", description="AWS DMS premigration assessment thresholds.", min_version_num=120000,
            plugin="test_decoding", writer_required=True, wal_sender_timeout_min_ms=10000, max_xact_age_s=600.0),
]}


def load_profile(spec: str) -> Profile:
    """A built-in name, or the path of a TOML file (``name`` defaults to the file's stem)."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if not (spec.endswith(".toml") or path.exists()):
        raise ProfileError(f"unknown profile {spec!r}; built in: {', '.join(BUILTIN)}; or a path to a .toml file")
    data = {str(k).replace("-", "_"): v for k, v in read_toml(path, ProfileError).items()}
    data.setdefault("name", path.stem)
    profile: Profile = validated(path, ProfileError, lambda: Profile.model_validate(data))
    return profile


# Options a profile supplies unless the user set them explicitly (pydantic's model_fields_set).
PROFILE_OPTIONS = {"plugin": "plugin", "slots_needed": "free_slots", "senders_needed": "free_senders",
                   "max_xact_age": "max_xact_age_s"}


def apply_profile(options: Options) -> Options:
    """The options with the profile's values for everything the user did not set explicitly."""
    profile = load_profile(options.profile)
    update = {field: getattr(profile, attr) for field, attr in PROFILE_OPTIONS.items()
              if field not in options.model_fields_set}
    resolved = options.model_copy(update=update)
    resolved.__pydantic_fields_set__ = set(options.model_fields_set)  # still "not explicit" after resolving
    return resolved
