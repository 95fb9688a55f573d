"""The check interface: metadata, a context to read the snapshot, and the outcome of a run.

A check is a pure function of the snapshot and the options, so it can be unit-tested on a
hand-built snapshot and re-run on a saved one with no server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar

from preflight.facts import FactUnavailable, Snapshot
from preflight.models import Finding, TableEntry
from preflight.options import Options
from preflight.profiles import Profile, load_profile
from preflight.provider_detection import Provider, resolve
from preflight.provider_detection import provider as provider_info
from preflight.settings import Setting


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

    def fact(self, name: str) -> Any:
        if name in self.snapshot.facts:
            return self.snapshot.facts[name]
        cause = self.snapshot.failures.get(name, "not gathered")
        raise FactUnavailable(name, cause)

    def optional_fact(self, name: str) -> Any | None:
        """A fact whose absence the check can explain itself (e.g. a superuser-only view)."""
        return self.snapshot.facts.get(name)

    @cached_property
    def profile(self) -> Profile:
        """The consumer profile whose thresholds apply (``--profile``)."""
        return load_profile(self.options.profile)

    @cached_property
    def provider_resolution(self) -> tuple[str, str]:
        """(provider, what decided it): ``--provider`` or the detected one."""
        return resolve(self.options.provider, self.snapshot.facts.get("provider_signals"))

    @property
    def provider(self) -> Provider:
        """The provider's facts: they decide how settings and grants are fixed."""
        return provider_info(self.provider_resolution[0])

    @property
    def version_num(self) -> int:
        if self.snapshot.server is None:
            raise FactUnavailable("server", "no connection")
        return self.snapshot.server.version_num

    def settings(self) -> dict[str, Setting]:
        return {row["name"]: Setting.from_row(row) for row in self.fact("settings")}

    def setting(self, name: str) -> Setting | None:
        return self.settings().get(name)


class Check:
    """Base class of every check. Subclasses set the metadata and implement ``run``."""

    id: ClassVar[str]
    title: ClassVar[str]
    requires: ClassVar[tuple[str, ...]] = ()  # ids of checks that must run first (skipped: this one is too)
    needs_connection: ClassVar[bool] = True  # skipped without a session (only the connection check is not)
    report_order: ClassVar[int] = 1000  # where the check stands in reports (built-ins 10..120; plugins after)
    facts: ClassVar[tuple[str, ...]] = ()
    optional_facts: ClassVar[tuple[str, ...]] = ()  # read with ctx.optional_fact(); absence is explained
    why: ClassVar[str] = ""
    remediation: ClassVar[str] = ""

    def run(self, ctx: CheckContext) -> Outcome | list[Finding]:
        raise NotImplementedError
