"""The safe session every catalog read runs in.

The session is read-only (psycopg opens every transaction with ``BEGIN READ ONLY``; the server's
own ``default_transaction_read_only`` stays visible to the writer check), bounded by ``statement_timeout``,
``lock_timeout`` and ``connect_timeout``, named ``application_name=pg-preflight`` and runs with an
empty ``search_path`` so that only schema-qualified catalog names resolve.

Text comes back in the database's encoding (the server would refuse to send a ``SQL_ASCII`` database's
invalid bytes as UTF-8), and bytes that are not valid in it (a ``SQL_ASCII`` database can hold any
bytes in a name; they are read as UTF-8) are decoded visibly instead of stopping the report: see
``preflight.terminal.decode``; ``preflight.sqltext`` refuses to write SQL for such a name.
"""

from __future__ import annotations

import json
import math
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.types.string import TextLoader as StrictTextLoader

from preflight.connection.dsn import Dsn
from preflight.terminal import decode

APPLICATION_NAME = "pg-preflight"


def session_kwargs(connect_timeout: float, statement_timeout: float, lock_timeout: float) -> dict[str, Any]:
    """Connection parameters that make the session safe from its first statement, at no round trip."""
    stmt_ms, lock_ms = int(statement_timeout * 1000), int(lock_timeout * 1000)
    settings = {
        "statement_timeout": stmt_ms,
        "lock_timeout": lock_ms,
        "idle_in_transaction_session_timeout": max(stmt_ms * 2, 60000),
        "search_path": "",
    }
    return {
        "connect_timeout": max(1, math.ceil(connect_timeout)),
        "application_name": APPLICATION_NAME,
        "options": " ".join(f"-c {name}={value}" for name, value in settings.items()),
    }


def connect_kwargs(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> dict[str, Any]:
    """``session_kwargs`` for this DSN: the user's own ``options`` are kept, ours appended (ours win)."""
    kwargs = session_kwargs(connect_timeout, statement_timeout, lock_timeout)
    user_options = dsn.params.get("options")
    if user_options:
        kwargs["options"] = user_options + " " + kwargs["options"]
    return kwargs


def open_session(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> psycopg.Connection[Any]:
    """Open the read-only session. Raises psycopg.OperationalError on failure (see ``classify``)."""
    kwargs = connect_kwargs(dsn, connect_timeout, statement_timeout, lock_timeout)
    conn = psycopg.connect(dsn.raw or "", autocommit=False, prepare_threshold=None, **kwargs)
    conn.read_only = True
    tolerate_undecodable_text(conn)
    return conn


TEXT_TYPES = ("text", "varchar", "bpchar", "name", '"char"')


def strict_text(cursor: psycopg.Cursor[Any]) -> None:
    """psycopg's own text loaders on this cursor (C: a fifth of the cost per value of the tolerant ones; the
    per-table results hold a million names at 100k tables). They raise ``UnicodeDecodeError`` on bytes that
    are invalid in the encoding: the caller then reads the result again with the session's tolerant ones.
    Nothing changes on a ``SQL_ASCII`` connection, whose text psycopg's loaders would return as bytes.
    """
    if cursor.connection.info.encoding == "ascii":
        return
    for name in TEXT_TYPES:
        cursor.adapters.register_loader(name, StrictTextLoader)


def tolerate_undecodable_text(conn: psycopg.Connection[Any]) -> None:
    """Decode text and JSON results so that bytes invalid in the client encoding survive, visibly, as
    ``preflight.terminal.decode`` maps them (psycopg would raise, or return bytes on SQL_ASCII)."""
    encoding = "utf-8" if conn.info.encoding == "ascii" else conn.info.encoding

    class TextLoader(Loader):
        def load(self, data: Buffer) -> str:
            return decode(bytes(data), encoding)

    class JsonLoader(Loader):
        def load(self, data: Buffer) -> Any:
            return json.loads(decode(bytes(data), encoding))

    for name in TEXT_TYPES:
        conn.adapters.register_loader(name, TextLoader)
    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, JsonLoader)
