"""What a relation is to logical replication, in one place: whether a publication can carry it, and whether
its replica identity is usable (UPDATE and DELETE of a published table fail on the source without one).

The checks ask in Python about rows they hold; a query asks in SQL about relations it reads (another
publication's tables). The SQL is written from the same table as the Python, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar

from preflight.pg_versions import PARTITIONED_PUBLICATION, supports


class Relation(Protocol):
    """What ``is_publishable`` reads of a row (``pg_class``'s own columns)."""

    @property
    def relkind(self) -> str: ...
    @property
    def relpersistence(self) -> str: ...


R = TypeVar("R", bound=Relation)


_PLAIN, _PLAIN_OR_PARTITIONED = ("r",), ("r", "p")


def publishable_kinds(version_num: int) -> tuple[str, ...]:
    """The ``relkind``s a publication can carry: plain tables, and partitioned ones from 13."""
    return _PLAIN_OR_PARTITIONED if supports(version_num, PARTITIONED_PUBLICATION) else _PLAIN


def is_publishable(row: Relation, version_num: int) -> bool:
    """Whether a publication can carry the relation: a permanent plain table, or (13+) a partitioned one."""
    return row.relpersistence == "p" and row.relkind in publishable_kinds(version_num)


def publishable_rows(rows: Iterable[R], version_num: int) -> list[R]:
    """The rows a publication can carry (``is_publishable`` of each), the version's kinds asked once: a check
    filters every selected table (100k) this way."""
    kinds = publishable_kinds(version_num)
    return [row for row in rows if row.relpersistence == "p" and row.relkind in kinds]


# By pg_class.relreplident, the pg_index flag of the index that makes the identity usable: DEFAULT needs the
# primary key, USING INDEX the index marked for it (a dropped one leaves the setting, acting as NOTHING); FULL
# needs none. NOTHING, and any other value, is never usable.
IDENTITY_NEEDS: dict[str, str | None] = {"f": None, "d": "indisprimary", "i": "indisreplident"}
_NEVER = "never"


def _usable(relreplident: str, has_primary_key: bool, has_identity_index: bool) -> bool:
    need = IDENTITY_NEEDS.get(relreplident, _NEVER)
    return need is None or (need == "indisprimary" and has_primary_key) or (
        need == "indisreplident" and has_identity_index)


# Every answer of ``_usable`` for the settings PostgreSQL has: asked once per table (100k tables), a lookup.
_USABLE = {(setting, key, index): _usable(setting, key, index)
           for setting in (*IDENTITY_NEEDS, "n") for key in (False, True) for index in (False, True)}


def has_usable_identity(relreplident: str, has_primary_key: bool, has_identity_index: bool) -> bool:
    """Whether a relation's replica identity is usable, from its setting and which of its indexes exist."""
    usable = _USABLE.get((relreplident, has_primary_key, has_identity_index))
    return _usable(relreplident, has_primary_key, has_identity_index) if usable is None else usable


def no_usable_identity_sql(relation: str) -> str:
    """SQL: the ``pg_class`` row ``relation`` (an alias) has no usable replica identity (``has_usable_identity``
    written as a condition on the catalogs)."""
    usable = [f"({relation}.relreplident = '{setting}'"
              + (f" AND EXISTS (SELECT 1 FROM pg_catalog.pg_index AS ri WHERE ri.indrelid = {relation}.oid"
                 f" AND ri.{flag})" if flag else "") + ")"
              for setting, flag in IDENTITY_NEEDS.items()]
    return f"(NOT ({' OR '.join(usable)}))"
