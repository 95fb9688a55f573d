"""Facts about the selection: its schemas and every relation in it, in one query each.

The selection is ``--schema`` (raw names) plus ``--table`` (schema.table); with neither, every
non-system schema except what extensions own: a relation that is an extension member (``pg_depend``
deptype ``e``), every relation of a schema that is one, and a schema whose relations all are (the
schema ``CREATE EXTENSION`` made from the control file's ``schema =`` is not itself a member). Those
are the extension's, not the application's; ``EXTENSION_TABLES`` counts what was left out, and
naming them with ``-s``/``-t`` still selects them. Privileges are judged for ``--role`` when given,
else ``current_user``. Sizes come from ``pg_class`` estimates, which take no relation lock (``pg_relation_size()`` would
queue behind any ACCESS EXCLUSIVE lock held by a migration).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import JUDGED_ROLE, FactContext, Scope, SqlFact
from preflight.pg_versions import GENERATED_COLUMNS, MATERIALIZED_CTE, supports


@dataclass(frozen=True, slots=True)
class SchemaRow:
    """A selected schema; the privileges are NULL when it does not exist (or the judged role does not)."""

    name: str
    exists: bool
    owner: str | None = None
    can_use: bool | None = None
    can_create: bool | None = None


@dataclass(frozen=True, slots=True)
class TableRow:
    """A selected relation. Fields are in the query's column order: rows are built positionally."""

    schema: str
    name: str
    relkind: str
    relpersistence: str
    relreplident: str
    is_partition: bool
    parent_schema: str | None
    parent_name: str | None
    has_primary_key: bool
    identity_index: str | None
    candidate_index: str | None
    size_bytes: int
    estimated_rows: int
    owner: str
    judged_role_owns: bool | None
    can_use_schema: bool | None
    can_select: bool | None
    has_toast: bool | None = None  # a TOAST table, so it can hold out-of-line values (None: a snapshot from before)
    # the first column type without a default equality operator (json, xml, point, ...; a domain or array of one):
    # under REPLICA IDENTITY FULL a native subscriber cannot match rows (None: every type has one, or a snapshot from before)
    without_equality: str | None = None


@dataclass(frozen=True, slots=True)
class ExtensionTablesRow:
    """Relations an extension owns in one schema, left out of the default selection."""

    schema: str
    extension: str
    relations: int


SYSTEM_SCHEMA_FILTER = (
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') "
    "AND n.nspname NOT LIKE 'pg\\_temp\\_%%' AND n.nspname NOT LIKE 'pg\\_toast\\_temp\\_%%'"
)


RELATION_KINDS = "('r', 'p', 'v', 'm', 'f')"  # what the selection lists: tables, views, foreign tables


def extension_members(catalog: str, columns: str = "d.objid") -> str:
    """SQL: the objects of the system catalog ``catalog`` (pg_class, pg_namespace) that extensions own.

    ``d.objid`` is the object, ``d.refobjid`` its extension.
    """
    return f"""SELECT {columns} FROM pg_catalog.pg_depend AS d
                WHERE d.classid = 'pg_catalog.{catalog}'::pg_catalog.regclass AND d.deptype = 'e'
                  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass"""


# Schemas the default selection leaves out: extension members, and schemas holding member relations only.
# Uncorrelated sets, each computed once per query (pg_class has no index on relnamespace alone).
EXTENSION_SCHEMAS = f"""
    {extension_members("pg_namespace")}
    UNION ALL
    SELECT r.relnamespace FROM pg_catalog.pg_class AS r
     WHERE r.relkind IN {RELATION_KINDS}
       AND r.relnamespace IN (SELECT m.relnamespace FROM pg_catalog.pg_class AS m
                               WHERE m.oid IN ({extension_members("pg_class")}))
     GROUP BY r.relnamespace
    HAVING pg_catalog.bool_and(r.oid IN ({extension_members("pg_class")}))"""


