"""The check interface: metadata, a context to read the snapshot, and the outcome of a run.

A check is a pure function of the snapshot and the options, so it can be unit-tested on a
hand-built snapshot and re-run on a saved one with no server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import ClassVar, TypeVar, cast

from preflight.facts import (
    PROVIDER_SIGNALS,
    SESSION_SETTINGS,
    SETTINGS,
    Fact,
    FactUnavailable,
    ProbeFact,
    SettingRow,
    Snapshot,
    SqlFact,
)
from preflight.models import Finding, TableEntry
from preflight.options import Options
from preflight.profiles import Profile, load_profile
from preflight.provider_detection import Provider, resolve
from preflight.provider_detection import provider as provider_info

V = TypeVar("V")


@dataclass
class Outcome:
    """What a check returns: findings, a one-line summary of what it observed, and table rows."""

    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    tables: list[TableEntry] | None = None


class CheckContext:
    """Read access to the snapshot for one check. Asking for a missing fact raises ``FactUnavailable``."""

    def __init__(self, snapshot: Snapshot, options: Options) -> None:
        self.snapshot = snapshot
        self.options = options

    def fact(self, fact: SqlFact[V] | ProbeFact[V]) -> V:
        """The fact's rows, typed by its row model (``ctx.fact(TABLES)`` is ``list[TableRow]``)."""
        if fact.name in self.snapshot.facts:
            return cast(V, self.snapshot.facts[fact.name])
        raise FactUnavailable(fact.name, self.failure(fact) or "not gathered")

    def optional_fact(self, fact: SqlFact[V] | ProbeFact[V]) -> V | None:
        """A fact whose absence the check can explain itself (e.g. a superuser-only view)."""
        return cast(V | None, self.snapshot.facts.get(fact.name))

    def failure(self, fact: Fact) -> str | None:
        """Why a fact could not be gathered, if it failed."""
        return self.snapshot.failures.get(fact.name)

    @cached_property
    def profile(self) -> Profile:
        """The consumer profile whose thresholds apply (``--profile``)."""
        return load_profile(self.options.profile)

    @cached_property
    def provider_resolution(self) -> tuple[str, str]:
        """(provider, what decided it): ``--provider`` or the detected one."""
        return resolve(self.options.provider, self.optional_fact(PROVIDER_SIGNALS))

    @property
    def provider(self) -> Provider:
        """The provider's facts: they decide how settings and grants are fixed."""
        return provider_info(self.provider_resolution[0])

    @property
    def version_num(self) -> int:
        if self.snapshot.server is None:
            raise FactUnavailable("server", "no connection")
        return self.snapshot.server.version_num

    def settings(self) -> dict[str, SettingRow]:
        """Every server setting the checker can see, by name (pg_settings): the server's (``settings``) and, for a
        check that declares ``session_settings``, those a database or role may override, as this database has them."""
        return self._settings

    def setting(self, name: str) -> SettingRow | None:
        """Any server setting by name; None when the server has no such setting or hides it from the checker."""
        return self._settings.get(name)

    @cached_property
    def _settings(self) -> dict[str, SettingRow]:
        rows = {row.name: row for row in self.fact(SETTINGS)}
        rows.update({row.name: row for row in self.optional_fact(SESSION_SETTINGS) or []})
        return rows


class Check:
    """Base class of every check. Subclasses set the metadata and implement ``run``; the check's module declares
    the finding codes ``run`` may produce (``CODES = declare(...)``, ``preflight.codes``)."""

    id: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()  # ids of checks that must run first (skipped: this one is too)
    needs_connection: ClassVar[bool] = True  # skipped without a session (only the connection check is not)
    report_order: ClassVar[int] = 1000  # where the check stands in reports (built-ins 10..120; plugins after)
    facts: ClassVar[tuple[Fact, ...]] = ()  # the fact objects run() reads with ctx.fact(); a plugin may declare its own
    optional_facts: ClassVar[tuple[Fact, ...]] = ()  # read with ctx.optional_fact(); absence is explained
    why: ClassVar[str] = ""
    remediation: ClassVar[str] = ""

    def run(self, ctx: CheckContext) -> Outcome | list[Finding]:
        raise NotImplementedError
