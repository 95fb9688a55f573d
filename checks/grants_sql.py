"""Remediation statements of the grants check, every identifier quoted by ``psycopg.sql``."""

from __future__ import annotations

from psycopg import sql

from preflight.sqltext import render


def _fmt(template: str, *parts: sql.Composable) -> str:
    return render(sql.SQL(template).format(*parts))


def alter_role(role: str, attribute: str) -> str:
    """``ALTER ROLE r WITH LOGIN;`` (replication is granted per provider: ``preflight.remediation``)."""
    if attribute != "LOGIN":
        raise ValueError(f"not a role attribute this check grants: {attribute!r}")
    return _fmt("ALTER ROLE {} WITH {};", sql.Identifier(role), sql.SQL(attribute))


def grant_connect(database: str, role: str) -> str:
    return _fmt("GRANT CONNECT ON DATABASE {} TO {};", sql.Identifier(database), sql.Identifier(role))


def grant_usage(schema: str, role: str) -> str:
    return _fmt("GRANT USAGE ON SCHEMA {} TO {};", sql.Identifier(schema), sql.Identifier(role))


def grant_select_table(schema: str, table: str, role: str) -> str:
    return _fmt("GRANT SELECT ON TABLE {} TO {};", sql.Identifier(schema, table), sql.Identifier(role))


def grant_select_schema(schema: str, role: str) -> str:
    return _fmt("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {};", sql.Identifier(schema), sql.Identifier(role))


def default_select(owner: str, schema: str, role: str) -> str:
    """Default privileges for tables ``owner`` creates later in ``schema`` (they apply to no one else's)."""
    return _fmt("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {};",
                sql.Identifier(owner), sql.Identifier(schema), sql.Identifier(role))


def role_connection_limit(role: str, limit: int) -> str:
    return _fmt("ALTER ROLE {} WITH CONNECTION LIMIT {};", sql.Identifier(role), sql.Literal(int(limit)))


def database_connection_limit(database: str, limit: int) -> str:
    return _fmt("ALTER DATABASE {} WITH CONNECTION LIMIT {};", sql.Identifier(database), sql.Literal(int(limit)))
