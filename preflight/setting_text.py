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
_NUMBER_LITERAL = re.compile(r"'(-?\d+)(B|kB|MB|GB|TB|us|ms|s|min|h|d)?'\Z")
# A value's unit, in the setting's base unit (bytes, microseconds): a size or duration is always written with its
# unit (``'58GB'``, ``'60s'``), so two findings' values for one setting compare whatever units each chose.
_UNITS = {None: 1, "B": 1, "kB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4,
          "us": 1, "ms": 1000, "s": 1000**2, "min": 60 * 1000**2, "h": 3600 * 1000**2, "d": 86400 * 1000**2}


def parse_alter_system(statement: str) -> tuple[str, int | None] | None:
    """(setting name, integer value or None) of a statement ``alter_system`` wrote, or of a provider's
    step ``change_setting`` wrote (it ends with the equivalent statement); None for any other text.
    A value with a unit is counted in bytes or microseconds (comparable with the same setting's other values)."""
    if EQUIVALENT in statement:
        statement = statement.rsplit(EQUIVALENT, 1)[1]
    match = _ALTER_SYSTEM.match(statement)
    if match is None:
        return None
    value = _NUMBER_LITERAL.match(match.group(2))
    return match.group(1).replace('""', '"'), int(value.group(1)) * _UNITS[value.group(2)] if value else None
