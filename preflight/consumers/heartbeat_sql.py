"""The table a heartbeat statement writes, read from its text without guessing.

Only one statement of the forms consumers document is understood: ``INSERT INTO t ...`` (with ``ON CONFLICT
... DO UPDATE``: an upsert, so INSERT and UPDATE), and ``UPDATE [ONLY] t SET ...``. Anything else (a CTE, a
function call, several statements) is not understood: the check says so rather than pick a table. Names
follow PostgreSQL's rules: unquoted ones fold to lower case, ``"quoted"`` ones keep their characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

Write = Literal["insert", "update"]
_WORD = re.compile(r"[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*")
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Token:
    text: str  # a word folded to lower case, a quoted identifier's name, or one punctuation character
    quoted: bool = False
    word: bool = False


@dataclass(frozen=True)
class Target:
    schema: str | None
    table: str
    writes: tuple[Write, ...]


class NotUnderstood(ValueError):
    """The statement is not one of the understood forms (the message says why)."""


def tokens(query: str) -> list[Token]:
    """Top-level tokens: string literals and comments are skipped, identifiers unquoted."""
    out: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif query.startswith("--", i):
            end = query.find("\n", i)
            i = n if end < 0 else end + 1
        elif query.startswith("/*", i):
            end = query.find("*/", i + 2)
            if end < 0:
                raise NotUnderstood("an unterminated comment")
            i = end + 2
        elif c == '"':
            j, name = i + 1, []
            while True:
                end = query.find('"', j)
                if end < 0:
                    raise NotUnderstood("an unterminated quoted identifier")
                name.append(query[j:end])
                if query.startswith('""', end):
                    name.append('"')
                    j = end + 2
                    continue
                i = end + 1
                break
            out.append(Token("".join(name), quoted=True))
        elif c == "'" or (c in "eE" and query.startswith("'", i + 1)):
            escapes = c != "'"
            j = i + (2 if escapes else 1)
            while True:
                if j >= n:
                    raise NotUnderstood("an unterminated string")
                if escapes and query[j] == "\\":
                    j += 2
                    continue
                if query[j] == "'":
                    if query.startswith("''", j):
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            out.append(Token("'", word=False))
        elif c == "$" and (m := _DOLLAR.match(query, i)):
            end = query.find(m.group(0), m.end())
            if end < 0:
                raise NotUnderstood("an unterminated dollar-quoted string")
            i = end + len(m.group(0))
            out.append(Token("'"))
        elif m := _WORD.match(query, i):
            out.append(Token(m.group(0).lower(), word=True))
            i = m.end()
        else:
            out.append(Token(c))
            i += 1
    return out


def _name(toks: list[Token], at: int) -> tuple[str | None, str, int]:
    """A possibly qualified name starting at ``at``: (schema, table, next index)."""
    parts: list[str] = []
    while True:
        if at >= len(toks) or not (toks[at].word or toks[at].quoted):
            raise NotUnderstood("no table name where one is expected")
        parts.append(toks[at].text)
        at += 1
        if at < len(toks) and toks[at].text == "." and not toks[at].quoted:
            at += 1
            continue
        break
    if len(parts) > 3:
        raise NotUnderstood("a table name with more than three parts")
    if len(parts) == 3:
        parts = parts[1:]  # database.schema.table: the database is the connection's
    return (parts[0] if len(parts) == 2 else None), parts[-1], at


def target(query: str) -> Target:
    """The table the statement writes and how; ``NotUnderstood`` for anything else."""
    toks = tokens(query)
    while toks and toks[-1].text == ";" and not toks[-1].quoted:
        toks.pop()
    if any(t.text == ";" and not t.quoted for t in toks):
        raise NotUnderstood("several statements")
    if not toks or not toks[0].word:
        raise NotUnderstood("an empty statement")
    first = toks[0].text
    if first == "insert" and len(toks) > 1 and toks[1].text == "into" and toks[1].word:
        schema, table, at = _name(toks, 2)
        rest = toks[at:]
        upsert = any(a.word and a.text == "do" and b.word and b.text == "update"
                     for a, b in pairwise(rest))
        return Target(schema, table, ("insert", "update") if upsert else ("insert",))
    if first == "update":
        at = 2 if len(toks) > 1 and toks[1].word and toks[1].text == "only" else 1
        schema, table, _ = _name(toks, at)
        return Target(schema, table, ("update",))
    raise NotUnderstood(f"a statement starting with {first.upper()} (only INSERT INTO and UPDATE are read)")
