"""Every declared finding code is produced by some test, and no test sees a code its check did not declare.

The conftest installs ``record`` for the session: it wraps every built-in check's ``run`` (unit tests call it
directly) and ``Codes.admit`` (the engine admits every finding it keeps, its own waiver and database-access
ones included), and notes each (owner, code) produced. At the end of a run of the whole suite, ``verdict``
compares what was produced with the declarations; a run of a subset (files, ``-k``, ``-m``, ``--lf``, ``-x``
stopping early, ``--collect-only``) produces a subset, so it is not judged. ``PREFLIGHT_PRODUCED_CODES=FILE`` writes what was
produced, one ``owner code`` a line, for any run.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import ENGINE_CODES, Codes
from preflight.models import Finding
from preflight.registry import all_checks, codes_of

ROOT = Path(__file__).resolve().parent.parent
PRODUCED: set[tuple[str, str]] = set()  # (check id, code)


def record() -> None:
    """Note every finding code produced from now on (idempotent)."""
    if getattr(Codes.admit, "recording", False):
        return
    admit = Codes.admit

    @functools.wraps(admit)
    def recorded_admit(self: Codes, check_id: str, findings: Iterable[Finding]) -> None:
        kept = list(findings)
        PRODUCED.update((check_id, f.code) for f in kept)
        admit(self, check_id, kept)

    recorded_admit.recording = True  # type: ignore[attr-defined]
    patch = pytest.MonkeyPatch()  # for the whole session: never undone
    patch.setattr(Codes, "admit", recorded_admit)
    for check in all_checks(include_plugins=False)[0]:
        patch.setattr(check, "run", _recorded_run(check.id, check.run))


def _recorded_run(check_id: str, run: Callable[[Any, CheckContext], Outcome | list[Finding]]
                  ) -> Callable[[Any, CheckContext], Outcome | list[Finding]]:
    @functools.wraps(run)
    def recorded(self: Check, ctx: CheckContext) -> Outcome | list[Finding]:
        outcome = run(self, ctx)
        findings = outcome.findings if isinstance(outcome, Outcome) else outcome
        PRODUCED.update((check_id, f.code) for f in findings)
        return outcome
    return recorded


def declared() -> dict[tuple[str, str], str]:
    """(owner, code) -> where it is declared, for the built-in checks; the engine's codes under owner ``*``."""
    out = {(check.id, code): check.__module__ for check in all_checks(include_plugins=False)[0]
           for code in codes_of(check)}
    out.update({("*", code): f"preflight.codes ({owner})" for owner, codes in ENGINE_CODES.items() for code in codes})
    return out


def whole_suite(session: pytest.Session) -> bool:
    """Whether this run is the whole suite: no file, test, keyword or marker chosen, nothing stopped early."""
    option = session.config.option
    if (getattr(option, "keyword", "") or getattr(option, "markexpr", "") or getattr(option, "lf", False)
            or getattr(option, "deselect", None) or getattr(option, "collectonly", False)
            or session.shouldstop or session.shouldfail or not session.testscollected):
        return False
    here, roots = session.config.invocation_params.dir, {ROOT, ROOT / "tests"}
    return all((here / arg.split("::")[0]).resolve() in roots for arg in session.config.args)


def verdict(produced: set[tuple[str, str]]) -> list[str]:
    """Lines naming each code used but not declared and each declared code no test produced; empty when fine."""
    known = declared()
    engine = {code for owner, code in known if owner == "*"}
    builtin_ids = {check.id for check in all_checks(include_plugins=False)[0]}
    seen = {(owner if code not in engine else "*", code) for owner, code in produced
            if owner in builtin_ids or code in engine}
    undeclared = sorted(seen - set(known))
    never = sorted(set(known) - seen)
    lines = [f"  {owner}: {code} (used, not declared)" for owner, code in undeclared]
    lines += [f"  {owner}: {code} (declared in {known[(owner, code)]}, produced by no test)" for owner, code in never]
    return lines


def dump(produced: set[tuple[str, str]]) -> None:
    target = os.environ.get("PREFLIGHT_PRODUCED_CODES")
    if target:
        Path(target).write_text("".join(f"{owner} {code}\n" for owner, code in sorted(produced)), encoding="utf-8")
