"""The databases of the cluster an ``--all-databases`` run visits, and which facts belong to one database.

A database is visited when it accepts connections and is not a template (``datallowconn AND NOT
datistemplate``, like the peer tools that audit clusters); ``can_connect`` says whether the checker's role
holds CONNECT on it (directly, through PUBLIC or a role it inherits), so a database it may not enter is
reported without a connection attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import Fact, FactContext, SqlFact
from preflight.facts.objects import NOT_REPLICATED
from preflight.facts.publications import PUBLICATIONS
from preflight.facts.replication import SLOTS
from preflight.facts.roles import ROLE
from preflight.facts.selection import SCHEMAS, TABLES
from preflight.facts.server import SERVER


@dataclass(frozen=True, slots=True)
class DatabaseRow:
    """A connectable, non-template database."""

    datname: str
    can_connect: bool
    is_current: bool


def _databases(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT d.datname::pg_catalog.text AS datname,
               pg_catalog.has_database_privilege(d.oid, 'CONNECT') AS can_connect,
               (d.datname = pg_catalog.current_database()) AS is_current
          FROM pg_catalog.pg_database AS d
         WHERE d.datallowconn AND NOT d.datistemplate
         ORDER BY d.datname
        """,
        {},
    )


DATABASES = SqlFact.rows("databases", "the cluster's connectable, non-template databases and whether the checker "
                         "may CONNECT to each (read for --all-databases)", DatabaseRow, _databases)

# Facts whose rows depend on the database the session is connected to: read once per database.
# A check reading any of the first group judges one database; the rest of its facts are the cluster's.
# (``activity`` is the cluster's: slot creation in any database waits for every running xid, and its watch
# is paid once.)
DATABASE_SCOPED: tuple[Fact, ...] = (TABLES, SCHEMAS, ROLE, PUBLICATIONS, NOT_REPLICATED)
# Read in each database too (cheap, one row or one row per slot) because a row says "this database":
# the server fact (current database, its default_transaction_read_only) and slots (in_this_database).
ALSO_PER_DATABASE: tuple[Fact, ...] = (SERVER, SLOTS)


def judges_one_database(facts: tuple[Fact, ...]) -> bool:
    """A check reading a database-scoped fact runs once per database; the others once for the cluster."""
    scoped = {f.name for f in DATABASE_SCOPED}
    return any(f.name in scoped for f in facts)
