"""Sustained write load like ``pgbench``: short transactions from several clients, each statement sent
on its own, so that every client spends part of each transaction "idle in transaction" holding an xid.

``WriteLoad`` runs ``clients`` threads, each with its own connection (psycopg, autocommit off, as the
application role given by the DSN): ``BEGIN; UPDATE; SELECT; INSERT; COMMIT`` in a loop on
``load.accounts`` / ``load.history`` (both keyed, created by ``prepare``). It stops by itself after
``seconds`` or ``max_transactions`` per client, whichever comes first, and ``stop()`` (the context
manager's exit) ends it sooner. ``started()`` waits (bounded) until every client has committed, so a
caller measures under load, not before it.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import psycopg

ACCOUNTS = 100


def prepare(admin_dsn: str, reader: str | None = None) -> None:
    """The load's tables (keyed: a healthy source); ``reader`` may read them (the CDC role's usual grants)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA IF NOT EXISTS load")
        conn.execute("CREATE TABLE IF NOT EXISTS load.accounts (id int PRIMARY KEY, balance bigint NOT NULL)")
        conn.execute("CREATE TABLE IF NOT EXISTS load.history (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
                     " account int NOT NULL, delta int NOT NULL, at timestamptz NOT NULL DEFAULT now())")
        conn.execute("INSERT INTO load.accounts SELECT g, 0 FROM generate_series(1, %s) AS g ON CONFLICT DO NOTHING",
                     (ACCOUNTS,))
        if reader:
            conn.execute(psycopg.sql.SQL("GRANT USAGE ON SCHEMA load TO {}").format(psycopg.sql.Identifier(reader)))
            conn.execute(psycopg.sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA load TO {}").format(
                psycopg.sql.Identifier(reader)))


@dataclass
class WriteLoad:
    """Short write transactions from ``clients`` threads until ``seconds`` pass or ``stop()``."""

    dsn: str
    clients: int = 4
    seconds: float = 120.0
    max_transactions: int = 1_000_000
    committed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> WriteLoad:
        self.committed = [0] * self.clients
        deadline = time.monotonic() + self.seconds
        for n in range(self.clients):
            thread = threading.Thread(target=self._client, args=(n, deadline), name=f"write-load-{n}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def started(self, timeout: float = 30.0) -> WriteLoad:
        """Wait until every client has committed at least once (bounded), or raise with the clients' errors."""
        deadline = time.monotonic() + timeout
        while not all(self.committed):
            if self.errors or time.monotonic() > deadline:
                raise RuntimeError(f"the write load did not start: {self.errors or 'timeout'}")
            time.sleep(0.01)
        return self

    def _client(self, n: int, deadline: float) -> None:
        rng = random.Random(n)
        try:
            with psycopg.connect(self.dsn, application_name=f"write-load-{n}") as conn:
                while not self._stop.is_set() and time.monotonic() < deadline \
                        and self.committed[n] < self.max_transactions:
                    account, delta = rng.randint(1, ACCOUNTS), rng.randint(-500, 500)
                    # psycopg sends BEGIN, then each statement on its own round trip: between them the session
                    # is "idle in transaction" holding the xid the UPDATE took, as with pgbench
                    conn.execute("UPDATE load.accounts SET balance = balance + %s WHERE id = %s", (delta, account))
                    conn.execute("SELECT balance FROM load.accounts WHERE id = %s", (account,)).fetchone()
                    conn.execute("INSERT INTO load.history (account, delta) VALUES (%s, %s)", (account, delta))
                    conn.commit()
                    self.committed[n] += 1
        except psycopg.Error as exc:
            if not self._stop.is_set():
                self.errors.append(f"client {n}: {exc}")

    def stop(self) -> int:
        """Stop every client (each ends its current transaction's round trip first); the transactions committed."""
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        return sum(self.committed)

    def __enter__(self) -> WriteLoad:
        return self.start().started()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