def default_selected(relation: str) -> str:
    """SQL: with no -s/-t, ``relation`` (an oid, in schema ``n``) is selected: no system or extension object."""
    return (f"(%(all)s AND {SYSTEM_SCHEMA_FILTER} AND {relation} NOT IN ({extension_members('pg_class')}) "
            f"AND n.oid NOT IN ({EXTENSION_SCHEMAS}))")


def selection_params(ctx: FactContext) -> dict[str, Any]:
    """Parameters every selection query takes: requested schemas, requested tables, judged role."""
    opts = ctx.options
    return {
        "all": not opts.schemas and not opts.tables,
        "schemas": list(opts.schemas),
        "tschemas": [t.schema for t in opts.tables],
        "tnames": [t.name for t in opts.tables],
        "role": opts.role,
    }


def default_selected_relation(relation: str) -> str:
    """SQL: ``default_selected`` for a relation of a listed kind (``RELATION_KINDS``), with half the plan.

    Such a relation that no extension owns is itself a non-member relation of its schema, so its schema is
    never one whose relations all are members: of ``EXTENSION_SCHEMAS`` only the schemas that are members
    themselves can leave it out. Same rows, and no grouping of pg_class to plan (the facts run in a fresh
    backend per database, where planning is most of their cost).
    """
    return (f"(%(all)s AND {SYSTEM_SCHEMA_FILTER} AND {relation} NOT IN ({extension_members('pg_class')}) "
            f"AND n.oid NOT IN ({extension_members('pg_namespace')}))")


# Relation ``c`` (in schema ``n``) is selected. Every user reads it for a table, view or foreign table (a
# sequence's own test is ``default_selected``).
SELECTED = f"""
    {default_selected_relation("c.oid")}
    OR n.nspname = ANY(%(schemas)s::pg_catalog.text[])
    OR (n.nspname, c.relname) IN (SELECT * FROM ROWS FROM (pg_catalog.unnest(%(tschemas)s::pg_catalog.text[]), pg_catalog.unnest(%(tnames)s::pg_catalog.text[])))
"""


