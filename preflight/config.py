"""Options from a file: ``[tool.pg-preflight]`` in ``pyproject.toml`` or a ``pg-preflight.toml``.

Command-line options win over the file. Unknown keys are an error that names them, so a typo never
silently changes what a CI gate checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ConfigDict, Field, create_model

from preflight.files import read_toml, validated
from preflight.options import Options
from preflight.suggest import did_you_mean
from preflight.waivers import Waiver

DEFAULT_FILES = ("pg-preflight.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the reason."""


class ConfigFile(BaseModel):
    """The keys a config file may set (dashes or underscores): every ``Options`` field, in the raw form
    the command line takes, plus where to write the report. ``load_config`` validates against
    ``CONFIG_MODEL``, which adds the ``Options`` fields not spelled out here."""

    model_config = ConfigDict(extra="forbid")

    format: str | None = None
    outputs: list[str] | None = None
    tables: list[str] | None = None
    decisions: str | None = Field(None, description="path of a decisions file, relative to the config file")
    waivers: list[Waiver] = Field(default_factory=list)

    def value(self, key: str) -> Any:
        """The value of any key (the ``Options`` ones are derived fields), None when not set."""
        return getattr(self, key, None)


# Derived, never restated: a new Options field is a config key at once (read with getattr). ``consumer`` is not:
# it is what --consumer-config read from the consumer's own file.
NOT_CONFIG_KEYS = ("consumer",)
_DERIVED: dict[str, Any] = {name: (cast(Any, field.annotation) | None, None)
                            for name, field in Options.model_fields.items()
                            if name not in ConfigFile.model_fields and name not in NOT_CONFIG_KEYS}
CONFIG_MODEL: type[ConfigFile] = create_model("ConfigFileKeys", __base__=ConfigFile, **_DERIVED)


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
    unknown = sorted(k for k in normalised if k not in CONFIG_MODEL.model_fields)
    tool = section.get("tool")
    if path.name != "pyproject.toml" and isinstance(tool, dict) and "pg-preflight" in tool:
        raise ConfigError(f"{path}: [tool.pg-preflight] is pyproject.toml's section name; in {path.name} write the "
                          "keys at the top level (drop the [tool.pg-preflight] line), or use [pg-preflight]")
    if unknown:
        raise ConfigError(f"{path}: unknown key(s): "
                          f"{', '.join(k + did_you_mean(k, CONFIG_MODEL.model_fields) for k in unknown)}")
    config: ConfigFile = validated(path, ConfigError, lambda: CONFIG_MODEL.model_validate(normalised))
    if config.decisions:
        config.decisions = str(path.parent / config.decisions)
    return config
