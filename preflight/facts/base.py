"""The catalog snapshot: named facts, gathered once, and the snapshot the checks read.

Each fact is named, with version-specific SQL chosen explicitly from ``server_version_num``, and
declares its row model beside its SQL: a frozen, slotted dataclass whose fields are the query's
columns. A snapshot holds those rows; saved, it is plain JSON that can be reviewed and re-checked
without a server, and is validated against the row models when loaded.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from functools import cache
from types import UnionType
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, Union, cast, get_args, get_origin, get_type_hints

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
    """Everything the checks may read: each fact's value is its row model(s). A failed fact is kept as its
    failure (the cause)."""

    model_config = ConfigDict(extra="forbid")

    connect: ConnectOutcome
    server: ServerInfo | None = None
    facts: dict[str, Any] = Field(default_factory=dict)
    failures: dict[str, str] = Field(default_factory=dict)


class ProbeStatus(StrEnum):
    """How a probe ended: proven, failed (with a kind), or not run (with a reason)."""

    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


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

# A pg_stat_activity row ``a`` the checker may not see (its columns read NULL) that is a client backend
# of another role, as far as the visible columns tell: auxiliary processes and launchers have no user or
# no database, and walsenders are known by pid to everyone (pg_stat_get_wal_senders shows every pid).
# Autovacuum and parallel workers cannot be told apart from client backends without pg_read_all_stats.
HIDDEN_CLIENT_SESSION = (
    "(a.query = '<insufficient privilege>' AND a.usesysid IS NOT NULL AND a.datid IS NOT NULL"
    " AND a.pid <> ALL(ARRAY(SELECT w.pid FROM pg_catalog.pg_stat_get_wal_senders() AS w)))"
)

class Scope(StrEnum):
    """What a fact's rows depend on: the server alone, or also the database the session is connected to.

    ``database``: the rows change with the connected database: its catalogs (pg_class, pg_namespace,
    pg_publication, pg_extension, pg_proc, large objects), privileges on it or on its objects, a
    ``current_database()`` column, or a setting a database can override (``ALTER DATABASE ... SET``).
    ``--all-databases`` reads such a fact in every database, and a check reading one (in ``facts``) runs per
    database. ``cluster``: the same rows from any database (pg_settings rows no database can override,
    slots, walsenders, sessions, WAL statistics): read once.
    """

    CLUSTER = "cluster"
    DATABASE = "database"


# "rows": a JSON array built by the server; "row": one JSON object (one row always comes back);
# "optional_row": one JSON object or null; "records": plain result rows built straight into the row model
# (for the per-table facts: no JSON text to hold and parse, a third of the bytes on the wire).
Shape = Literal["rows", "row", "optional_row", "records"]

V = TypeVar("V")  # what a fact holds: list[Row], Row, or Row | None
R = TypeVar("R")  # the row model: a frozen, slotted dataclass
BuildSql = Callable[[FactContext], tuple[str, dict[str, Any]]]
# What a fact does after the pipeline with what it read (on the catalog connection, no transaction kept open):
# e.g. read again what the first reading found, to tell what lasts from what passes. It may wait (bounded).
FollowUp = Callable[[Any, Any, FactContext], Any]
# A database-scoped fact whose rows are the cluster's but for a mark of the connected database: the value any
# database reads, marked for the named one, is the value that database reads (``--all-databases`` reads it once).
MarkDatabase = Callable[[Any, str], Any]


@dataclass(frozen=True)
class SqlFact(Generic[V]):
    """One fact read by one catalog query into its row model; ``ctx.fact(F)`` is typed by ``V``.

    Build one with ``SqlFact.rows`` (a list of rows), ``SqlFact.one`` (exactly one row) or
    ``SqlFact.optional`` (one row or none). The column names of the query are the row model's fields.
    ``follow``: run after the pipeline with the value read, returns the value kept (a quiet server pays
    nothing when it has nothing to follow up); its exception is the fact's failure.
    ``scope`` is required: whether the rows depend on the connected database (``Scope``).
    ``for_database``: a database-scoped fact whose rows are the same in every database but for which one is
    the connected database: the value read in one database, marked for another (``MarkDatabase``).
    ``same_settings``: that holds only between databases whose sessions start with the same settings (neither
    has settings stored for it, ``ALTER DATABASE ... SET``, and both have the same encoding).
    """

    name: str
    doc: str
    row: type[Any]
    build: BuildSql
    shape: Shape = "rows"
    follow: FollowUp | None = None
    scope: Scope = field(kw_only=True)
    for_database: MarkDatabase | None = field(default=None, kw_only=True)
    same_settings: bool = field(default=False, kw_only=True)

    def __post_init__(self) -> None:
        require_scope(self.name, self.scope)

    @staticmethod
    def rows(name: str, doc: str, row: type[R], build: BuildSql, *, scope: Scope,
             records: bool = False, for_database: MarkDatabase | None = None,
             same_settings: bool = False) -> SqlFact[list[R]]:
        """Many rows; ``records=True`` reads plain result rows (cheapest per row: for per-table facts)."""
        return SqlFact[list[R]](name, doc, row, build, "records" if records else "rows", scope=scope,
                                for_database=for_database, same_settings=same_settings)

    @staticmethod
    def one(name: str, doc: str, row: type[R], build: BuildSql, *, scope: Scope,
            follow: FollowUp | None = None, for_database: MarkDatabase | None = None,
            same_settings: bool = False) -> SqlFact[R]:
        """A query that always returns exactly one row."""
        return SqlFact[R](name, doc, row, build, "row", follow, scope=scope, for_database=for_database,
                          same_settings=same_settings)

    @staticmethod
    def optional(name: str, doc: str, row: type[R], build: BuildSql, *, scope: Scope) -> SqlFact[R | None]:
        """A query that returns one row or none (e.g. a view this version does not have)."""
        return SqlFact[R | None](name, doc, row, build, "optional_row", scope=scope)

    @property
    def value_type(self) -> Any:
        """The type of the value held in a snapshot (what a saved snapshot is validated against)."""
        if self.shape in ("rows", "records"):
            return list[self.row]  # type: ignore[name-defined]
        return self.row if self.shape == "row" else self.row | None

    def decode(self, value: Any) -> V:
        """Row models from the server's JSON (no validation: the query is ours, its types are known)."""
        build = decoder(self.value_type)
        return cast(V, value if build is None else build(value))


