"""The one name syntax for objects: ``schema.table`` (docs/json-contract.md, "Names").

A part that contains a dot or a double quote, or that starts or ends with white space (so that
``"payroll "`` cannot pass for ``payroll``), is written as an SQL quoted identifier
(``"my.schema"."t"``, ``""`` for a quote); any other part is the raw name, case and all.
"""

from __future__ import annotations

from typing import NamedTuple


class NameError_(ValueError):
    """A name that does not follow the ``schema.table`` syntax."""


class QualifiedName(NamedTuple):
    schema: str
    name: str

    def __str__(self) -> str:
        return format_name(self.schema, self.name)


def format_part(part: str) -> str:
    """A raw name as it is written in the name syntax."""
    if part == "" or "." in part or '"' in part or part != part.strip():
        return '"' + part.replace('"', '""') + '"'
    return part


def format_name(*parts: str) -> str:
    """``schema.table`` (or any number of parts) in the name syntax."""
    if len(parts) == 2:  # once per table of a 100k-table selection: no generator
        return format_part(parts[0]) + "." + format_part(parts[1])
    return ".".join([format_part(p) for p in parts])


def _read_part(text: str, start: int) -> tuple[str, int]:
    """Read one part from ``start``; return it and the index just after it."""
    if start < len(text) and text[start] == '"':
        out: list[str] = []
        i = start + 1
        while i < len(text):
            if text[i] == '"':
                if i + 1 < len(text) and text[i + 1] == '"':
                    out.append('"')
                    i += 2
                    continue
                return "".join(out), i + 1
            out.append(text[i])
            i += 1
        raise NameError_(f"unterminated double quote in {text!r}")
    end = text.find(".", start)
    return text[start : len(text) if end < 0 else end], (len(text) if end < 0 else end)


def parse_name(text: str) -> QualifiedName:
    """Parse ``schema.table``: split at the first dot outside double quotes.

    The table part keeps any further dots when it is raw (``a.b.c`` is schema ``a``, table ``b.c``).
    """
    if not text or not text.strip():
        raise NameError_("empty name; expected SCHEMA.TABLE")
    schema, pos = _read_part(text, 0)
    if pos >= len(text) or text[pos] != ".":
        if pos < len(text):
            raise NameError_(f"unexpected {text[pos]!r} after a quoted name in {text!r}")
        raise NameError_(f"{text!r} has no schema; expected SCHEMA.TABLE")
    if '"' in schema and not text.startswith('"'):
        raise NameError_(f"a part containing a double quote must be quoted: {text!r}")
    rest = pos + 1
    if rest < len(text) and text[rest] == '"':
        table, end = _read_part(text, rest)
        if end != len(text):
            raise NameError_(f"unexpected text after the quoted table name in {text!r}")
    else:
        table = text[rest:]
        if '"' in table:
            raise NameError_(f"a part containing a double quote must be quoted: {text!r}")
    if schema == "" or table == "":
        raise NameError_(f"empty schema or table in {text!r}")
    return QualifiedName(schema, table)
