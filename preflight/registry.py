"""Which checks exist: the built-in list plus third-party ones from the ``pg_preflight.checks``
entry-point group. Validates ids and metadata and orders checks so that each runs after what it requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import entry_points

from checks.existing_slots import ExistingSlots
from checks.grants import Grants
from checks.logical_replication import LogicalReplication
from checks.long_transactions import LongTransactions
from checks.plugin_availability import PluginAvailability
from checks.provider import ProviderCheck
from checks.publication import PublicationCheck
from checks.reachability import Reachability
from checks.server_version import ServerVersion
from checks.slot_capacity import SlotCapacity
from checks.table_keys import TableKeys
from checks.writer_status import WriterStatus
from preflight.check import Check
from preflight.facts import PROVIDERS

ENTRY_POINT_GROUP = "pg_preflight.checks"
BUILTIN: list[type[Check]] = [Reachability, ServerVersion, ProviderCheck, WriterStatus, LogicalReplication, SlotCapacity, TableKeys, Grants,
                              ExistingSlots, PublicationCheck, PluginAvailability, LongTransactions]
_ID = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


@dataclass(frozen=True)
class BrokenPlugin:
    """A third-party check that could not be loaded: reported as one ``error`` result, not a crash."""

    id: str
    title: str
    error: str


class RegistryError(ValueError):
    """A check with invalid metadata (id, requires, facts)."""


def validate(check: type[Check], known_ids: set[str]) -> None:
    check_id = getattr(check, "id", None)
    if not isinstance(check_id, str) or not _ID.match(check_id):
        raise RegistryError(f"invalid check id {check_id!r} (lowercase letters, digits, underscores)")
    if not isinstance(getattr(check, "title", None), str) or not check.title:
        raise RegistryError(f"check {check_id!r} has no title")
    for need in check.requires:
        if need not in known_ids:
            raise RegistryError(f"check {check_id!r} requires unknown check {need!r}")
    for fact in (*check.facts, *getattr(check, "optional_facts", ())):
        if fact not in PROVIDERS:
            raise RegistryError(f"check {check_id!r} needs unknown fact {fact!r}")
    if not callable(getattr(check, "run", None)):
        raise RegistryError(f"check {check_id!r} has no run()")


def load_plugins() -> tuple[list[type[Check]], list[BrokenPlugin]]:
    """Third-party checks; each failure to load becomes a ``BrokenPlugin``."""
    found: list[type[Check]] = []
    broken: list[BrokenPlugin] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
            if not (isinstance(obj, type) and issubclass(obj, Check)):
                raise RegistryError(f"{ep.value} is not a subclass of preflight.check.Check")
            found.append(obj)
        except Exception as exc:  # third-party import code can raise anything
            broken.append(BrokenPlugin(_safe_id(ep.name), f"plugin {ep.name}", f"could not load {ep.value}: {exc}"))
    return found, broken


def _safe_id(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "plugin"
    return cleaned if cleaned[0].isalpha() else f"p_{cleaned}"


def all_checks(include_plugins: bool = True) -> tuple[list[type[Check]], list[BrokenPlugin]]:
    """Every check, validated and ordered by ``requires``; invalid plugins become ``BrokenPlugin``."""
    checks = list(BUILTIN)
    broken: list[BrokenPlugin] = []
    if include_plugins:
        plugins, broken = load_plugins()
        builtin_ids = {c.id for c in BUILTIN}
        for plugin in plugins:
            if getattr(plugin, "id", None) in builtin_ids or plugin.id in {c.id for c in checks}:
                broken.append(BrokenPlugin(_safe_id(str(getattr(plugin, "id", "plugin"))) + "_duplicate",
                                           f"plugin {plugin.__name__}", f"duplicate check id {plugin.id!r}"))
                continue
            checks.append(plugin)
    ids = {c.id for c in checks}
    valid: list[type[Check]] = []
    for check in checks:
        try:
            validate(check, ids)
            valid.append(check)
        except RegistryError as exc:
            if check in BUILTIN:
                raise
            broken.append(BrokenPlugin(_safe_id(str(getattr(check, "id", "plugin"))), f"plugin {check.__name__}", str(exc)))
    return order(valid), broken


def order(checks: list[type[Check]]) -> list[type[Check]]:
    """Topological order by ``requires``, stable otherwise; a cycle is a registry error."""
    by_id = {c.id: c for c in checks}
    done: list[type[Check]] = []
    state: dict[str, int] = {}

    def visit(check: type[Check]) -> None:
        if state.get(check.id) == 2:
            return
        if state.get(check.id) == 1:
            raise RegistryError(f"dependency cycle through {check.id!r}")
        state[check.id] = 1
        for need in check.requires:
            if need in by_id:
                visit(by_id[need])
        state[check.id] = 2
        done.append(check)

    for check in checks:
        visit(check)
    return done


def select(checks: list[type[Check]], only: list[str], skip: list[str]) -> list[type[Check]]:
    """Apply ``--check`` / ``--skip``; unknown ids are a usage error. Requirements are added back."""
    ids = {c.id for c in checks}
    unknown = sorted({i for i in only + skip if i not in ids})
    if unknown:
        raise RegistryError(f"unknown check id(s): {', '.join(unknown)} (see 'pg-preflight list-checks')")
    if not only:
        return [c for c in checks if c.id not in skip]
    by_id = {c.id: c for c in checks}
    wanted: set[str] = set()
    stack = list(only)
    while stack:
        current = stack.pop()
        if current in wanted:
            continue
        wanted.add(current)
        stack.extend(by_id[current].requires)
    return [c for c in checks if c.id in wanted and (c.id not in skip or c.id in only)]
