"""Publications: every pg_publication row, and the consumer's publication's effective membership.

The consumer's publication is ``--publication``, else the name pg-preflight's printed
``CREATE PUBLICATION`` uses (recognised when it exists), and none for plugins that use no
publication. Membership comes from ``pg_get_publication_tables()``, what the pg_publication_tables view
reads (the view costs more to plan than it does to run), which resolves FOR ALL TABLES, (15+) FOR
TABLES IN SCHEMA and partitions (leaves, or the root with publish_via_partition_root). Each member
also carries the partition tree around it and its replica identity columns, so coverage and
column-list gaps are judged without one query per table. ``published_tables`` reads the members
outside the selection as table rows: the consumer receives them, so they are judged like selected ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from preflight.facts.base import JUDGED_ROLE, JUDGED_ROLE_NAME, FactContext, Scope, SqlFact
from preflight.facts.selection import SELECTED, TableRow, selection_params, table_rows_sql
from preflight.pg_versions import (
    GENERATED_COLUMNS,
    PARTITION_TREE,
    PARTITIONED_PUBLICATION,
    PUBLICATION_COLUMN_LISTS,
    PUBLICATION_TABLES_VARIADIC,
    supports,
)
from preflight.relations import no_usable_identity_sql

if TYPE_CHECKING:
    from preflight.options import Options

DEFAULT_NAME = "cdc_publication"  # the name of the publication pg-preflight's script creates
NO_PUBLICATION_PLUGINS = ("wal2json", "test_decoding", "decoderbufs")


def consumer_publication(options: Options) -> str | None:
    """The publication the consumer streams: ``--publication``, else the one the printed script creates."""
    if options.plugin in NO_PUBLICATION_PLUGINS:
        return None
    return options.publication or DEFAULT_NAME


@dataclass(frozen=True, slots=True)
class PublicationRow:
    """One pg_publication row (pubviaroot is false before 13)."""

    pubname: str
    owner: str
    puballtables: bool
    pubinsert: bool
    pubupdate: bool
    pubdelete: bool
    pubtruncate: bool
    pubviaroot: bool = False

    def publishes(self, operation: str) -> bool:
        """Whether it publishes ``insert``, ``update``, ``delete`` or ``truncate``."""
        return {"insert": self.pubinsert, "update": self.pubupdate, "delete": self.pubdelete,
                "truncate": self.pubtruncate}[operation]


@dataclass(frozen=True, slots=True)
class PublicationMember:
    """A table the consumer's publication carries, with its column list and row filter (15+) and the
    columns that filter reads, its replica identity columns (none: no usable identity) and the other
    relations of its partition tree ([schema, name] pairs)."""

    schema: str
    name: str
    relreplident: str
    attnames: list[str] | None = None
    rowfilter: str | None = None
    identity_columns: list[str] | None = None
    related: list[list[str]] | None = None
    rowfilter_columns: list[str] | None = None


@dataclass(frozen=True, slots=True)
class PublicationsFact:
    """Every publication, the consumer's one's members, and whether the judged role may create one.

    ``unkeyed_elsewhere``: [publication, schema, table] for tables without a usable replica identity
    that another publication publishing UPDATE or DELETE carries: their UPDATE/DELETE fail on the
    source already, whoever consumes that publication.
    """

    requested: str | None
    judged_role: str
    judged_role_is_superuser: bool
    judged_role_can_create: bool
    publications: list[PublicationRow]
    members: list[PublicationMember]
    unkeyed_elsewhere: list[list[str]] | None = None


# The replica identity columns of relation c: the primary key (default), the chosen index, or all (full).
_IDENTITY_COLUMNS = """
    CASE c.relreplident
      WHEN 'f' THEN (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum)
                       FROM pg_catalog.pg_attribute AS a
                      WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '')
      WHEN 'n' THEN NULL
      ELSE (SELECT pg_catalog.array_agg(a.attname::pg_catalog.text ORDER BY a.attnum)
              FROM pg_catalog.pg_index AS i
              JOIN pg_catalog.pg_attribute AS a ON a.attrelid = c.oid AND a.attnum = ANY(i.indkey)
             WHERE i.indrelid = c.oid
               AND CASE c.relreplident WHEN 'd' THEN i.indisprimary ELSE i.indisreplident END)
    END
