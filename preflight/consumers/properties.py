"""Java ``.properties`` text (the format of a Kafka Connect standalone worker's connector file) as a mapping.

``key=value``, ``key: value`` or ``key value``; ``#`` and ``!`` start comments; a line ending in an odd number
of backslashes continues on the next one (its leading blanks dropped); ``\\t``, ``\\n``, ``\\uXXXX`` and
``\\<char>`` are unescaped. The last assignment of a key wins, as ``java.util.Properties.load`` does.
"""

from __future__ import annotations

import re

_SEPARATOR = re.compile(r"(?<!\\)(?:\\\\)*[=:\s]")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


class PropertiesError(ValueError):
    """Text that is not a properties file (line number and reason)."""


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    pending: str | None = None
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" \t\f")
        if pending is None:
            if not stripped or stripped[0] in "#!":
                continue
            start, pending = number, stripped
        else:
            pending += stripped
        trailing = len(pending) - len(pending.rstrip("\\"))
        if trailing % 2:
            pending = pending[:-1]
            continue
        out.append((start, pending))
        pending = None
    if pending is not None:
        out.append((start, pending))
    return out


def _unescape(text: str, number: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c != "\\" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "u":
            code = text[i + 2:i + 6]
            if not re.fullmatch(r"[0-9a-fA-F]{4}", code):
                raise PropertiesError(f"line {number}: malformed \\uXXXX escape")
            out.append(chr(int(code, 16)))
            i += 6
            continue
        out.append(_ESCAPES.get(nxt, nxt))
        i += 2
    return "".join(out)


def parse_properties(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in _logical_lines(text):
        match = _SEPARATOR.search(line)
        if match is None:
            key, value = line, ""
        else:
            end = match.end()
            key = line[:end - 1]
            rest = line[end - 1:].lstrip(" \t\f")
            if rest[:1] in ("=", ":"):
                rest = rest[1:]
            value = rest.lstrip(" \t\f")
        values[_unescape(key, number)] = _unescape(value, number)
    return values


def looks_like_properties(text: str) -> bool:
    """Whether ``text`` reads as a connector's properties file: a ``connector.class`` assignment in it."""
    return any(re.match(r"connector\.class\s*[=:\s]", line) for _, line in _logical_lines(text))
