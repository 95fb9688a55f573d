"""Facts about what the consumer receives of each selected table, read only where it matters.

The tables fact scans every selected relation once and stays as cheap as it is; these read the few rows that
carry a hazard: tables with row-level security (``relrowsecurity``), generated columns (from ``pg_attrdef``,
where every generation expression is stored) and columns of the types the profile's consumer documents as
unsupported or lossy (only when the profile lists any), and the sequences the selected tables own (from
``pg_sequence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import JUDGED_ROLE_NAME, FactContext, Scope, SqlFact
from preflight.facts.publications import consumer_publication
from preflight.facts.selection import SELECTED, selection_params
from preflight.pg_versions import GENERATED_COLUMNS, PGOUTPUT, PUBLISH_GENERATED_COLUMNS, supports
from preflight.profiles import load_profile


@dataclass(frozen=True, slots=True)
class RowSecurityRow:
    """A selected table with row-level security enabled, and what the judged role's reads of it go through.

    ``bypasses``: the judged role is a superuser or has BYPASSRLS; ``owns``: it owns the table (or inherits its
    owner's privileges), which exempts it unless ``forced``; ``policies``: the SELECT policies that apply to it
    (``FOR SELECT`` or ``FOR ALL``, to it, a role it is a member of, or PUBLIC)."""

    schema: str
    name: str
    owner: str
    forced: bool
    owns: bool | None
    bypasses: bool | None
    policies: int
    sees_all: bool  # a permissive policy USING (true) applies and no restrictive one filters


# A policy ``p`` applies to the judged role ``j.oid``: to PUBLIC (oid 0), to it, or to a role whose privileges it has.
_APPLIES = """(0::pg_catalog.oid = ANY(p.polroles) OR EXISTS (SELECT 1 FROM pg_catalog.unnest(p.polroles) AS pr(oid)
                                                          WHERE pg_catalog.pg_has_role(j.oid, pr.oid, 'USAGE')))"""


def _row_security(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Only the tables with RLS enabled: one filtered pass over pg_class, the selection judged on those few.

    The judged role is looked up once (``j``: no row's values when it does not exist, so every judgement of it is
    NULL) and each table's SELECT policies are read in one pass (``pol``): one plan for each, in a backend that
    plans this afresh in every database."""
    return (
        f"""
        SELECT n.nspname AS schema, c.relname AS name, pg_catalog.pg_get_userbyid(c.relowner) AS owner,
               c.relforcerowsecurity AS forced,
               pg_catalog.pg_has_role(j.oid, c.relowner, 'USAGE') AS owns,
               j.bypasses,
               pol.policies,
               (pol.opens AND NOT pol.restricts) AS sees_all
          FROM pg_catalog.pg_class AS c
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         CROSS JOIN (SELECT r.oid, r.rolsuper OR r.rolbypassrls AS bypasses
                       FROM (SELECT 1) AS one
                       LEFT JOIN pg_catalog.pg_roles AS r ON r.rolname = {JUDGED_ROLE_NAME}
                     OFFSET 0) AS j
         CROSS JOIN LATERAL (
               SELECT pg_catalog.count(*) AS policies,
                      COALESCE(pg_catalog.bool_or(p.polpermissive
                                                  AND pg_catalog.pg_get_expr(p.polqual, p.polrelid) = 'true'), false)
                        AS opens,  -- a permissive policy USING (true) applies
                      COALESCE(pg_catalog.bool_or(NOT p.polpermissive
                                                  AND pg_catalog.pg_get_expr(p.polqual, p.polrelid)
                                                      IS DISTINCT FROM 'true'), false)
                        AS restricts  -- a restrictive one that filters applies
                 FROM pg_catalog.pg_policy AS p
                WHERE p.polrelid = c.oid AND p.polcmd IN ('r', '*') AND {_APPLIES}) AS pol
         WHERE c.relrowsecurity AND c.relkind IN ('r', 'p') AND ({SELECTED})
         ORDER BY n.nspname, c.relname
        """,
        selection_params(ctx),
    )


ROW_SECURITY = SqlFact.rows(
    "row_security", "selected tables with row-level security: owner, FORCE, the judged role's bypass and policies",
    RowSecurityRow, _row_security, records=True, scope=Scope.DATABASE)


@dataclass(frozen=True, slots=True)
class ColumnHazardRow:
    """A column of a selected table that is generated (``generated``: 's' stored, 'v' virtual, '' not) or of a
    type class the profile lists (``kind``); ``published``: PG 18's consumer publication publishes it
    (``publish_generated_columns = stored``, a stored column)."""

    schema: str
    name: str
    column: str
    type: str
    kind: str
    generated: str
    published: bool


# A column's type class, as profiles name them (else the type's own name): arrays by category, the rest by typtype.
_KIND = """CASE WHEN t.typtype = 'c' THEN 'composite' WHEN t.typtype = 'r' THEN 'range'
                WHEN t.typtype = 'm' THEN 'multirange' WHEN t.typtype = 'e' THEN 'enum'
                WHEN t.typtype = 'd' THEN 'domain' WHEN t.typcategory = 'A' THEN 'array'
                WHEN t.oid = 'pg_catalog.numeric'::pg_catalog.regtype AND a.atttypmod < 0 THEN 'unbounded_numeric'
                WHEN t.oid = 'pg_catalog.money'::pg_catalog.regtype THEN 'money'
                ELSE t.typname::pg_catalog.text END"""


def _column_hazards(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Generated columns from ``pg_attrdef`` (12+); columns of listed type classes only when the profile lists
    any (one pass over the selected tables' columns then)."""
    params = selection_params(ctx)
    kinds = sorted({rule.match for rule in load_profile(ctx.options.profile).column_rules})
    params["kinds"] = kinds
    params["publication"] = consumer_publication(ctx.options)
    has_generated = supports(ctx.version_num, GENERATED_COLUMNS)
    generated = "a.attgenerated::pg_catalog.text" if has_generated else "''::pg_catalog.text"
    published = "false"
    if supports(ctx.version_num, PUBLISH_GENERATED_COLUMNS):
        published = """(a.attgenerated = 's' AND EXISTS (SELECT 1 FROM pg_catalog.pg_publication AS pb
                         WHERE pb.pubname = %(publication)s AND pb.pubgencols = 's'))"""
    columns = f"""n.nspname AS schema, c.relname AS name, a.attname AS "column",
               pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, {_KIND} AS kind,
               {generated} AS generated, {published} AS published"""
    joins = """JOIN pg_catalog.pg_class AS c ON c.oid = a.attrelid
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_type AS t ON t.oid = a.atttypid"""
    parts = []
    if has_generated:
        parts.append(f"""
        SELECT {columns}
          FROM pg_catalog.pg_attrdef AS d
          JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
          {joins}
         WHERE a.attgenerated <> '' AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relkind IN ('r', 'p') AND ({SELECTED})""")
    if kinds:
        not_generated = "AND a.attgenerated = ''" if has_generated else ""
        parts.append(f"""
        SELECT {columns}
          FROM pg_catalog.pg_attribute AS a
          {joins}
         WHERE a.attnum > 0 AND NOT a.attisdropped {not_generated}
           AND c.relkind IN ('r', 'p') AND ({SELECTED})
           AND ({_KIND}) = ANY(%(kinds)s::pg_catalog.text[])""")
    if not parts:
        return ("SELECT NULL::pg_catalog.text AS schema, NULL::pg_catalog.text AS name, NULL::pg_catalog.text AS "
                "\"column\", NULL::pg_catalog.text AS type, NULL::pg_catalog.text AS kind, NULL::pg_catalog.text AS "
                "generated, NULL::pg_catalog.bool AS published WHERE false", {})
    return " UNION ALL ".join(parts) + " ORDER BY 1, 2, 3", params


COLUMN_HAZARDS = SqlFact.rows(
    "column_hazards", "generated columns of selected tables, and columns of the type classes the profile lists",
    ColumnHazardRow, _column_hazards, records=True, scope=Scope.DATABASE)


@dataclass(frozen=True, slots=True)
class OwnedSequenceRow:
    """A sequence a selected table owns (serial, identity, OWNED BY), with its owning column."""

    schema: str
    name: str
    table_schema: str
    table_name: str
    column: str


def _owned_sequences(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """From ``pg_sequence`` (10+; before it, pg_class's sequences) through their owning dependency; read only for a
    profile that migrates (``migration_cutover``): nobody else sets sequences at cutover, and a database where every
    table has a serial pays one row per table."""
    if not load_profile(ctx.options.profile).migration_cutover:
        return ("SELECT NULL::pg_catalog.text AS schema, NULL::pg_catalog.text AS name, NULL::pg_catalog.text AS "
                "table_schema, NULL::pg_catalog.text AS table_name, NULL::pg_catalog.text AS \"column\" WHERE false",
                {})
    sequences = "pg_catalog.pg_class AS s" if not supports(ctx.version_num, PGOUTPUT) else (
        "pg_catalog.pg_sequence AS q JOIN pg_catalog.pg_class AS s ON s.oid = q.seqrelid")
    return (
        f"""
        SELECT sn.nspname AS schema, s.relname AS name, n.nspname AS table_schema, c.relname AS table_name,
               a.attname AS "column"
          FROM {sequences}
          JOIN pg_catalog.pg_namespace AS sn ON sn.oid = s.relnamespace
          JOIN pg_catalog.pg_depend AS d ON d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = s.oid
           AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')
          JOIN pg_catalog.pg_class AS c ON c.oid = d.refobjid
          JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
          JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
         WHERE s.relkind = 'S' AND c.relkind IN ('r', 'p') AND ({SELECTED})
         ORDER BY 1, 2
        """,
        selection_params(ctx),
    )


OWNED_SEQUENCES = SqlFact.rows(
    "owned_sequences", "the sequences the selected tables own (serial, identity, OWNED BY) and their columns",
    OwnedSequenceRow, _owned_sequences, records=True, scope=Scope.DATABASE)