@dataclass(frozen=True)
class ProbeFact(Generic[V]):
    """A fact that is not a catalog read (its own connection, a temporary slot): bounded and leak-free."""

    name: str
    doc: str
    row: type[V]
    run: Callable[[Any, FactContext], V]
    scope: Scope = field(kw_only=True)

    def __post_init__(self) -> None:
        require_scope(self.name, self.scope)

    @property
    def value_type(self) -> Any:
        return self.row


Fact = SqlFact[Any] | ProbeFact[Any]


def require_scope(name: str, scope: object) -> None:
    """A fact without a valid scope cannot be defined (a plugin's fails to load, saying why)."""
    if not isinstance(scope, Scope):
        raise TypeError(f"fact {name!r}: scope must be Scope.CLUSTER or Scope.DATABASE (where its rows come from), "
                        f"not {scope!r}")


@cache
def decoder(tp: Any) -> Callable[[Any], Any] | None:
    """A function building ``tp`` (dataclasses, lists and optionals of them) from JSON values; None: as is.

    Built once per type: per row it is one constructor call per dataclass, nothing else.
    """
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = get_type_hints(tp)
        nested = {f.name: d for f in dataclasses.fields(tp) if (d := decoder(hints[f.name])) is not None}
        if not nested:
            return lambda value: tp(**value)

        def build(value: dict[str, Any]) -> Any:
            return tp(**{k: (nested[k](v) if k in nested else v) for k, v in value.items()})

        return build
    origin, args = get_origin(tp), get_args(tp)
    if origin is list:
        inner = decoder(args[0])
        return None if inner is None else (lambda value: None if value is None else [inner(x) for x in value])
    if origin in (Union, UnionType):
        decoders = [d for a in args if a is not type(None) and (d := decoder(a)) is not None]
        if len(decoders) == 1:
            only = decoders[0]
            return lambda value: None if value is None else only(value)
    return None


def row_fields(row: type[Any]) -> list[tuple[str, str]]:
    """(field, type) of a row model, for ``list-facts``."""
    hints = get_type_hints(row)
    return [(f.name, describe_type(hints[f.name])) for f in dataclasses.fields(row)]


def row_models(tp: Any) -> list[type[Any]]:
    """The row model and every dataclass and enum in its fields, each once, outermost first."""
    found: list[type[Any]] = []

    def visit(t: Any) -> None:
        if isinstance(t, type) and (dataclasses.is_dataclass(t) or issubclass(t, Enum)):
            if t in found:
                return
            found.append(t)
            for hint in (get_type_hints(t).values() if dataclasses.is_dataclass(t) else ()):
                visit(hint)
        for arg in get_args(t):
            visit(arg)

    visit(tp)
    return found


def describe_type(tp: Any) -> str:
    """A type as a plugin author writes it: ``list[TableRow]``, ``str | None``."""
    origin, args = get_origin(tp), get_args(tp)
    if origin in (Union, UnionType):
        return " | ".join(describe_type(a) for a in args)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(describe_type(a) for a in args)}]"
    if tp is type(None):
        return "None"
    return tp.__name__ if isinstance(tp, type) else str(tp)


def wrap_json(query: str, shape: Shape) -> str:
    """Make a query return one JSON value: an array of row objects, or one object (null if none)."""
    if shape in ("row", "optional_row"):
        return f"SELECT pg_catalog.row_to_json(q) FROM ({query}) AS q LIMIT 1"
    return f"SELECT COALESCE(pg_catalog.json_agg(q), '[]'::pg_catalog.json) FROM ({query}) AS q"
