"""The catalog snapshot: named facts, gathered once, and the snapshot the checks read.

Each fact is named, with version-specific SQL chosen explicitly from
``server_version_num``. Its query returns one JSON value, so a snapshot is plain data that can be
saved, reviewed and re-checked without a server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from preflight.options import Options


class ServerInfo(BaseModel):
    """What the connection itself told us, before any query."""

    model_config = ConfigDict(extra="forbid")

    version_num: int
    version: str
    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    user: str | None = None
    ssl: bool | None = None


class ConnectOutcome(BaseModel):
    """How connecting went: latency, or the classified failure."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    latency_ms: float | None = None
    failure_kind: str | None = None
    failure_message: str | None = None
    advice: str | None = None
    detail: str | None = None


class Snapshot(BaseModel):
    """Everything the checks may read. A failed fact is kept as its failure (the cause)."""

    model_config = ConfigDict(extra="forbid")

    connect: ConnectOutcome
    server: ServerInfo | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    failures: dict[str, str] = Field(default_factory=dict)


class FactUnavailable(Exception):
    """A fact a check needs was not gathered; the check becomes ``error`` with this cause."""

    def __init__(self, name: str, cause: str) -> None:
        super().__init__(f"fact '{name}' unavailable: {cause}")
        self.name = name
        self.cause = cause


@dataclass(frozen=True)
class FactContext:
    """What a fact may use to choose its SQL."""

    version_num: int
    options: Options


# "rows": a JSON array built by the server; "row": one JSON object; "records": plain result rows read
# as dicts (for the per-table facts: no JSON text to hold and parse, a third of the bytes on the wire).
# SQL shared by the facts that judge a role or read pg_stat_activity.
# The judged role (--role, else the session's role) by name, and by OID: the OID form yields NULL for a
# role that does not exist, so has_*_privilege / pg_has_role return NULL instead of failing the fact.
JUDGED_ROLE_NAME = "COALESCE(%(role)s::pg_catalog.text, CURRENT_USER::pg_catalog.text)"
JUDGED_ROLE = f"(SELECT jr.oid FROM pg_catalog.pg_roles AS jr WHERE jr.rolname = {JUDGED_ROLE_NAME})"
# Whether the checker sees other roles' sessions in pg_stat_activity (otherwise their columns read NULL).
CHECKER_SEES_ALL_SESSIONS = (
    "(COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = CURRENT_USER), false)"
    " OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_stats', 'USAGE'))"
)

# The checker's own replication-path proof: a walsender named like the session. It connects while the
# catalog is read (to overlap the two connections' set-up), so the connection counts leave it out.
# Takes the parameter %(app)s (``APPLICATION_NAME``); ``a`` is the pg_stat_activity row.
NOT_THE_CHECKERS_PROBE = "(a.backend_type IS DISTINCT FROM 'walsender' OR a.application_name IS DISTINCT FROM %(app)s)"

Shape = Literal["rows", "row", "records"]


@dataclass(frozen=True)
class SqlFact:
    """One fact read by one catalog query; ``shape`` says whether it returns a list or one object."""

    name: str
    doc: str
    build: Callable[[FactContext], tuple[str, dict[str, Any]]]
    shape: Shape = "rows"


@dataclass(frozen=True)
class ProbeFact:
    """A fact that is not a catalog read (its own connection, a temporary slot): bounded and leak-free."""

    name: str
    doc: str
    run: Callable[[Any, FactContext], Any]


Fact = SqlFact | ProbeFact


def wrap_json(query: str, shape: Shape) -> str:
    """Make a query return one JSON value: an array of row objects, or one object (null if none)."""
    if shape == "row":
        return f"SELECT pg_catalog.row_to_json(q) FROM ({query}) AS q LIMIT 1"
    return f"SELECT COALESCE(pg_catalog.json_agg(q), '[]'::pg_catalog.json) FROM ({query}) AS q"
