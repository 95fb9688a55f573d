"""Reading one consumer configuration: typed getters whose errors name the file and the key on one line.

Secret keys (``SECRET_KEY``) are never read: their values cannot reach a message, a note or the report.
Kafka Connect config-provider references (``${env:...}``, ``${file:...}``, ``${secrets:...}``) are never
resolved: a reference is not the value the consumer will use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from preflight.consumers.heartbeat_sql import NotUnderstood, target
from preflight.consumers.model import SECRET_KEY, Heartbeat

PROVIDER_REFERENCE = re.compile(r"\$\{[^}]*\}")


class ConsumerConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the key (one line)."""


class Keys:
    """A flat mapping of the file's keys (``where`` prefixes nested ones in messages)."""

    def __init__(self, path: Path, data: Mapping[str, Any], where: str = "", fold: bool = False) -> None:
        self.path, self.where, self.fold = path, where, fold
        self.data = {(k.lower() if fold else k): v for k, v in data.items()}
        self.read: dict[str, str] = {}

    def error(self, key: str, reason: str) -> ConsumerConfigError:
        return ConsumerConfigError(f"{self.path}: {self.where}{key}: {reason}")

    def has(self, key: str) -> bool:
        return self._key(key) in self.data

    def _key(self, key: str) -> str:
        return key.lower() if self.fold else key

    def raw(self, key: str) -> Any:
        if SECRET_KEY.search(key):
            raise AssertionError(f"secret key {key} is never read")  # a programming error, not input
        return self.data.get(self._key(key))

    def text(self, key: str, default: str | None = None, *, reference_ok: bool = False) -> str | None:
        """A string value (numbers and booleans as Kafka Connect writes them); ``default`` when absent or empty.
        A config-provider reference is refused, or with ``reference_ok`` treated as absent."""
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, int | float):
            value = str(value)
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {type(value).__name__}")
        value = value.strip()
        if PROVIDER_REFERENCE.search(value):
            if reference_ok:
                return default
            raise self.error(key, "is a config provider reference (${...}): pg-preflight does not resolve it; "
                                  "write the value, or give the matching option on the command line")
        self.read[key] = value
        return value or default

    def integer(self, key: str, default: int | None = None, *, reference_ok: bool = False) -> int | None:
        value = self.raw(key)
        if isinstance(value, bool):
            raise self.error(key, "expected an integer, got a boolean")
        text = self.text(key, None, reference_ok=reference_ok)
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise self.error(key, f"expected an integer, got {text!r}") from None

    def boolean(self, key: str, default: bool) -> bool:
        text = self.text(key)
        if text is None:
            return default
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise self.error(key, f"expected true or false, got {text!r}")

    def choice(self, key: str, default: str, accepted: tuple[str, ...], *, accepted_text: str = "") -> str:
        """One of ``accepted``, compared case-insensitively after trimming (as Debezium's enums parse)."""
        text = self.text(key)
        if text is None:
            return default
        for option in accepted:
            if option.lower() == text.lower():
                return option
        raise self.error(key, f"unknown value {text!r}; accepted: {accepted_text or ', '.join(accepted)}")

    def mapping(self, key: str) -> dict[str, Any] | None:
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(key, f"expected an object, got {type(value).__name__}")
        return value

    def source(self, key: str) -> str:
        """How the report names where a value came from: the file and the key."""
        return f"{self.path.name}: {self.where}{key}"


def statement_heartbeat(key: str, query: str, notes: list[str]) -> Heartbeat:
    """A heartbeat that runs ``query``: its table when the statement is understood, else said in ``notes``."""
    try:
        found = target(query)
    except NotUnderstood as exc:
        notes.append(f"{key} not understood ({exc})")
        return Heartbeat(key=key, query=query, understood=False)
    return Heartbeat(key=key, query=query, schema_name=found.schema, table=found.table, writes=found.writes)
