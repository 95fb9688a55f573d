"""Facts about what logical replication never carries, so nobody is surprised after cutover.

Sequences, large objects and (before 18, or unless published) generated columns are not in the
change stream. Counts only (plus a few generated column names): one cheap row whatever the database
size. (TOAST-bearing tables, which matter for unchanged-TOAST values under the default identity, are
marked in the tables fact.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact
from preflight.facts.selection import SELECTED, default_selected, selection_params
from preflight.pg_versions import GENERATED_COLUMNS, PGOUTPUT, supports


@dataclass(frozen=True, slots=True)
class NotReplicatedFact:
    """Counts of what the change stream never carries; generated columns as [schema, table, column]."""

    sequences: int
    large_objects: int
    generated_columns: list[list[str]] | None = None


# A sequence (s, in schema n) is selected when its schema is, or when a selected table owns it (serial/identity);
# inside EXISTS, n and c are the owning table's, as SELECTED expects.
_SEQUENCE_SELECTED = f"""
    {default_selected("s.oid")}
    OR n.nspname = ANY(%(schemas)s::pg_catalog.text[])
    OR EXISTS (
        SELECT 1 FROM pg_catalog.pg_depend AS d
          JOIN pg_catalog.pg_class AS c ON c.oid = d.refobjid
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
           AND ({SELECTED}))
"""


def _not_replicated(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """One row of counts; generated columns exist from 12 (``attgenerated``).

    Each count starts from a small catalog, not from pg_class or pg_attribute (a seq scan of each costs
    tenths of a second at 100k tables): sequences from ``pg_sequence`` (10+), generated columns from
    ``pg_attrdef``, where every generation expression is stored. Which tables have TOAST is a column of
    the tables fact, whose scan of pg_class reads it anyway.
    """
    sequences = "pg_catalog.pg_class AS s" if not supports(ctx.version_num, PGOUTPUT) else (
        "pg_catalog.pg_sequence AS q JOIN pg_catalog.pg_class AS s ON s.oid = q.seqrelid")
    generated = "NULL::pg_catalog.json"
    if supports(ctx.version_num, GENERATED_COLUMNS):
        generated = f"""(
            SELECT pg_catalog.json_agg(pg_catalog.json_build_array(n.nspname, c.relname, a.attname)
                                       ORDER BY n.nspname, c.relname, a.attnum)
              FROM pg_catalog.pg_attrdef AS d
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
              JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
              JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
             WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped
               AND c.relkind IN ('r', 'p') AND ({SELECTED}))"""
    query = f"""
        SELECT (SELECT pg_catalog.count(*) FROM {sequences}
                  JOIN pg_catalog.pg_namespace AS n ON n.oid = s.relnamespace
                 WHERE s.relkind = 'S' AND ({_SEQUENCE_SELECTED})) AS sequences,
               (SELECT pg_catalog.count(*) FROM pg_catalog.pg_largeobject_metadata) AS large_objects,
               {generated} AS generated_columns
    """
    return query, selection_params(ctx)


NOT_REPLICATED = SqlFact.one(
    "not_replicated",
    "what logical replication never carries: sequences, large objects, generated columns",
    NotReplicatedFact,
    _not_replicated,
    scope=Scope.DATABASE,  # this database's sequences, large objects and generated columns
)
