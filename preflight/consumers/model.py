"""What a consumer's own configuration implies, in one typed shape whatever its format.

``ConsumerConfig`` is what a format module reads from the file; ``ConsumerSettings`` is the part the checks
see (``Options.consumer``): how the consumer gets its publication, its heartbeat, whether it copies the tables
first, and where each value came from. The password is in neither: it is never read from the file.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from preflight.names import QualifiedName

# How the consumer gets its publication when it does not exist yet (Debezium's publication.autocreate.mode):
# ``disabled``: it expects the publication to exist; ``all_tables``: CREATE PUBLICATION ... FOR ALL TABLES (a
# superuser); ``filtered``: FOR TABLE with the selected tables (their owner), kept in step with the selection;
# ``no_tables``: an empty publication (CREATE on the database).
Autocreate = Literal["disabled", "all_tables", "filtered", "no_tables"]
AUTOCREATE_MODES: tuple[Autocreate, ...] = ("disabled", "all_tables", "filtered", "no_tables")


class Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Connection(Frozen):
    """Where the consumer connects; never its password (libpq's environment or a pgpass file supplies it)."""

    host: str | None = None
    port: int | None = Field(None, ge=1, le=65535)
    database: str | None = None
    user: str | None = None
    sslmode: str | None = None

    def dsn(self) -> str | None:
        """A libpq key=value DSN of what is set (None when nothing is: the libpq environment then)."""
        parts = [(k, v) for k, v in (("host", self.host), ("port", self.port), ("dbname", self.database),
                                     ("user", self.user), ("sslmode", self.sslmode)) if v not in (None, "")]
        if not parts:
            return None
        return " ".join(f"{k}={_quoted(str(v))}" for k, v in parts)


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class TableFilter(Frozen):
    """Debezium's regular-expression selection: comma-separated lists, each entry matched case-insensitively against
    the whole name (``schema`` for the schema lists, ``schema.table`` unquoted for the table lists). An include list
    wins over its exclude list; the schema filter and the table filter must both accept a table."""

    schema_include: tuple[str, ...] = ()
    schema_exclude: tuple[str, ...] = ()
    table_include: tuple[str, ...] = ()
    table_exclude: tuple[str, ...] = ()
    keys: dict[str, str] = Field(default_factory=dict)  # which file key each list came from (for messages)

    def is_empty(self) -> bool:
        return not (self.schema_include or self.schema_exclude or self.table_include or self.table_exclude)


class Selection(Frozen):
    """The tables as the consumer selects them: exact schema names, exact tables, or Debezium's regexes."""

    schemas: tuple[str, ...] = ()
    tables: tuple[QualifiedName, ...] = ()
    filter: TableFilter | None = None


class Heartbeat(Frozen):
    """The consumer's periodic write that keeps its slot moving on a quiet database."""

    key: str  # the file key that configures it (named in findings)
    query: str | None = None  # the statement as written (Debezium heartbeat.action.query)
    schema_name: str | None = None  # the table it writes, when the query could be read
    table: str | None = None
    writes: tuple[Literal["insert", "update"], ...] = ()
    creates_table: bool = False  # the consumer creates the table itself when missing (AWS DMS)
    understood: bool = True  # False: the query's target could not be read (said as info, never guessed)


class ConsumerSettings(Frozen):
    """What the checks read of the consumer's configuration (``Options.consumer``)."""

    format: str
    file: str
    autocreate: Autocreate = "disabled"
    initial_copy: bool = True
    heartbeat: Heartbeat | None = None
    failover_slot: bool = False
    sources: dict[str, str] = Field(default_factory=dict)  # option -> "file key", "command line" or "default ..."
    notes: tuple[str, ...] = ()

    def report_view(self) -> dict[str, object]:
        return {
            "file": self.file, "format": self.format, "publication_autocreate": self.autocreate,
            "initial_copy": self.initial_copy, "failover_slot": self.failover_slot,
            "heartbeat": None if self.heartbeat is None else {
                "key": self.heartbeat.key, "query": self.heartbeat.query, "schema": self.heartbeat.schema_name,
                "table": self.heartbeat.table, "writes": list(self.heartbeat.writes),
                "creates_table": self.heartbeat.creates_table, "understood": self.heartbeat.understood},
            "sources": dict(self.sources), "notes": list(self.notes),
        }


class ConsumerConfig(Frozen):
    """The whole configuration as read: the connection, the options it implies and the checks' settings."""

    connection: Connection
    profile: str | None  # None: the format names no consumer (the request body), --profile decides
    slot_name: str | None = None
    publication: str | None = None
    plugin: str | None = None
    selection: Selection = Selection()
    settings: ConsumerSettings


# Keys whose values are secrets in any consumer's configuration: never read, never shown.
SECRET_KEY = re.compile(r"(password|passwd|secret|jaas|credential|token|private[._-]?key|api[._-]?key)", re.I)
