"""The consumer's heartbeat table (``--consumer-config``): does it exist, may the judged role write it, does the
consumer's publication carry it. Read only when the configuration names a heartbeat table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import JUDGED_ROLE, JUDGED_ROLE_NAME, FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class HeartbeatTableRow:
    """``matches``: tables of that name (any schema when the statement does not qualify it)."""

    matches: int
    schema: str | None
    name: str | None
    owner: str | None
    can_insert: bool | None
    can_update: bool | None
    in_publication: bool | None  # None: no such publication (or none named)
    schema_exists: bool
    can_create_in_schema: bool | None
    judged_role: str


def _heartbeat(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    consumer = ctx.options.consumer
    beat = consumer.heartbeat if consumer is not None else None
    if beat is None or beat.table is None:  # nothing to look up: a constant row, no catalog read
        return (f"""SELECT 0 AS matches, NULL::pg_catalog.text AS schema, NULL::pg_catalog.text AS name,
                          NULL::pg_catalog.text AS owner, NULL::pg_catalog.bool AS can_insert,
                          NULL::pg_catalog.bool AS can_update, NULL::pg_catalog.bool AS in_publication,
                          false AS schema_exists, NULL::pg_catalog.bool AS can_create_in_schema,
                          {JUDGED_ROLE_NAME} AS judged_role""", {"role": ctx.options.role})
    return (
        f"""
        WITH t AS (SELECT c.oid, n.nspname, c.relname, pg_catalog.pg_get_userbyid(c.relowner) AS owner
                     FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                    WHERE c.relname = %(table)s AND c.relkind IN ('r', 'p')
                      AND (%(schema)s::pg_catalog.text IS NULL OR n.nspname = %(schema)s)),
             one AS (SELECT * FROM t ORDER BY t.nspname LIMIT 1)
        SELECT (SELECT pg_catalog.count(*) FROM t)::pg_catalog.int4 AS matches,
               (SELECT one.nspname::pg_catalog.text FROM one) AS schema,
               (SELECT one.relname::pg_catalog.text FROM one) AS name,
               (SELECT one.owner::pg_catalog.text FROM one) AS owner,
               (SELECT pg_catalog.has_table_privilege({JUDGED_ROLE}, one.oid, 'INSERT') FROM one) AS can_insert,
               (SELECT pg_catalog.has_table_privilege({JUDGED_ROLE}, one.oid, 'UPDATE') FROM one) AS can_update,
               CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_publication AS p WHERE p.pubname = %(pub)s)
                    THEN EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables AS pt, one
                                  WHERE pt.pubname = %(pub)s AND pt.schemaname = one.nspname
                                    AND pt.tablename = one.relname) END AS in_publication,
               EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n WHERE n.nspname = %(schema)s) AS schema_exists,
               (SELECT pg_catalog.has_schema_privilege({JUDGED_ROLE}, n.oid, 'CREATE')
                  FROM pg_catalog.pg_namespace AS n WHERE n.nspname = %(schema)s) AS can_create_in_schema,
               {JUDGED_ROLE_NAME} AS judged_role
        """,
        {"table": beat.table if beat else None, "schema": beat.schema_name if beat else None,
         "pub": ctx.options.publication, "role": ctx.options.role},
    )


HEARTBEAT_TABLE = SqlFact.one(
    "heartbeat_table",
    "the consumer's heartbeat table (--consumer-config): existence, INSERT/UPDATE for the judged role, publication",
    HeartbeatTableRow,
    _heartbeat,
    scope=Scope.DATABASE,  # this database's tables, publications and privileges
)
