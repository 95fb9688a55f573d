""""Did you mean ...?" from the real names: a misspelt check id, schema, table or decision key gets the
closest names that exist (same name but for case first, then by similarity)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from preflight.facts.spelling import NearbyName
from preflight.models import CheckResult, TableEntry
from preflight.names import format_name

MAX_SUGGESTIONS = 3
CLOSE = 0.8  # difflib's similarity ratio: one letter off in a short name, a few in a long one


def closest(word: str, candidates: Iterable[str]) -> list[str]:
    """The names in ``candidates`` ``word`` most likely meant (none when nothing is close)."""
    pool = list(dict.fromkeys(c for c in candidates if c != word))
    same_but_case = [c for c in pool if c.lower() == word.lower()]
    if same_but_case:  # names are case-sensitive: that is almost surely the one
        return same_but_case[:MAX_SUGGESTIONS]
    lowered = {c.lower(): c for c in pool}
    similar = difflib.get_close_matches(word.lower(), list(lowered), n=MAX_SUGGESTIONS, cutoff=CLOSE)
    return [lowered[c] for c in similar]


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x' or 'y'?)``, or empty when no name is close."""
    near = closest(word, candidates)
    return f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""


def nearby_names(value: object) -> list[tuple[str, str | None]] | None:
    """The ``names_nearby`` fact's rows as (schema, name) pairs; None when it was not read or failed."""
    if not isinstance(value, list):
        return None
    return [(row.schema, row.name) for row in value if isinstance(row, NearbyName)]


def annotate(results: list[CheckResult], tables: list[TableEntry], nearby: list[tuple[str, str | None]] | None) -> None:
    """Add "did you mean" to the findings about a selection or decision naming nothing (in place):
    ``schema_missing`` and ``table_missing`` from the names near the selection, ``decision_matches_no_table``
    from the selected tables."""
    schemas = [s for s, n in nearby or [] if n is None]
    relations = [format_name(s, n) for s, n in nearby or [] if n is not None]
    selected = [format_name(t.schema_, t.name) for t in tables]
    pools = {"schema_missing": schemas, "table_missing": relations, "decision_matches_no_table": selected}
    for result in results:
        for finding in result.findings:
            pool = pools.get(finding.code)
            if pool and finding.object:
                hint = did_you_mean(finding.object, pool)
                if hint:
                    finding.message = finding.message.rstrip(".") + hint + "."