"""

# Relation c has no usable replica identity: default without a primary key, nothing, or a dropped index.
_NO_IDENTITY = no_usable_identity_sql("c")

# The columns a member's row filter reads (15+): the Var nodes of its stored expression.
_ROWFILTER_COLUMNS = """
    (SELECT pg_catalog.array_agg(DISTINCT a.attname::pg_catalog.text)
       FROM pg_catalog.pg_publication_rel AS pr
       JOIN pg_catalog.pg_publication AS pp ON pp.oid = pr.prpubid
      CROSS JOIN LATERAL pg_catalog.regexp_matches(pr.prqual::pg_catalog.text, ':varattno ([0-9]+)', 'g') AS v(m)
       JOIN pg_catalog.pg_attribute AS a ON a.attrelid = pr.prrelid AND a.attnum = v.m[1]::pg_catalog.int2
      WHERE pp.pubname = %(pub)s AND pr.prrelid = c.oid)
"""

# Every relation in the same partition tree as c (ancestors and descendants), as [schema, name] pairs.
_RELATED = """
    (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(rn.nspname, rc.relname))
       FROM (SELECT relid FROM pg_catalog.pg_partition_ancestors(c.oid)
             UNION SELECT relid FROM pg_catalog.pg_partition_tree(c.oid)) AS t
       JOIN pg_catalog.pg_class AS rc ON rc.oid = t.relid
       JOIN pg_catalog.pg_namespace AS rn ON rn.oid = rc.relnamespace
      WHERE rc.oid <> c.oid)
