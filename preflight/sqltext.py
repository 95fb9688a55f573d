"""Render ``psycopg.sql`` compositions to text without a connection, for remediation scripts.

Every statement the tool prints is printable by construction, so that the script is the same byte for
byte in a file, on a terminal, in a pipe and inside Markdown, HTML or JUnit (none of which may alter
it). A name or literal holding any non-printable character (controls, DEL, ESC, bidi controls, line
separators, other format characters: see ``preflight.terminal``) is written in PostgreSQL's Unicode
escape form, ``U&"payroll\\007F"`` / ``U&'...'``, which names exactly the same object. Printable
names are quoted by psycopg, unchanged. A name holding bytes that were not valid text in the client
encoding cannot be written exactly at all: no statement is printed for it, only a comment saying so.
"""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import pairwise
from typing import cast

import psycopg
from psycopg import sql
from psycopg.adapt import AdaptersMap
from psycopg.types.string import StrDumper

from preflight.terminal import undecodable, visible

# Characters after which ``U&`` would be read as the end of a word (``xU&"a"`` is ``xU & "a"``).
_WORD_END = "_$"


class Unwritable(ValueError):
    """A name or literal that no SQL text can reproduce exactly (undecodable bytes)."""


def _unicode_escaped(text: str, quote: str) -> str:
    """``text`` inside ``U&<quote>...<quote>`` with the default escape character, backslash."""
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append(quote * 2)
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\{ord(ch):04X}")
        else:
            out.append(f"\\+{ord(ch):06X}")
    return f"U&{quote}{''.join(out)}{quote}"


@lru_cache(maxsize=1 << 18)
def identifier(name: str) -> str:
    """One identifier part: psycopg's quoting when printable, else ``U&"..."``. Cached: the same schema (and,
    with a schema per tenant, the same table names) recurs in the statements for every one of its tables."""
    if undecodable(name):
        raise Unwritable(name)
    if name.isprintable():
        return sql.Identifier(name).as_string(None)
    return _unicode_escaped(name, '"')


def literal(value: object) -> str:
    """A literal: psycopg's quoting unless it is a string with a non-printable character (``U&'...'``,
    which the server accepts only with ``standard_conforming_strings`` on, and rejects otherwise)."""
    if isinstance(value, str):
        if undecodable(value):
            raise Unwritable(value)
        if not value.isprintable():
            return _unicode_escaped(value, "'")
    return sql.Literal(value).as_string(None)


class _UnicodeEscapedStr(StrDumper):
    """psycopg's quoting of a string literal, in ``U&'...'`` form when it holds a non-printable character."""

    def quote(self, obj: str) -> bytes:
        if obj.isprintable():
            return bytes(super().quote(obj))
        return literal(obj).encode()


# The adaptation context ``render`` writes literals with: psycopg's, strings through ``_UnicodeEscapedStr``.
_LITERALS = AdaptersMap(psycopg.adapters)
_LITERALS.register_dumper(str, _UnicodeEscapedStr)

_QUOTED_PART = re.compile(r'"((?:[^"]|"")*)"')


def _identifier_text(statement: sql.Identifier) -> str:
    """psycopg's quoting of the (qualified) name; when a part is not printable, the parts in ``U&"..."`` form
    (read from psycopg's quoting: each part in double quotes, quotes doubled, parts joined by dots)."""
    text = statement.as_string(None)
    if text.isprintable():
        return text
    return qualified(tuple(part.replace('""', '"') for part in _QUOTED_PART.findall(text)))


def _pieces(statement: sql.Composable, out: list[str]) -> list[str]:
    """Append the text of ``statement`` to ``out``, through psycopg's public interface only. The exact classes
    are tried first: ``isinstance`` on psycopg's abstract ``Composable`` costs a microsecond."""
    kind = type(statement)
    if kind is sql.Composed or (kind is not sql.SQL and kind is not sql.Identifier and isinstance(statement, sql.Composed)):
        for part in cast(sql.Composed, statement):
            _pieces(part, out)
    elif kind is sql.Identifier or (kind is not sql.SQL and isinstance(statement, sql.Identifier)):
        out.append(_identifier_text(cast(sql.Identifier, statement)))
    else:  # SQL, Literal (strings through _UnicodeEscapedStr), Placeholder
        out.append(statement.as_string(_LITERALS))
    return out


