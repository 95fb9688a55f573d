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
    """A connectable, non-template database."""

    datname: str
    can_connect: bool


def _databases(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT d.datname::pg_catalog.text AS datname,
               pg_catalog.has_database_privilege(d.oid, 'CONNECT') AS can_connect
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
