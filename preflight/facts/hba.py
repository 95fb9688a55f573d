"""pg_hba.conf as the server parsed it, for a ``--role`` audit: which lines would match that role's connections.

With ``--role`` the checker does not log in as the judged role, so the replication path cannot be proven
by connecting. ``pg_hba_file_rules`` (10+) shows the parsed file; it is readable only by superusers unless
granted (every version's documentation says so), so the privilege is asked first and nothing is read (and
nothing fails) without it. A ``replication=database`` connection is matched like an ordinary connection to
its database: the ``replication`` keyword matches only physical replication, so it never matches here.

Whether each line's database and user fields match the judged role and this database is decided by the
server itself (``all``, ``sameuser``, ``samerole``, ``+group`` membership, regular expressions written
``/...``), so the check only has to walk the lines in order. The view shows the file's current contents,
which may differ from what the server last loaded (a reload applies them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import JUDGED_ROLE_NAME, FactContext, ProbeFact, Scope
from preflight.pg_versions import HBA_RULE_NUMBER, supports


@dataclass(frozen=True, slots=True)
class HbaLine:
    """One pg_hba.conf line: where it is, what it says, and whether it names the judged role and this database."""

    line_number: int | None
    type: str | None
    auth_method: str | None
    address: str | None = None
    netmask: str | None = None
    file_name: str | None = None  # 16+
    rule_number: int | None = None  # 16+: the order lines are tried in
    database: list[str] | None = None
    user_name: list[str] | None = None
    matches_database: bool | None = None
    matches_role: bool | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HbaRules:
    """pg_hba.conf lines in the order they are tried; ``readable`` false: the checker may not read them."""

    readable: bool
    role: str | None = None
    database: str | None = None
    lines: list[HbaLine] | None = None


# Whether one field entry (``e``) matches the judged role (``jr``) or this database (``d``), as the server decides.
_ROLE_ENTRY = """(e = 'all' OR e = jr.rolname
    OR (e LIKE '+%%' AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS g WHERE g.rolname = pg_catalog.substr(e, 2)
                                 AND pg_catalog.pg_has_role(jr.oid, g.oid, 'MEMBER')))
    OR (e LIKE '/%%' AND jr.rolname ~ pg_catalog.substr(e, 2)))"""
_DATABASE_ENTRY = """(e = 'all' OR e = d.datname OR (e = 'sameuser' AND d.datname = jr.rolname)
    OR (e IN ('samerole', 'samegroup') AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS g
                                                   WHERE g.rolname = d.datname
                                                     AND pg_catalog.pg_has_role(jr.oid, g.oid, 'MEMBER')))
    OR (e LIKE '/%%' AND d.datname ~ pg_catalog.substr(e, 2)))"""


def hba_sql(version_num: int) -> str:
    """The lines in the order they are tried (``rule_number`` from 16, with include files; the line number before)."""
    extra = "h.file_name, h.rule_number," if supports(version_num, HBA_RULE_NUMBER) else ""
    order = "h.rule_number NULLS LAST, h.line_number" if supports(version_num, HBA_RULE_NUMBER) else "h.line_number"
    return f"""
        WITH jr AS (SELECT r.oid, r.rolname::pg_catalog.text AS rolname FROM pg_catalog.pg_roles AS r
                     WHERE r.rolname = {JUDGED_ROLE_NAME}),
             d AS (SELECT pg_catalog.current_database()::pg_catalog.text AS datname)
        SELECT h.line_number, h.type, h.auth_method, h.address, h.netmask, {extra}
               h.database, h.user_name, h.error,
               EXISTS (SELECT 1 FROM pg_catalog.unnest(h.database) AS e, jr, d WHERE {_DATABASE_ENTRY})
                 AS matches_database,
               EXISTS (SELECT 1 FROM pg_catalog.unnest(h.user_name) AS e, jr WHERE {_ROLE_ENTRY}) AS matches_role
          FROM pg_catalog.pg_hba_file_rules AS h
         ORDER BY {order}
    """


def read_hba(conn: Any, version_num: int, role: str | None) -> HbaRules:
    """The judged role's view of pg_hba.conf, or ``readable = False``: a privilege query first, so nothing fails
    (two round trips, only under ``--role``)."""
    readable, database = conn.execute(
        "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_hba_file_rules', 'SELECT'),"
        " pg_catalog.current_database()::pg_catalog.text").fetchone()
    if not readable:
        return HbaRules(readable=False)
    cursor = conn.execute(hba_sql(version_num), {"role": role})
    names = [c.name for c in cursor.description]
    lines = [HbaLine(**dict(zip(names, row, strict=True))) for row in cursor.fetchall()]
    return HbaRules(readable=True, role=role, database=database, lines=lines)


def _hba_rules(conn: Any, ctx: FactContext) -> HbaRules:
    if not ctx.options.role or conn is None:
        return HbaRules(readable=False)  # without --role the replication probe proves the path by connecting
    return read_hba(conn, ctx.version_num, ctx.options.role)


HBA_RULES = ProbeFact(
    "hba_rules",
    "pg_hba.conf lines (pg_hba_file_rules) matching the --role and this database; only with --role and the privilege",
    HbaRules,
    _hba_rules,
    scope=Scope.DATABASE,  # which lines match depends on the database's name
)
