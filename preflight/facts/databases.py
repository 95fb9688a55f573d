"""The databases of the cluster an ``--all-databases`` run visits, and which checks judge one database.

A database is visited when it accepts connections and is not a template (``datallowconn AND NOT
datistemplate``, like the peer tools that audit clusters); ``can_connect`` says whether the checker's role
holds CONNECT on it (directly, through PUBLIC or a role it inherits), so a database it may not enter is
reported without a connection attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import Fact, FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class DatabaseRow:
    """A connectable, non-template database: its encoding, and whether settings are stored for it (``ALTER
    DATABASE ... SET``, ``ALTER ROLE ... IN DATABASE ... SET``): sessions of two databases without, of one
    encoding, start with the same settings (None: a snapshot from before, unknown)."""

    datname: str
    can_connect: bool
    encoding: str | None = None
    stored_settings: bool | None = None

    def same_settings(self, other: DatabaseRow) -> bool:
        """Whether a session here starts with the settings a session in ``other`` starts with."""
        return (self.stored_settings is False and other.stored_settings is False
                and self.encoding is not None and self.encoding == other.encoding)


def _databases(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT d.datname::pg_catalog.text AS datname,
               pg_catalog.has_database_privilege(d.oid, 'CONNECT') AS can_connect,
               pg_catalog.pg_encoding_to_char(d.encoding)::pg_catalog.text AS encoding,
               EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting AS s WHERE s.setdatabase = d.oid) AS stored_settings
          FROM pg_catalog.pg_database AS d
         WHERE d.datallowconn AND NOT d.datistemplate
         ORDER BY d.datname
        """,
        {},
    )


DATABASES = SqlFact.rows("databases", "the cluster's connectable, non-template databases and whether the checker "
                         "may CONNECT to each (read for --all-databases)", DatabaseRow, _databases,
                         scope=Scope.CLUSTER)


def judges_one_database(facts: tuple[Fact, ...]) -> bool:
    """A check that needs (``facts``) a database-scoped fact judges one database: it runs once per database.

    A cluster-wide check may read a database-scoped fact as optional (``optional_facts``): the provider's
    signals, the session's ``wal_sender_timeout``, the replication proof's own walsender: it reads the DSN's
    database's.
    """
    return any(f.scope is Scope.DATABASE for f in facts)
