"""Settings stored for the judged role and the current database (``pg_db_role_setting``).

Every session the consumer opens, its replication connection included, starts with them: ``ALTER ROLE
... IN DATABASE ... SET``, ``ALTER ROLE ... SET``, ``ALTER DATABASE ... SET`` and ``ALTER ROLE ALL SET``,
in that order of precedence, under whatever the client sends at start-up. The checker's own session
overrides its timeouts at start-up, so its ``pg_settings`` cannot show them: they are read here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from preflight.facts.base import JUDGED_ROLE_NAME, FactContext, Scope, SqlFact

# Where a stored setting applies, most specific first: the first one found for a name wins at login.
LEVELS = ("role_in_database", "role", "database", "all_roles")


@dataclass(frozen=True, slots=True)
class RoleSettingRow:
    """One stored setting that applies to the judged role's sessions in this database."""

    level: str  # one of LEVELS
    rolname: str  # the judged role (the one it applies to)
    datname: str  # the current database
    name: str  # lower case, as pg_settings names it
    value: str


def _role_settings(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        f"""
        SELECT CASE WHEN s.setrole <> 0 AND s.setdatabase <> 0 THEN 'role_in_database'
                    WHEN s.setrole <> 0 THEN 'role'
                    WHEN s.setdatabase <> 0 THEN 'database' ELSE 'all_roles' END AS level,
               {JUDGED_ROLE_NAME} AS rolname, pg_catalog.current_database()::pg_catalog.text AS datname,
               pg_catalog.lower(pg_catalog.split_part(c.setting, '=', 1)) AS name,
               pg_catalog.substr(c.setting, pg_catalog.strpos(c.setting, '=') + 1) AS value
          FROM pg_catalog.pg_db_role_setting AS s
          CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) WITH ORDINALITY AS c(setting, n)
         WHERE s.setdatabase IN (0, (SELECT d.oid FROM pg_catalog.pg_database AS d
                                      WHERE d.datname = pg_catalog.current_database()))
           AND s.setrole IN (0, (SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = {JUDGED_ROLE_NAME}))
         ORDER BY (s.setrole = 0), (s.setdatabase = 0), c.n
        """,
        {"role": ctx.options.role},
    )


def rows_in(rows: list[RoleSettingRow], dbname: str) -> list[RoleSettingRow]:
    """What ``dbname`` reads, given another database's rows, where neither has settings stored for it."""
    return [replace(r, datname=dbname) for r in rows]


ROLE_SETTINGS = SqlFact.rows(
    "role_settings",
    "settings stored for the judged role and this database (pg_db_role_setting), most specific first",
    RoleSettingRow,
    _role_settings,
    scope=Scope.DATABASE,  # the current database's and its role's stored settings
    for_database=rows_in,  # without settings stored for either database: the same rows (the role's, every role's)
    same_settings=True,
)


def effective(rows: list[RoleSettingRow]) -> dict[str, RoleSettingRow]:
    """The stored setting that wins at login for each name (the rows come most specific first)."""
    winners: dict[str, RoleSettingRow] = {}
    for row in sorted(rows, key=lambda r: LEVELS.index(r.level)):
        winners.setdefault(row.name, row)
    return winners
