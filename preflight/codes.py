"""Finding codes are declared: each check's closed set of codes, with severity, meaning and what to do.

A finding's code is an API: waivers, diffs, the estate merge and people's scripts match on it. So a check
module declares every code it can produce at its top (``CODES = declare(Code(...), ...)``); the registry
refuses a check without that declaration, the runner refuses a finding whose code its check did not
declare or whose severity is not one the declaration allows, and the generated reference and
``pg-preflight explain CODE`` print the declarations: a code is documented because it exists.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Literal

from preflight.models import Finding, Severity

# What a slot finding says about the slot, for the estate merge: it holds WAL back (the finding's ``bytes``
# is the WAL it retains), it is lost, or nothing bounds what it may retain.
SlotRisk = Literal["retaining", "lost", "unreserved"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
SEVERITY_ORDER = (Severity.INFO, Severity.WARNING, Severity.ERROR)


class UndeclaredCode(ValueError):
    """A finding whose code its check did not declare, or with a severity the declaration does not allow."""


@dataclass(frozen=True)
class Code:
    """One finding code: its name, its severity, what it means (one line) and what to do about it.

    ``severity`` is fixed per code. A tuple of severities is allowed only where one condition is judged
    by degree or by the consumer's profile (the same table's missing key is an error for one consumer and
    a warning for another): splitting it would give a waiver of the condition two names.
    """

    name: str
    severity: Severity | tuple[Severity, ...]
    meaning: str
    explain: str = ""
    slot_risk: SlotRisk | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"invalid finding code {self.name!r} (lowercase letters, digits, underscores)")
        if not self.meaning.strip() or not self.explain.strip():
            raise ValueError(f"finding code {self.name!r} needs a meaning and an explain text")
        if isinstance(self.severity, tuple) and len(set(self.severity)) < 2:
            raise ValueError(f"finding code {self.name!r}: give one severity, or the two or three it may have")

    @property
    def severities(self) -> frozenset[Severity]:
        return frozenset(self.severity) if isinstance(self.severity, tuple) else frozenset({self.severity})

    def severity_text(self) -> str:
        """``warning``, or ``info or warning`` for a code whose severity is judged by degree or profile."""
        return " or ".join(s.value for s in SEVERITY_ORDER if s in self.severities)


class Codes(Mapping[str, Code]):
    """A check's declared codes, by name: a closed set, read-only once declared."""

    def __init__(self, codes: Iterable[Code]) -> None:
        self._codes: dict[str, Code] = {}
        for code in codes:
            if code.name in self._codes:
                raise ValueError(f"finding code {code.name!r} is declared twice")
            self._codes[code.name] = code

    def __getitem__(self, name: str) -> Code:
        return self._codes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._codes)

    def __len__(self) -> int:
        return len(self._codes)

    def __repr__(self) -> str:
        return f"Codes({', '.join(self._codes)})"

    def admit(self, check_id: str, findings: Iterable[Finding]) -> None:
        """Raise ``UndeclaredCode`` for the first finding this declaration does not allow."""
        for name, severity in dict.fromkeys((f.code, f.severity) for f in findings):  # in order, once each
            code = self._codes.get(name)
            if code is None:
                raise UndeclaredCode(f"check {check_id!r} produced the finding code {name!r}, which it does not "
                                     "declare in its CODES")
            if severity not in code.severities:
                raise UndeclaredCode(f"check {check_id!r} produced {name!r} as {severity.value}, declared "
                                     f"{code.severity_text()}")


def declare(*codes: Code | Codes) -> Codes:
    """A check's closed set of codes; a ``Codes`` given among them (a helper module's) is included whole."""
    return Codes(code for item in codes for code in (item.values() if isinstance(item, Codes) else (item,)))


# The engine's own codes, not a check's: a stale waiver's, added to the check the waiver names
# (``preflight.waivers``), and the ``database_access`` results of ``--all-databases`` (``preflight.cluster``).
_EDIT_WAIVERS = ("Edit the waivers in the config file (pg-preflight.toml, or [tool.pg-preflight] in pyproject.toml): "
                 "renew a reviewed exception with a new expiry date, remove one that is no longer needed.")
WAIVER_CODES = declare(
    Code("waiver_expired", Severity.WARNING, "a waiver of this check expired: the findings it waived count again",
         explain=_EDIT_WAIVERS),
    Code("waiver_unmatched", Severity.WARNING, "a waiver of this check matched no finding: what it excused is gone, "
         "or it is misspelt", explain=_EDIT_WAIVERS),
)
ACCESS_CODES = declare(
    Code("databases_unlisted", Severity.ERROR, "--all-databases could not list the cluster's databases",
         explain="Read the cause (a timeout, a permission on pg_database) and run again."),
    Code("database_pattern_unmatched", Severity.WARNING, "a --database pattern matches no database of the cluster",
         explain="Fix the pattern (names are case-sensitive), or drop it."),
    Code("no_connect_privilege", Severity.WARNING, "the checking role cannot connect to a database: it was not checked",
         explain="GRANT CONNECT ON DATABASE ... TO the role, or leave the database out of the plan."),
)
ENGINE_CODES = {"waivers (added to the check a waiver names)": WAIVER_CODES,
                "`database_access` (--all-databases)": ACCESS_CODES}
