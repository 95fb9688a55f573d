"""Java regular expressions (``java.util.regex``) as Python ``re`` patterns, or a one-line refusal.

Debezium compiles each entry of its include/exclude lists with ``Pattern.compile(entry, CASE_INSENSITIVE)`` and
tests ``matcher(name).matches()``: the whole name, ASCII case folded (no ``UNICODE_CASE``), with ASCII ``\\w``,
``\\d``, ``\\s`` and ``\\b``. Python's ``re.fullmatch`` with ``IGNORECASE | ASCII`` is the same for the syntax
both share; the few Java-only forms with a Python equivalent are rewritten (``\\Q...\\E``, ``(?<name>...)``,
``\\k<name>``, ``\\z``, ``\\Z``) and the rest is refused rather than approximated: a selection computed from a
pattern Python reads differently would be a verdict about other tables.
"""

from __future__ import annotations

import re
import warnings

FLAGS = re.IGNORECASE | re.ASCII


class JavaRegexError(ValueError):
    """A pattern Python cannot honour as Java does (the message says which construct)."""


# Escapes Java knows and Python lacks or reads otherwise: refused.
_REFUSED_ESCAPES = {
    "p": "Unicode classes (\\p{...})", "P": "Unicode classes (\\P{...})", "h": "\\h (horizontal whitespace)",
    "H": "\\H", "v": "\\v (Java: any vertical whitespace)", "V": "\\V", "R": "\\R (linebreak)",
    "X": "\\X (grapheme cluster)", "G": "\\G (end of the previous match)", "e": "\\e (escape character)",
    "c": "\\c (control character)", "N": "\\N{...}", "a": "\\a", "0": "octal escapes (\\0...)",
}


def split_list(value: str) -> list[str]:
    """Debezium's list splitting (``Strings.RegExSplitter``): commas separate entries, a backslash keeps the next
    character in the entry (``\\,`` is a comma inside an entry, then unescaped), entries are trimmed and empty
    ones dropped."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        char = value[i]
        if char == "\\":
            if i + 1 >= len(value):
                raise JavaRegexError("an unterminated escape sequence (a backslash) ends the list")
            current.append(value[i:i + 2])
            i += 2
            continue
        if char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    parts.append("".join(current))
    return [p.strip().replace("\\,", ",") for p in parts if p and p.strip()]


def translate(pattern: str) -> str:
    """The Python spelling of the Java ``pattern``; ``JavaRegexError`` for what Python cannot honour."""
    out: list[str] = []
    i, in_class, class_start = 0, False, 0
    n = len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            if i + 1 >= n:
                raise JavaRegexError("ends with a lone backslash")
            nxt = pattern[i + 1]
            if nxt == "Q":  # \Q...\E: everything between is literal
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(_literal(literal, in_class))
                i = n if end < 0 else end + 2
                continue
            if nxt in _REFUSED_ESCAPES:
                raise JavaRegexError(f"{_REFUSED_ESCAPES[nxt]} has no Python equivalent")
            if nxt == "x" and pattern.startswith("{", i + 2):
                raise JavaRegexError("\\x{...} has no Python equivalent")
            if nxt == "k" and not in_class:  # \k<name>: a named back-reference
                close = pattern.find(">", i + 3)
                if not pattern.startswith("<", i + 2) or close < 0:
                    raise JavaRegexError("\\k must be followed by <name>")
                out.append(f"(?P={pattern[i + 3:close]})")
                i = close + 1
                continue
            if nxt == "z" and not in_class:
                out.append(r"\Z")
            elif nxt == "Z" and not in_class:  # Java: the end, or before a final line terminator
                out.append(r"(?=\n?\Z)")
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if char == "[" :
                raise JavaRegexError("a character class inside a class ([a[b]]: Java's union) is read otherwise by Python")
            if pattern.startswith("&&", i):
                raise JavaRegexError("a class intersection (&&) has no Python equivalent")
            if char == "]" and i > class_start:
                in_class = False
            out.append(char)
            i += 1
            continue
        if char == "[":
            in_class = True
            out.append(char)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i  # a ']' right after '[' or '[^' is a literal in both
            continue
        if char == "(" and pattern.startswith("(?<", i) and not pattern.startswith(("(?<=", "(?<!"), i):
            out.append("(?P<")
            i += 3
            continue
        if char == "(" and pattern.startswith("(?", i) and i > 0:
            flags = re.match(r"\(\?[a-zA-Z-]+\)", pattern[i:])
            if flags:
                raise JavaRegexError(f"the inline flags {flags.group(0)} are not at the start: Python allows them "
                                     "only there (write (?flags:...) around the part they apply to)")
        out.append(char)
        i += 1
    if in_class:
        raise JavaRegexError("an unclosed character class")
    return "".join(out)


def _literal(text: str, in_class: bool) -> str:
    if not in_class:
        return re.escape(text)
    return "".join("\\" + c if c in "\\]^-[" else c for c in text)


def compile_java(pattern: str) -> re.Pattern[str]:
    """The Java ``pattern`` compiled as Debezium does (case-insensitive, ASCII), to be used with ``fullmatch``."""
    translated = translate(pattern)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a FutureWarning (nested set, ...) is a different reading: refuse it
        try:
            return re.compile(translated, FLAGS)
        except (re.error, FutureWarning, DeprecationWarning) as exc:
            raise JavaRegexError(str(exc)) from None