def _schemas(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Requested schemas (existing or not) or, with no selection, every non-system schema."""
    return (
        f"""
        WITH wanted(name) AS (
            SELECT pg_catalog.unnest(%(schemas)s::pg_catalog.text[] || %(tschemas)s::pg_catalog.text[])
            UNION
            SELECT n.nspname FROM pg_catalog.pg_namespace AS n
             WHERE %(all)s AND {SYSTEM_SCHEMA_FILTER} AND n.oid NOT IN ({EXTENSION_SCHEMAS})
        )
        SELECT w.name, n.oid IS NOT NULL AS exists,
               pg_catalog.pg_get_userbyid(n.nspowner) AS owner,
               CASE WHEN n.oid IS NULL THEN NULL
                    ELSE pg_catalog.has_schema_privilege({JUDGED_ROLE}, n.oid, 'USAGE') END AS can_use,
               CASE WHEN n.oid IS NULL THEN NULL
                    ELSE pg_catalog.has_schema_privilege({JUDGED_ROLE}, n.oid, 'CREATE') END AS can_create
          FROM wanted AS w
          LEFT JOIN pg_catalog.pg_namespace AS n ON n.nspname = w.name
         ORDER BY w.name
        """,
        selection_params(ctx),
    )


# Types in which a native subscriber finds no equality operator, following the server's own lookup (the type
# cache through GetDefaultOpClass): a default btree or hash class for the type itself, else the one class of a
# type it is binary-coercible to (text's for varchar; xml fits both text and bpchar, so none); a domain is
# its base type, an array its element, a composite type (CREATE TYPE AS) its fields; enums and ranges have
# theirs. Set-based and uncorrelated, computed once per query: one pass over pg_type (base types and
# domains, not the array and row types every table adds) and one over pg_class for composite types.
def no_equality_types(version_num: int) -> str:
    """SQL: the oids of the types without equality for a native subscriber's row matching."""
    materialized = "MATERIALIZED" if supports(version_num, MATERIALIZED_CTE) else ""
    return f"""
    WITH RECURSIVE types(oid, typtype, category, basetype) AS {materialized} (
        SELECT t.oid, t.typtype, t.typcategory, t.typbasetype FROM pg_catalog.pg_type AS t
         WHERE t.typtype IN ('b', 'd') AND (t.typcategory <> 'A' OR t.typelem = 0)),
    usable(oid, am, exact, preferred) AS (
        SELECT b.oid, o.opcmethod, o.opcintype = b.oid, ct.typispreferred AND ct.typcategory = b.category
          FROM (SELECT b.oid, b.category, b.oid AS input FROM types AS b WHERE b.typtype = 'b'
                UNION ALL
                SELECT b.oid, b.category, k.casttarget FROM types AS b
                  JOIN pg_catalog.pg_cast AS k ON k.castsource = b.oid AND k.castmethod = 'b'
                 WHERE b.typtype = 'b') AS b
          JOIN pg_catalog.pg_opclass AS o ON o.opcintype = b.input AND o.opcdefault
          JOIN pg_catalog.pg_am AS m ON m.oid = o.opcmethod AND m.amname IN ('btree', 'hash')
          JOIN pg_catalog.pg_type AS ct ON ct.oid = o.opcintype),
    parts(whole, part) AS {materialized} (  -- what a domain or a composite type is made of (arrays: the element)
        SELECT w.whole, CASE WHEN pt.typcategory = 'A' AND pt.typelem <> 0 THEN pt.typelem ELSE pt.oid END
          FROM (SELECT d.oid, d.basetype FROM types AS d WHERE d.typtype = 'd'
                UNION ALL
                SELECT r.reltype, a.atttypid FROM pg_catalog.pg_class AS r
                  JOIN pg_catalog.pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
                 WHERE r.relkind = 'c') AS w(whole, part)
          JOIN pg_catalog.pg_type AS pt ON pt.oid = w.part),
    no_equality(oid) AS (
        SELECT b.oid FROM types AS b
         WHERE b.typtype = 'b'
           AND b.oid NOT IN (SELECT u.oid FROM usable AS u GROUP BY u.oid, u.am
                              HAVING pg_catalog.bool_or(u.exact)
                                  OR pg_catalog.count(*) FILTER (WHERE u.preferred) = 1
                                  OR (pg_catalog.count(*) = 1 AND NOT pg_catalog.bool_or(u.preferred)))
        UNION
        SELECT p.whole FROM no_equality AS e JOIN parts AS p ON p.part = e.oid)
    SELECT e.oid FROM no_equality AS e
    UNION
    SELECT x.typarray FROM (SELECT (SELECT t.typarray FROM pg_catalog.pg_type AS t WHERE t.oid = e.oid)
                              FROM no_equality AS e) AS x(typarray)
     WHERE x.typarray <> 0"""


def table_rows_sql(where: str, version_num: int = 0) -> str:
    """The query building ``TableRow``s for the relations matching ``where`` (``c`` is pg_class, ``n`` its
    namespace; the judged role is ``%(role)s``): the selection's, and the published tables outside it.
    ``without_equality`` is read only where FULL may matter (FULL, NOTHING, USING INDEX, or no primary key),
    one index probe per such table; from 12 (``version_num``) generated columns are left out (never compared)."""
    generated = "AND a.attgenerated = ''" if supports(version_num, GENERATED_COLUMNS) else ""
    return f"""
        SELECT n.nspname AS schema, c.relname AS name, c.relkind::pg_catalog.text AS relkind,
               c.relpersistence::pg_catalog.text AS relpersistence,
               c.relreplident::pg_catalog.text AS relreplident,
               c.relispartition AS is_partition,
               (SELECT pn.nspname FROM pg_catalog.pg_inherits AS i
                  JOIN pg_catalog.pg_class AS pc ON pc.oid = i.inhparent
                  JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace
                 WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent_schema,
               (SELECT pc.relname FROM pg_catalog.pg_inherits AS i
                  JOIN pg_catalog.pg_class AS pc ON pc.oid = i.inhparent
                 WHERE i.inhrelid = c.oid AND c.relispartition LIMIT 1) AS parent_name,
               k.has_primary_key,
               (SELECT ic.relname FROM pg_catalog.pg_index AS i
                  JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid AND i.indisreplident LIMIT 1) AS identity_index,
               (SELECT ic.relname FROM pg_catalog.pg_index AS i
                  JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid
                 WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary AND i.indisvalid
                   AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
                   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute AS a
                                    WHERE a.attrelid = c.oid AND a.attnum = ANY(i.indkey) AND NOT a.attnotnull)
                 ORDER BY i.indnatts, ic.relname LIMIT 1) AS candidate_index,
               c.relpages::pg_catalog.int8 * pg_catalog.current_setting('block_size')::pg_catalog.int8 AS size_bytes,
               c.reltuples::pg_catalog.int8 AS estimated_rows,
               pg_catalog.pg_get_userbyid(c.relowner) AS owner,
               pg_catalog.pg_has_role({JUDGED_ROLE}, c.relowner, 'USAGE') AS judged_role_owns,
               pg_catalog.has_schema_privilege({JUDGED_ROLE}, n.oid, 'USAGE') AS can_use_schema,
               pg_catalog.has_table_privilege({JUDGED_ROLE}, c.oid, 'SELECT') AS can_select,
               c.reltoastrelid <> 0 AS has_toast,
               CASE WHEN c.relkind IN ('r', 'p') AND (c.relreplident <> 'd' OR NOT k.has_primary_key) THEN
                 (SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute AS a
                   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped {generated}
                     AND a.atttypid IN ({no_equality_types(version_num)})
                   ORDER BY a.attnum LIMIT 1) END AS without_equality
          FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i
                                             WHERE i.indrelid = c.oid AND i.indisprimary)) AS k(has_primary_key)
         WHERE c.relkind IN {RELATION_KINDS}
           AND ({where})
         ORDER BY n.nspname, c.relname
        """


def _tables(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Every relation in the selection with what replica identity, keys, grants and publishing need."""
    return table_rows_sql(SELECTED, ctx.version_num), selection_params(ctx)


SCHEMAS = SqlFact.rows("schemas", "the selected schemas: existence, owner, USAGE/CREATE for the judged role",
                       SchemaRow, _schemas, scope=Scope.DATABASE)
TABLES = SqlFact.rows("tables", "every relation in the selection: kind, persistence, keys, identity, grants, size",
                      TableRow, _tables, records=True, scope=Scope.DATABASE)


def _extension_tables(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """With no -s/-t: per schema and extension, how many relations the default selection left out.

    Driven from ``pg_depend``'s few extension rows: a relation counts under its own extension, else
    under the extension owning its schema.
    """
    return (
        f"""
        WITH owned AS ({extension_members("pg_class", "d.objid, d.refobjid")}),
             owned_schemas AS ({extension_members("pg_namespace", "d.objid, d.refobjid")}),
             left_out(oid, ext) AS (
                 SELECT o.objid, o.refobjid FROM owned AS o
                 UNION ALL
                 SELECT c.oid, s.refobjid FROM owned_schemas AS s
                   JOIN pg_catalog.pg_class AS c ON c.relnamespace = s.objid
                  WHERE c.oid NOT IN (SELECT o.objid FROM owned AS o))
        SELECT n.nspname AS schema, e.extname AS extension, pg_catalog.count(*) AS relations
          FROM left_out AS l
          JOIN pg_catalog.pg_class AS c ON c.oid = l.oid
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_extension AS e ON e.oid = l.ext
         WHERE %(all)s AND {SYSTEM_SCHEMA_FILTER} AND c.relkind IN {RELATION_KINDS}
         GROUP BY n.nspname, e.extname
         ORDER BY n.nspname, e.extname
        """,
        selection_params(ctx),
    )


EXTENSION_TABLES = SqlFact.rows(
    "extension_tables", "relations extensions own, left out of the default selection: count per schema and extension",
    ExtensionTablesRow, _extension_tables, records=True, scope=Scope.DATABASE)
