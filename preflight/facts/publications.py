"""Publications: every pg_publication row, and the requested one's effective membership.

Membership comes from pg_publication_tables, which resolves FOR ALL TABLES, (15+) FOR TABLES IN
SCHEMA and partitions (leaves, or the root with publish_via_partition_root). Each member also
carries the partition tree around it and its replica identity columns, so coverage and column-list
gaps are judged without one query per table. One query, whatever the table count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import JUDGED_ROLE, JUDGED_ROLE_NAME, FactContext, SqlFact


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
    """A table the requested publication carries, with its column list and row filter (15+), its replica
    identity columns and the other relations of its partition tree ([schema, name] pairs)."""

    schema: str
    name: str
    relreplident: str
    attnames: list[str] | None = None
    rowfilter: str | None = None
    identity_columns: list[str] | None = None
    related: list[list[str]] | None = None


@dataclass(frozen=True, slots=True)
class PublicationsFact:
    """Every publication, the requested one's members, and whether the judged role may create one."""

    requested: str | None
    judged_role: str
    judged_role_is_superuser: bool
    judged_role_can_create: bool
    publications: list[PublicationRow]
    members: list[PublicationMember]


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
    """(pg_publication columns, pg_publication_tables columns) this version has."""
    pub = "p.pubinsert, p.pubupdate, p.pubdelete, p.pubtruncate"
    pub += ", p.pubviaroot" if version_num >= 130000 else ", false AS pubviaroot"
    member = "pt.attnames::pg_catalog.text[] AS attnames, pt.rowfilter" if version_num >= 150000 else (
        "NULL::pg_catalog.text[] AS attnames, NULL::pg_catalog.text AS rowfilter")
    return pub, member


def _publications(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    pub_cols, member_cols = _columns(ctx.version_num)
    identity, related = _IDENTITY_COLUMNS, _RELATED
    if ctx.version_num < 120000:  # no generated columns, no pg_partition_tree()
        identity, related = identity.replace("AND a.attgenerated = ''", ""), "NULL::pg_catalog.json"
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
                  SELECT pt.schemaname::pg_catalog.text AS schema, pt.tablename::pg_catalog.text AS name,
                         {member_cols},
                         c.relreplident::pg_catalog.text AS relreplident,
                         {identity} AS identity_columns,
                         {related} AS related
                    FROM pg_catalog.pg_publication_tables AS pt
                    JOIN pg_catalog.pg_namespace AS n ON n.nspname = pt.schemaname
                    JOIN pg_catalog.pg_class AS c ON c.relnamespace = n.oid AND c.relname = pt.tablename
                   WHERE pt.pubname = %(pub)s) AS m) AS members
        """,
        {"pub": ctx.options.publication, "role": ctx.options.role},
    )


PUBLICATIONS = SqlFact.one(
    "publications",
    "every publication, the requested one's effective tables, and whether the judged role may create one",
    PublicationsFact,
    _publications,
)
