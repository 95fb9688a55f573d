"""``pg-preflight demo``: a throwaway server seeded with realistic problems, checked, then removed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from preflight.interrupts import signals_deferred
from preflight.pgserver import LocalServer, create_server

DEMO_USER = "cdc_user"
DEMO_PASSWORD = "demo-only-password"
DEMO_DB = "shop"

# A server that looks like many real ones before their first CDC project: replica-level WAL, few
# slots (one taken by a forgotten standby), a disabled sender timeout, and tables without keys.
DEMO_SETTINGS = {"wal_level": "replica", "max_replication_slots": "2", "max_wal_senders": "4", "wal_sender_timeout": "0"}

SEED = [
    f"CREATE ROLE {DEMO_USER} LOGIN PASSWORD '{DEMO_PASSWORD}'",
    f"CREATE DATABASE {DEMO_DB} OWNER {DEMO_USER}",
    "SELECT pg_catalog.pg_create_physical_replication_slot('old_standby', true)",
]
SEED_DB = [
    "CREATE SCHEMA billing",
    'CREATE SCHEMA "Sales EU"',
    "CREATE TABLE public.customers (id bigint PRIMARY KEY, email text NOT NULL)",
    "CREATE TABLE public.audit_events (at timestamptz NOT NULL DEFAULT now(), event text)",
    "CREATE TABLE billing.invoices (id bigint PRIMARY KEY, customer_id bigint, total numeric)",
    "CREATE TABLE billing.invoice_line_items (invoice_id bigint NOT NULL, line int NOT NULL, amount numeric)",
    "CREATE UNIQUE INDEX invoice_line_items_key ON billing.invoice_line_items (invoice_id, line)",
    'CREATE TABLE "Sales EU"."Ünïcode Tæble" (id int PRIMARY KEY)',
    "CREATE UNLOGGED TABLE public.session_cache (k text PRIMARY KEY, v text)",
    f"ALTER SCHEMA billing OWNER TO {DEMO_USER}",
    f"ALTER TABLE billing.invoices OWNER TO {DEMO_USER}",
]


def seed(server: LocalServer) -> str:
    """Create the demo role, database and tables; return the DSN the checker uses."""
    server.execute(*SEED)
    server.execute(*SEED_DB, dbname=DEMO_DB)
    return server.dsn(user=DEMO_USER, password=DEMO_PASSWORD, dbname=DEMO_DB)


@contextlib.contextmanager
def demo_server() -> Iterator[tuple[LocalServer, str]]:
    """Start and seed the demo server; always remove it, on Ctrl-C and SIGTERM too (the CLI turns
    SIGTERM into an exception). ``create_server`` registers the server before it can start, so an
    interrupt at any moment finds it; removal itself is not cut short by a second Ctrl-C."""
    created: list[LocalServer] = []
    try:
        server = create_server(DEMO_SETTINGS, prefix="pg-preflight-demo-", register=created.append)
        yield server, seed(server)
    finally:
        with signals_deferred():
            for server in created:
                server.destroy()
