"""Remediation statements of the grants check, as values (``preflight.statements``): names are quoted by
``psycopg.sql`` when a format writes them."""

from __future__ import annotations

from psycopg import sql

from preflight.statements import Grant, Sql


def alter_role(role: str, attribute: str) -> Grant:
    """``ALTER ROLE r WITH LOGIN;`` (replication is granted per provider: ``preflight.remediation``)."""
    if attribute != "LOGIN":
        raise ValueError(f"not a role attribute this check grants: {attribute!r}")
    return Grant(role, attribute, "attribute")


def grant_connect(database: str, role: str) -> Grant:
    return Grant(role, "CONNECT", on="DATABASE", object=database)


def grant_usage(schema: str, role: str) -> Grant:
    return Grant(role, "USAGE", on="SCHEMA", object=schema)


def grant_select_table(schema: str, table: str, role: str) -> Grant:
    return Grant(role, "SELECT", on="TABLE", object=(schema, table))


def grant_select_schema(schema: str, role: str) -> Grant:
    return Grant(role, "SELECT", on="ALL TABLES IN SCHEMA", object=schema)


def default_select(owner: str, schema: str, role: str) -> Sql:
    """Default privileges for tables ``owner`` creates later in ``schema`` (they apply to no one else's)."""
    return Sql(sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} GRANT SELECT ON TABLES TO {};").format(
        sql.Identifier(owner), sql.Identifier(schema), sql.Identifier(role)))


def role_connection_limit(role: str, limit: int) -> Sql:
    return Sql(sql.SQL("ALTER ROLE {} WITH CONNECTION LIMIT {};").format(sql.Identifier(role), sql.Literal(int(limit))))


def database_connection_limit(database: str, limit: int) -> Sql:
    return Sql(sql.SQL("ALTER DATABASE {} WITH CONNECTION LIMIT {};").format(
        sql.Identifier(database), sql.Literal(int(limit))))
