"""Names near the selection, read only when ``-s`` / ``-t`` name something: what "did you mean ...?"
chooses from when a selected schema or table does not exist. Few rows: the non-system schemas, and the
relations of the ``-t`` schemas or whose name matches a ``-t`` name but for case (bounded)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact
from preflight.facts.selection import RELATION_KINDS, SYSTEM_SCHEMA_FILTER

MAX_NAMES = 2000  # a -t schema holding 100k tables: the suggestion is a courtesy, never a cost


@dataclass(frozen=True, slots=True)
class NearbyName:
    """A schema (``name`` None) or a relation ``schema.name`` that a misspelt selection may have meant."""

    schema: str
    name: str | None = None


def _nearby(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    opts = ctx.options
    return (
        f"""
        SELECT n.nspname AS schema, NULL::pg_catalog.text AS name
          FROM pg_catalog.pg_namespace AS n
         WHERE %(named)s AND {SYSTEM_SCHEMA_FILTER}
        UNION ALL
        (SELECT n.nspname, c.relname
           FROM pg_catalog.pg_class AS c
           JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
          WHERE c.relkind IN {RELATION_KINDS} AND {SYSTEM_SCHEMA_FILTER}
            AND (n.nspname = ANY(%(tschemas)s::pg_catalog.text[])
                 OR pg_catalog.lower(c.relname) = ANY(%(tnames)s::pg_catalog.text[]))
          ORDER BY 1, 2
          LIMIT {MAX_NAMES})
        """,
        {"named": bool(opts.schemas or opts.tables), "tschemas": [t.schema for t in opts.tables],
         "tnames": [t.name.lower() for t in opts.tables]},
    )


NAMES_NEARBY = SqlFact.rows("names_nearby", "schemas, and relations near the -t names: for 'did you mean ...?'",
                            NearbyName, _nearby, records=True, scope=Scope.DATABASE)