def _not_written(exc: Unwritable) -> str:
    return ("-- not written: the name " + visible(str(exc), keep="")
            + " is not valid text in the client encoding, so no SQL can name it exactly; fix it by hand")


def _ends_word(text: str) -> bool:
    """Whether a ``U&`` written right after ``text`` would be read as part of its last word."""
    last = text[-1:] if text else ""
    return bool(last) and (last.isalnum() or last in _WORD_END)


def render(statement: sql.Composable) -> str:
    """The statement as it will be pasted: identifiers quoted by psycopg (or in U& form), never by hand.

    A statement naming an object that cannot be written exactly becomes a comment that says so.
    """
    text = statement.as_string(None)
    if text.isprintable():  # every name and literal printable: psycopg's text is the statement (the common case)
        return text
    try:
        pieces = _pieces(statement, [])
    except Unwritable as exc:
        return _not_written(exc)
    out: list[str] = []
    last = ""
    for piece in pieces:
        if piece.startswith("U&") and _ends_word(last):
            out.append(" ")
        out.append(piece)
        last = piece or last
    return "".join(out)


SqlName = str | tuple[str, ...]  # one identifier, or a qualified name ("schema", "table")


def qualified(name: SqlName) -> str:
    """One (qualified) name as ``render`` writes ``sql.Identifier(*parts)``; raises ``Unwritable``."""
    if type(name) is str:
        return identifier(name)
    if len(name) == 2:
        return identifier(name[0]) + "." + identifier(name[1])
    return ".".join([identifier(part) for part in name])


class Template:
    """A statement with ``{}`` slots for names, split once and rendered as ``render`` would render the same
    ``sql.SQL(text).format(sql.Identifier(...), ...)``, without building psycopg objects per call: the
    per-table statements of 100k tables (and a CREATE PUBLICATION naming all of them) are built in
    microseconds each. A slot takes one name, or a list of names written comma-separated.
    """

    def __init__(self, text: str) -> None:
        fragments = text.split("{}")
        self._head = fragments[0]
        # Per slot: whether a U& name there needs a space first (the text before it ends a word), and the
        # text after it.
        self._slots = [(_ends_word(before), after) for before, after in pairwise(fragments)]

    def render(self, *names: SqlName | list[SqlName]) -> str:
        if len(names) != len(self._slots):
            raise TypeError(f"the template has {len(self._slots)} slot(s), got {len(names)} name(s)")
        out = [self._head]
        try:
            for (spaced, after), name in zip(self._slots, names, strict=True):
                text = ", ".join(map(qualified, name)) if isinstance(name, list) else qualified(name)
                if spaced and text.startswith("U&"):
                    out.append(" ")
                out.append(text)
                out.append(after)
        except Unwritable as exc:
            return _not_written(exc)
        return "".join(out)


def _psql_quoted(text: str) -> str:
    """``text`` as one single-quoted psql meta-command argument: quotes doubled, backslashes and every
    non-printable character written as psql's backslash escapes (octal bytes), so the line stays one line."""
    out: list[str] = []
    for ch in text:
        if ch == "'":
            out.append("''")
        elif ch == "\\":
            out.append("\\\\")
        elif visible(ch, keep="") != ch:
            out.append("".join(f"\\{byte:03o}" for byte in ch.encode("utf-8")))
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"


def psql_connect(dbname: str) -> str:
    """A psql ``\\connect`` to ``dbname`` on the same server as the same user. The name goes inside a
    ``dbname=`` conninfo (psql reads a bare name holding ``=`` or a URI prefix as a whole connection
    string), and ``-reuse-previous=on`` keeps the host, port and user of the current connection."""
    if undecodable(dbname):
        raise Unwritable("the database name holds bytes that are not valid text")
    conninfo = "dbname='" + dbname.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "\\connect -reuse-previous=on " + _psql_quoted(conninfo)
