"""The text of a setting change: ``remediation`` writes it, the SQL script reads it back to merge
two findings' changes of one setting into one statement (the largest value wins).

A leaf module (it imports only ``sqltext``), so the report formats may use it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from psycopg import sql

from preflight.sqltext import render

RELOAD = "SELECT pg_catalog.pg_reload_conf();"
EQUIVALENT = " Self-managed equivalent (not runnable here): "  # ends a provider's step: the change, parsable


def alter_system(name: str, value: str | int | Sequence[str]) -> str:
    """``ALTER SYSTEM SET name = value;``: the name quoted, each value a literal (one per list entry)."""
    values = [value] if isinstance(value, str | int) else list(value)
    return render(sql.SQL("ALTER SYSTEM SET {} = {};").format(
        sql.Identifier(name), sql.SQL(", ").join(sql.Literal(str(v)) for v in values)))


# The shape ``alter_system`` writes: a quoted name, then literals. Used to merge a script's settings.
_ALTER_SYSTEM = re.compile(r'ALTER SYSTEM SET "((?:[^"]|"")+)" = (.*);\Z', re.DOTALL)
_INTEGER_LITERAL = re.compile(r"'(-?\d+)'\Z")


def parse_alter_system(statement: str) -> tuple[str, int | None] | None:
    """(setting name, integer value or None) of a statement ``alter_system`` wrote, or of a provider's
    step ``change_setting`` wrote (it ends with the equivalent statement); None for any other text."""
    if EQUIVALENT in statement:
        statement = statement.rsplit(EQUIVALENT, 1)[1]
    match = _ALTER_SYSTEM.match(statement)
    if match is None:
        return None
    value = _INTEGER_LITERAL.match(match.group(2))
    return match.group(1).replace('""', '"'), int(value.group(1)) if value else None
