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
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.abc import Buffer
from psycopg.adapt import Loader
from psycopg.pq import TransactionStatus
from psycopg.types.string import TextLoader as StrictTextLoader

from preflight.connection.dsn import Dsn
from preflight.terminal import decode

APPLICATION_NAME = "pg-preflight"


def session_settings(statement_timeout: float, lock_timeout: float) -> dict[str, int | str]:
    """The settings every session of the checker runs with (as startup ``options`` or ``SET LOCAL``)."""
    stmt_ms, lock_ms = int(statement_timeout * 1000), int(lock_timeout * 1000)
    return {
        "statement_timeout": stmt_ms,
        "lock_timeout": lock_ms,
        "idle_in_transaction_session_timeout": max(stmt_ms * 2, 60000),
        "search_path": "",
    }


def session_kwargs(connect_timeout: float, statement_timeout: float, lock_timeout: float) -> dict[str, Any]:
    """Connection parameters that make the session safe from its first statement, at no round trip."""
    settings = session_settings(statement_timeout, lock_timeout)
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


# Connections opened without the ``options`` startup parameter, and the ``SET LOCAL`` statements that give
# each of their transactions the session's settings (``local_settings``).
_WITHOUT_OPTIONS: weakref.WeakKeyDictionary[psycopg.Connection[Any], list[str]] = weakref.WeakKeyDictionary()


def refuses_options(exc: BaseException) -> bool:
    """A pooler (PgBouncer with its default ``ignore_startup_parameters``) refused the ``options`` parameter."""
    return "unsupported startup parameter" in str(exc) and "options" in str(exc)


def connect(dsn: Dsn, kwargs: dict[str, Any], **more: Any) -> tuple[psycopg.Connection[Any], bool]:
    """Connect with ``kwargs``; if the endpoint refuses the ``options`` startup parameter, once more without
    it (as a plain libpq client connects). Returns the connection and whether ``options`` was dropped."""
    try:
        return psycopg.connect(dsn.raw or "", prepare_threshold=None, **kwargs, **more), False
    except psycopg.OperationalError as exc:
        if not refuses_options(exc):
            raise
    plain = dict(kwargs, options="")  # libpq sends no empty options parameter (the DSN's own is overridden)
    return psycopg.connect(dsn.raw or "", prepare_threshold=None, **plain, **more), True


def open_session(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> psycopg.Connection[Any]:
    """Open the read-only session. Raises psycopg.OperationalError on failure (see ``classify``).

    Through a pooler that refuses the ``options`` startup parameter the settings ride as ``SET LOCAL`` in
    each catalog transaction's pipeline instead (``local_settings``): a session ``SET`` may not stick under
    transaction pooling, and would leak onto the pooler's server connection for other clients.
    """
    kwargs = connect_kwargs(dsn, connect_timeout, statement_timeout, lock_timeout)
    conn, dropped = connect(dsn, kwargs, autocommit=False)
    conn.read_only = True
    tolerate_undecodable_text(conn)
    if dropped:
        _WITHOUT_OPTIONS[conn] = [
            f"SET LOCAL {name} = {value if isinstance(value, int) else repr(value)}"
            for name, value in session_settings(statement_timeout, lock_timeout).items()]
    return conn


READ_ONLY = "BEGIN READ ONLY"


@contextmanager
def transaction_in_one_round(conn: psycopg.Connection[Any], begin: str = READ_ONLY,
                             end: str | None = "ROLLBACK") -> Iterator[None]:
    """One transaction sent whole in one pipeline: ``begin``, the statements the caller queues, ``end``, one
    Sync: one round trip. (In a pipeline psycopg's own ``BEGIN`` waits for its answer, a round trip of its own
    per transaction; ``begin`` is written here instead, as psycopg writes it for a read-only session.)

    The connection is left as it was (idle, not in autocommit), the transaction rolled back on failure. With
    ``end=None`` the transaction stays open for the caller to end with ``end_transaction``.
    """
    conn.autocommit = True  # psycopg adds no BEGIN of its own
    ok = False
    try:
        with conn.pipeline():
            conn.execute(begin)
            yield
            if end is not None:
                conn.execute(end)
        ok = True
    finally:
        if not ok or end is not None:
            end_transaction(conn, "ROLLBACK")


def end_transaction(conn: psycopg.Connection[Any], statement: str = "ROLLBACK") -> None:
    """End the transaction ``transaction_in_one_round`` left open (if any) with ``statement``, and give the
    connection back its transactions (not in autocommit)."""
    if conn.closed:
        return
    status = conn.info.transaction_status
    if status == TransactionStatus.INTRANS and statement != "ROLLBACK":
        conn.execute(statement)  # a COMMIT that fails is the caller's to hear
    elif status != TransactionStatus.IDLE:
        with suppress(psycopg.Error):
            conn.execute("ROLLBACK")
    if not conn.broken and conn.info.transaction_status == TransactionStatus.IDLE:
        conn.autocommit = False


def local_settings(conn: psycopg.Connection[Any]) -> list[str]:
    """The ``SET LOCAL`` statements a transaction of ``conn`` starts with: none when the startup ``options``
    carried the settings (the common, direct path pays nothing)."""
    return _WITHOUT_OPTIONS.get(conn, [])


def used_startup_options(conn: psycopg.Connection[Any]) -> bool:
    """Whether the session's settings went in the startup packet (False: a pooler refused ``options``)."""
    return conn not in _WITHOUT_OPTIONS


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