"""


def _columns(version_num: int) -> tuple[str, str]:
    """(pg_publication columns, member columns of ``published(version_num)``) this version has."""
    pub = "p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate"
    pub += ", p.pubviaroot" if supports(version_num, PARTITIONED_PUBLICATION) else ", false AS pubviaroot"
    if not supports(version_num, PUBLICATION_COLUMN_LISTS):
        return pub, "NULL::pg_catalog.text[] AS attnames, NULL::pg_catalog.text AS rowfilter"
    # pg_publication_tables' own attnames expression: 15 lists every column when there is no column list;
    # from 16 the function itself returns them.
    every = "AND a.attnum > 0 AND NOT a.attisdropped AND (a.attnum = ANY(g.attrs::pg_catalog.int2[]) OR g.attrs IS NULL)" \
        if not supports(version_num, PUBLICATION_TABLES_VARIADIC) else "AND a.attnum = ANY(g.attrs::pg_catalog.int2[])"
    member = f"""(SELECT pg_catalog.array_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute AS a
                  WHERE a.attrelid = g.relid {every})::pg_catalog.text[] AS attnames,
                pg_catalog.pg_get_expr(g.qual, g.relid) AS rowfilter"""
    return pub, member


def published(version_num: int, rel: str = "c", nsp: str = "n") -> str:
    """SQL FROM items: publication ``p``, each relation ``rel`` (in schema ``nsp``) it publishes, ``g`` the
    function's row.

    What the pg_publication_tables view reads, without the view: its rewrite and its unused columns cost
    more to plan than the function call (the facts run in a fresh backend per database).
    """
    call = ("pg_catalog.pg_get_publication_tables(VARIADIC ARRAY[p.pubname::pg_catalog.text])"
            if supports(version_num, PUBLICATION_TABLES_VARIADIC) else "pg_catalog.pg_get_publication_tables(p.pubname::pg_catalog.text)")
    return f"""pg_catalog.pg_publication AS p
               CROSS JOIN LATERAL {call} AS g
               JOIN pg_catalog.pg_class AS {rel} ON {rel}.oid = g.relid
               JOIN pg_catalog.pg_namespace AS {nsp} ON {nsp}.oid = {rel}.relnamespace"""


def _unkeyed_elsewhere(version_num: int) -> str:
    """Tables without identity published with UPDATE or DELETE by another publication (a root: its leaves)."""
    leaves = ("UNION ALL SELECT t.relid FROM pg_catalog.pg_partition_tree(m.oid) AS t "
              "WHERE t.isleaf AND m.relkind = 'p'") if supports(version_num, PARTITIONED_PUBLICATION) else ""
    return f"""
        (SELECT COALESCE(pg_catalog.json_agg(pg_catalog.json_build_array(u.pubname, u.schema, u.name)
                                              ORDER BY u.schema, u.name, u.pubname), '[]'::pg_catalog.json)
           FROM (SELECT DISTINCT p.pubname::pg_catalog.text AS pubname, n.nspname::pg_catalog.text AS schema,
                        c.relname::pg_catalog.text AS name
                   FROM {published(version_num, "m", "mn")}
                  CROSS JOIN LATERAL (SELECT m.oid AS relid WHERE m.relkind = 'r' {leaves}) AS r
                   JOIN pg_catalog.pg_class AS c ON c.oid = r.relid
                   JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
                  WHERE (p.pubupdate OR p.pubdelete) AND p.pubname IS DISTINCT FROM %(pub)s
                    AND {_NO_IDENTITY}) AS u)
    """


def _publications(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    pub_cols, member_cols = _columns(ctx.version_num)
    identity, related = _IDENTITY_COLUMNS, _RELATED
    if not supports(ctx.version_num, GENERATED_COLUMNS):
        identity = identity.replace("AND a.attgenerated = ''", "")
    if not supports(ctx.version_num, PARTITION_TREE):
        related = "NULL::pg_catalog.json"
    rowfilter = _ROWFILTER_COLUMNS if supports(ctx.version_num, PUBLICATION_COLUMN_LISTS) else "NULL::pg_catalog.text[]"
    return (
        f"""
        SELECT %(pub)s::pg_catalog.text AS requested,
               {JUDGED_ROLE_NAME} AS judged_role,
               COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.oid = {JUDGED_ROLE}), false)
                 AS judged_role_is_superuser,
               COALESCE(pg_catalog.has_database_privilege({JUDGED_ROLE}, pg_catalog.current_database(), 'CREATE'), false)
                 AS judged_role_can_create,
               (SELECT COALESCE(pg_catalog.json_agg(q ORDER BY q.pubname), '[]'::pg_catalog.json) FROM (
                  SELECT p.pubname::pg_catalog.text AS pubname, pg_catalog.pg_get_userbyid(p.pubowner) AS owner,
                         p.puballtables, {pub_cols}
                    FROM pg_catalog.pg_publication AS p) AS q) AS publications,
               (SELECT COALESCE(pg_catalog.json_agg(m ORDER BY m.schema, m.name), '[]'::pg_catalog.json) FROM (
                  SELECT n.nspname::pg_catalog.text AS schema, c.relname::pg_catalog.text AS name,
                         {member_cols},
                         c.relreplident::pg_catalog.text AS relreplident,
                         {identity} AS identity_columns,
                         {related} AS related,
                         {rowfilter} AS rowfilter_columns
                    FROM {published(ctx.version_num)}
                   WHERE p.pubname = %(pub)s) AS m) AS members,
               {_unkeyed_elsewhere(ctx.version_num)} AS unkeyed_elsewhere
        """,
        {"pub": consumer_publication(ctx.options), "role": ctx.options.role},
    )


def _published_tables(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    """Table rows for the consumer's publication's members outside the selection, with their partition trees."""
    members = f"SELECT c0.oid FROM {published(ctx.version_num, 'c0', 'n0')} WHERE p.pubname = %(pub)s"
    tree = members
    if supports(ctx.version_num, PARTITION_TREE):  # the members once (a CTE named twice is planned and run once)
        tree = (f"WITH pm AS ({members}) SELECT pm.oid FROM pm "
                "UNION SELECT t.relid FROM pm, pg_catalog.pg_partition_tree(pm.oid) AS t")
    # ``= ANY(ARRAY(...))``, not ``IN (...)``: the few members are collected first and looked up by oid; with
    # ``IN`` the planner may hash the other side, every relation of the database (0.1 s at 100k tables).
    where = f"c.oid = ANY(ARRAY({tree})) AND NOT ({SELECTED})"
    return table_rows_sql(where, ctx.version_num), selection_params(ctx) | {"pub": consumer_publication(ctx.options)}


PUBLICATIONS = SqlFact.one(
    "publications",
    "every publication, the requested one's effective tables, and whether the judged role may create one",
    PublicationsFact,
    _publications,
    scope=Scope.DATABASE,  # pg_publication and the tables of this database; CREATE on it
)
PUBLISHED_TABLES = SqlFact.rows(
    "published_tables",
    "relations the consumer's publication publishes outside the selection (with their partition trees), as table rows",
    TableRow,
    _published_tables,
    records=True,
    scope=Scope.DATABASE,  # this database's publication members
)
