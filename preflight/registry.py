"""Which checks exist: everything registered in the ``pg_preflight.checks`` entry-point group.

The built-in checks are registered there by pg-preflight's own distribution, exactly like a
third-party plugin, so one loading mechanism serves both (as pytest loads its own plugins). A
built-in is an entry point whose object lives in ``preflight.checks``; a broken built-in is a bug
and raises, a broken plugin becomes one ``error`` result. Validates ids and metadata and orders
checks so that each runs after what it requires.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points

from preflight.check import Check
from preflight.codes import Codes
from preflight.facts import FACTS, Fact, ProbeFact, Scope, SqlFact
from preflight.suggest import did_you_mean

ENTRY_POINT_GROUP = "pg_preflight.checks"
BUILTIN_MODULE_PREFIX = "preflight.checks."
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
        validate_fact(check_id, fact)
    if not callable(getattr(check, "run", None)):
        raise RegistryError(f"check {check_id!r} has no run()")
    codes_of(check)


def declared_codes(include_plugins: bool = True) -> dict[str, Codes]:
    """Every registered check's declared finding codes, by check id."""
    return {check.id: codes_of(check) for check in all_checks(include_plugins)[0]}


def codes_of(check: type[Check]) -> Codes:
    """The finding codes a check declares: its module's ``CODES = declare(...)`` (one check per module)."""
    codes = getattr(sys.modules.get(check.__module__), "CODES", None)
    if not isinstance(codes, Codes):
        raise RegistryError(f"check {check.id!r} declares no finding codes: its module {check.__module__} needs "
                            "CODES = declare(Code(...), ...) from preflight.codes (see docs/plugins.md)")
    return codes


def validate_fact(check_id: str, fact: object) -> None:
    """A declared fact is a fact object with a row model; a built-in's name means that built-in."""
    if isinstance(fact, str):
        hint = f" (from preflight.facts import {fact.upper()})" if fact in FACTS else ""
        raise RegistryError(f"check {check_id!r} declares the fact {fact!r} by name: declare the fact object"
                            f"{hint}; 'pg-preflight list-facts' lists them")
    if not isinstance(fact, SqlFact | ProbeFact):
        raise RegistryError(f"check {check_id!r} declares {fact!r}, which is not a fact (SqlFact or ProbeFact: "
                            "see 'pg-preflight list-facts')")
    if not isinstance(fact.name, str) or not _ID.match(fact.name):
        raise RegistryError(f"check {check_id!r} declares a fact with an invalid name {fact.name!r}")
    builtin = FACTS.get(fact.name)
    if builtin is not None and builtin is not fact:
        raise RegistryError(f"check {check_id!r} declares its own fact {fact.name!r}, a name the built-in fact has")
    if not (isinstance(fact.row, type) and (dataclasses.is_dataclass(fact.row) or isinstance(fact, ProbeFact))):
        raise RegistryError(f"fact {fact.name!r} of check {check_id!r} has no row model (a dataclass)")
    if not isinstance(getattr(fact, "scope", None), Scope):
        raise RegistryError(f"fact {fact.name!r} of check {check_id!r} has no scope: say whether its rows depend on "
                            "the connected database (scope=Scope.DATABASE) or not (scope=Scope.CLUSTER)")


def declared_facts(checks: Iterable[type[Check]]) -> dict[str, Fact]:
    """Every fact the checks read, by name: built-ins and the ones plugins declare."""
    return {fact.name: fact for check in checks for fact in (*check.facts, *check.optional_facts)}


def known_facts() -> dict[str, Fact]:
    """The built-in facts and every fact a registered check declares (what a snapshot may hold)."""
    return {**FACTS, **declared_facts(all_checks()[0])}


def load_registered() -> tuple[list[type[Check]], list[type[Check]], list[BrokenPlugin]]:
    """(built-in checks, plugin checks, plugins that failed to load), in entry-point order."""
    builtin: list[type[Check]] = []
    plugins: list[type[Check]] = []
    broken: list[BrokenPlugin] = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        is_builtin = ep.value.startswith(BUILTIN_MODULE_PREFIX)
        try:
            obj = ep.load()
            if not (isinstance(obj, type) and issubclass(obj, Check)):
                raise RegistryError(f"{ep.value} is not a subclass of preflight.check.Check")
        except Exception as exc:  # third-party import code can raise anything
            if is_builtin:
                raise RegistryError(f"built-in check {ep.name!r} failed to load: {exc}") from exc
            broken.append(BrokenPlugin(_safe_id(ep.name), f"plugin {ep.name}", f"could not load {ep.value}: {exc}"))
            continue
        (builtin if is_builtin else plugins).append(obj)
    if not builtin:
        raise RegistryError("no built-in checks are registered: install pg-preflight (pip install -e .)")
    return builtin, plugins, broken


def _safe_id(name: str) -> str:
    cleaned = re.sub(r"[^a-z0-9_]", "_", name.lower()) or "plugin"
    return cleaned if cleaned[0].isalpha() else f"p_{cleaned}"


def all_checks(include_plugins: bool = True) -> tuple[list[type[Check]], list[BrokenPlugin]]:
    """Every check, validated and ordered by ``requires``; invalid plugins become ``BrokenPlugin``."""
    builtin, plugins, broken = load_registered()
    checks = sorted(builtin, key=lambda c: c.report_order)
    if not include_plugins:
        plugins, broken = [], []
    for plugin in plugins:
        if getattr(plugin, "id", None) in {c.id for c in checks}:
            broken.append(BrokenPlugin(_safe_id(str(getattr(plugin, "id", "plugin"))) + "_duplicate",
                                       f"plugin {plugin.__name__}", f"duplicate check id {plugin.id!r}"))
            continue
        checks.append(plugin)
    checks.sort(key=lambda c: getattr(c, "report_order", 1000))  # stable: entry-point order among equals
    ids = {c.id for c in checks}
    valid: list[type[Check]] = []
    own_facts: dict[str, Fact] = dict(FACTS)
    for check in checks:
        try:
            validate(check, ids)
            for fact in (*check.facts, *check.optional_facts):
                if own_facts.setdefault(fact.name, fact) is not fact:
                    raise RegistryError(f"check {check.id!r} declares a fact {fact.name!r} another check declares too")
            valid.append(check)
        except RegistryError as exc:
            if check in builtin:
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
    """Apply ``--check`` / ``--skip``; unknown ids are a usage error. Requirements are added back, and
    the checks that report a missing session join every check that needs one."""
    ids = {c.id for c in checks}
    unknown = sorted({i for i in only + skip if i not in ids})
    if unknown:
        named = ", ".join(u + did_you_mean(u, ids) for u in unknown)
        raise RegistryError(f"unknown check id(s): {named} (see 'pg-preflight list-checks')")
    if not only:
        return [c for c in checks if c.id not in skip]
    by_id = {c.id: c for c in checks}
    explains_no_session = [c.id for c in checks if not c.needs_connection]  # they say why a session is missing
    wanted: set[str] = set()
    stack = list(only)
    while stack:
        current = stack.pop()
        if current in wanted:
            continue
        wanted.add(current)
        stack.extend(by_id[current].requires)
        if by_id[current].needs_connection:
            stack.extend(explains_no_session)
    return [c for c in checks if c.id in wanted and (c.id not in skip or c.id in only)]
