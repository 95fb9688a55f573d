"""Options from a file: ``[tool.pg-preflight]`` in ``pyproject.toml`` or a ``pg-preflight.toml``.

Command-line options win over the file. Unknown keys are an error that names them, so a typo never
silently changes what a CI gate checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from preflight.files import read_toml, validated
from preflight.waivers import Waiver

DEFAULT_FILES = ("pg-preflight.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the reason."""


class ConfigFile(BaseModel):
    """Every key a config file may set (dashes or underscores)."""

    model_config = ConfigDict(extra="forbid")

    dsn: str | None = None
    schemas: list[str] | None = None
    tables: list[str] | None = None
    plugin: str | None = None
    slot_name: str | None = None
    publication: str | None = None
    profile: str | None = None
    role: str | None = None
    probe: bool | None = None
    decisions: str | None = Field(None, description="path of a decisions file, relative to the config file")
    format: str | None = None
    outputs: list[str] | None = None
    fail_on: str | None = None
    checks: list[str] | None = None
    skip: list[str] | None = None
    slots_needed: int | None = None
    max_xact_age: float | None = None
    connect_timeout: float | None = None
    statement_timeout: float | None = None
    lock_timeout: float | None = None
    waivers: list[Waiver] = Field(default_factory=list)


def _section(path: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        section = tool.get("pg-preflight") if isinstance(tool, dict) else None
        return section if isinstance(section, dict) else None
    nested = data.get("pg-preflight")
    return nested if isinstance(nested, dict) else data


def find_config(explicit: str | None, cwd: Path) -> Path | None:
    """The explicit file, else ./pg-preflight.toml, else ./pyproject.toml when it has our section."""
    if explicit:
        return Path(explicit)
    for name in DEFAULT_FILES:
        candidate = cwd / name
        if candidate.is_file():
            if name == "pyproject.toml":
                try:
                    if _section(candidate, read_toml(candidate, ConfigError)) is None:
                        continue
                except ConfigError:
                    continue
            return candidate
    return None


def load_config(path: Path) -> ConfigFile:
    """Read and validate; raise ``ConfigError`` (one line) for anything wrong."""
    data = read_toml(path, ConfigError)
    section = _section(path, data)
    if section is None:
        raise ConfigError(f"{path}: no [tool.pg-preflight] section")
    normalised = {str(k).replace("-", "_"): v for k, v in section.items()}
    unknown = sorted(k for k in normalised if k not in ConfigFile.model_fields)
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): {', '.join(unknown)}")
    config: ConfigFile = validated(path, ConfigError, lambda: ConfigFile.model_validate(normalised))
    if config.decisions:
        config.decisions = str(path.parent / config.decisions)
    return config
