""""Did you mean ...?" from the real names: a misspelt check id, schema, table or decision key gets the
closest names that exist (same name but for case first, then by similarity)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from preflight.facts.spelling import NearbyName
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


def near_schemas(nearby: list[NearbyName] | None) -> list[str]:
    """The schemas among the names near the selection (what a missing ``-s`` may have meant)."""
    return [row.schema for row in nearby or [] if row.name is None]


def near_relations(nearby: list[NearbyName] | None) -> list[str]:
    """The relations among the names near the selection (what a missing ``-t`` may have meant)."""
    return [format_name(row.schema, row.name) for row in nearby or [] if row.name is not None]


def hinted(message: str, word: str, pool: Iterable[str]) -> str:
    """``message`` with " (did you mean ...?)" before its final full stop when a name in ``pool`` is close: said
    by the check as it builds the finding about a selection or decision naming nothing."""
    hint = did_you_mean(word, pool)
    return message.rstrip(".") + hint + "." if hint else message
