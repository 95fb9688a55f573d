"""Facts about the judged role (``--role`` or ``current_user``) and the connections it competes for.

Attributes, predefined and provider role memberships and database privileges are read with the
``pg_has_role`` / ``has_database_privilege`` OID forms, which never raise: a ``--role`` that does
not exist comes back as ``exists = false`` instead of failing the whole fact.
Connection counts come from ``pg_stat_activity``, whose ``backend_type`` is NULL for other roles'
sessions unless the checker is a superuser or a member of ``pg_read_all_stats``: those are counted
apart (``hidden_sessions``: client backends of other roles only, never the server's background
processes) so that the check can say "could not see" rather than "none". The checker's own
replication probe is left out of the counts by its process id (``walsender_pids``), by the check.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import (
    CHECKER_SEES_ALL_SESSIONS,
    HIDDEN_CLIENT_SESSION,
    JUDGED_ROLE_NAME,
    FactContext,
    Scope,
    SqlFact,
)
from preflight.pg_versions import PG_READ_ALL_DATA, RESERVED_CONNECTIONS, supports


@dataclass(frozen=True, slots=True)
class RoleFact:
    """The judged role and the connections it competes for; attributes are None when it does not exist."""

    rolname: str
    exists: bool
    checker: str
    is_checker: bool
    rolsuper: bool | None
    rolreplication: bool | None
    rolcanlogin: bool | None
    rolinherit: bool | None
    rolconnlimit: int | None
    memberships: dict[str, bool | None]
    provider_roles: list[str] | None
    replication_via: list[str] | None
    replication_groups: list[str] | None
    database: str
    datconnlimit: int | None
    can_connect: bool | None
    can_create: bool | None
    checker_sees_all: bool
    client_backends: int
    hidden_sessions: int
    role_connections: int
    database_connections: int
    walsender_pids: list[int] | None = None  # every walsender's pid: the checker's own probe is left out by pid

    def connections_without(self, own_pid: int | None) -> tuple[int, int]:
        """(role's, database's) connections without the checker's replication probe, if it was counted.

        The probe logs in as the checker to this database, so it counts in the database's connections,
        and in the role's when the judged role is the checker.
        """
        if own_pid is None or own_pid not in (self.walsender_pids or []):
            return self.role_connections, self.database_connections
        return self.role_connections - (1 if self.is_checker else 0), self.database_connections - 1

# Roles that grant replication on managed services while rolreplication reads false (RDS/Aurora's
# rds_replication; docs/field-notes.md).
PROVIDER_REPLICATION_ROLES = ["rds_replication"]


def predefined_roles(version_num: int) -> list[str]:
    """Predefined roles this server version has, whose membership (with inheritance) matters here."""
    names = ["pg_read_all_stats", "pg_monitor"]
    if supports(version_num, PG_READ_ALL_DATA):
        names.append("pg_read_all_data")
    if supports(version_num, RESERVED_CONNECTIONS):
        names.append("pg_use_reserved_connections")
    return names


def _role(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Every count from one reading of pg_stat_activity (a view: planned once, not four times). The checker's
    own session counts as a client backend even when it is the replication proof's walsender."""
    return (
        f"""
        WITH judged(name) AS (SELECT {JUDGED_ROLE_NAME}),
             db AS (SELECT d.oid, d.datname, d.datconnlimit FROM pg_catalog.pg_database AS d
                     WHERE d.datname = pg_catalog.current_database())
        SELECT j.name AS rolname, r.oid IS NOT NULL AS exists,
               CURRENT_USER::pg_catalog.text AS checker, (j.name = CURRENT_USER::pg_catalog.text) AS is_checker,
               r.rolsuper, r.rolreplication, r.rolcanlogin, r.rolinherit, r.rolconnlimit,
               (SELECT COALESCE(pg_catalog.json_object_agg(g.rolname, pg_catalog.pg_has_role(r.oid, g.oid, 'USAGE')),
                                '{{}}'::pg_catalog.json)
                  FROM pg_catalog.pg_roles AS g WHERE g.rolname = ANY(%(predefined)s::pg_catalog.text[])) AS memberships,
               (SELECT pg_catalog.array_agg(g.rolname::pg_catalog.text ORDER BY g.rolname)
                  FROM pg_catalog.pg_roles AS g WHERE g.rolname = ANY(%(providers)s::pg_catalog.text[])) AS provider_roles,
               (SELECT pg_catalog.array_agg(g.rolname::pg_catalog.text ORDER BY g.rolname)
                  FROM pg_catalog.pg_roles AS g
                 WHERE g.rolname = ANY(%(providers)s::pg_catalog.text[])
                   AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')) AS replication_via,
               (SELECT pg_catalog.array_agg(g.rolname::pg_catalog.text ORDER BY g.rolname)
                  FROM pg_catalog.pg_roles AS g
                 WHERE g.rolreplication AND g.oid <> r.oid
                   AND pg_catalog.pg_has_role(r.oid, g.oid, 'MEMBER')) AS replication_groups,
               db.datname::pg_catalog.text AS database, db.datconnlimit,
               pg_catalog.has_database_privilege(r.oid, db.oid, 'CONNECT') AS can_connect,
               pg_catalog.has_database_privilege(r.oid, db.oid, 'CREATE') AS can_create,
               {CHECKER_SEES_ALL_SESSIONS} AS checker_sees_all,
               s.client_backends, s.hidden_sessions, s.role_connections, s.database_connections,
               ARRAY(SELECT w.pid FROM pg_catalog.pg_stat_get_wal_senders() AS w ORDER BY 1) AS walsender_pids
          FROM judged AS j
          CROSS JOIN db
          LEFT JOIN pg_catalog.pg_roles AS r ON r.rolname = j.name
          CROSS JOIN LATERAL (
            SELECT (pg_catalog.count(*) FILTER (WHERE a.backend_type = 'client backend'
                                               OR a.pid = pg_catalog.pg_backend_pid()))::pg_catalog.int4
                     AS client_backends,
                   (pg_catalog.count(*) FILTER (WHERE {HIDDEN_CLIENT_SESSION}))::pg_catalog.int4 AS hidden_sessions,
                   (pg_catalog.count(*) FILTER (WHERE a.usesysid = r.oid))::pg_catalog.int4 AS role_connections,
                   (pg_catalog.count(*) FILTER (WHERE a.datid = db.oid AND a.usesysid IS NOT NULL))::pg_catalog.int4
                     AS database_connections
              FROM pg_catalog.pg_stat_activity AS a) AS s
        """,
        {"role": ctx.options.role, "predefined": predefined_roles(ctx.version_num),
         "providers": PROVIDER_REPLICATION_ROLES},
    )


ROLE = SqlFact.one(
    "role",
    "the judged role: attributes, memberships, CONNECT/CREATE on the database, connection limits and counts",
    RoleFact,
    _role,
    scope=Scope.DATABASE,  # CONNECT/CREATE on, and connections to, the current database
)
