"""The read-only proof: with log_statement=all, every statement pg-preflight sends is a read, and the
server holds exactly the same objects, slots and publications afterwards."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable

import psycopg
import pytest

from preflight import pgserver
from tests.conftest import run_cli
from tests.servers import Server, add_cdc_role

# SET LOCAL changes only this transaction (jit off for the big catalog query), never the server.
READS = re.compile(r"^\s*(SELECT|WITH|BEGIN (ISOLATION LEVEL REPEATABLE READ )?READ ONLY|ROLLBACK|COMMIT|SHOW|"
                   r"IDENTIFY_SYSTEM|SET LOCAL jit = off$|SET TRANSACTION SNAPSHOT '[0-9A-F-]+|"
                   r"SET LOCAL (statement_timeout|lock_timeout|idle_in_transaction_session_timeout|search_path|transaction_timeout))\b",
                   re.IGNORECASE)
INVENTORY = [
    "SELECT count(*) FROM pg_class",
    "SELECT count(*) FROM pg_roles",
    "SELECT count(*) FROM pg_namespace",
    "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots",
    "SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication",
    "SELECT string_agg(relname::text || relreplident::text, ',' ORDER BY relname) FROM pg_class WHERE relkind = 'r'",
    "SELECT count(*) FROM pg_db_role_setting",
]


def inventory(server: Server) -> list[object]:
    return [server.execute(q)[0][0] for q in INVENTORY]


def wait_for_log(server: pgserver.LocalServer, timeout: float = 20) -> None:
    """Poll until the log shows a statement sent after the run, so every line of the run is in the file."""
    marker = f"pg-preflight test marker {secrets.token_hex(6)}"
    server.execute(f"SELECT '{marker}'")
    deadline = time.monotonic() + timeout
    while marker not in (server.root / "server.log").read_text(errors="replace"):
        assert time.monotonic() < deadline, "the server log never showed the marker statement"
        time.sleep(0.05)


def logged_statements(server: pgserver.LocalServer, since: int) -> list[str]:
    """Statements logged for application pg-preflight (log_line_prefix '%a|'), continuation lines joined."""
    text = (server.root / "server.log").read_text(errors="replace")[since:]
    found: list[str] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if current is not None and (line.startswith(("\t", " ")) or not line):
            current.append(line.strip())
            continue
        if current is not None:
            found.append(" ".join(x for x in current if x))
            current = None
        app, _, rest = line.partition("|")
        match = re.search(r"(?:statement|execute [^:]*): (.*)$", rest)
        if app == "pg-preflight" and match:
            current = [match.group(1)]
    if current is not None:
        found.append(" ".join(x for x in current if x))
    return found


@pytest.fixture()
def logged(servers: Callable[..., Server]) -> pgserver.LocalServer:
    server = servers(log_statement="all", log_line_prefix="%a|", log_min_messages="warning")
    if not isinstance(server, pgserver.LocalServer):
        pytest.skip("reads the server log: local backend")
    server.execute("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY)",
                   "CREATE TABLE app.events (at timestamptz)", "CREATE PUBLICATION pub FOR TABLE app.orders",
                   "SELECT pg_create_physical_replication_slot('ha')")
    return server


def test_full_check_only_reads(logged: pgserver.LocalServer) -> None:
    dsn = add_cdc_role(logged)
    before = inventory(logged)
    since = len((logged.root / "server.log").read_text(errors="replace"))
    with psycopg.connect(logged.admin_dsn()) as holder:
        holder.execute("SELECT pg_catalog.txid_current()")  # an xid held through the run: the watch reads it again
        result = run_cli("check", dsn, "-s", "app", "--slot-name", "cdc", "--publication", "pub", "--format", "json",
                         "--max-xact-age", "0.5")
        holder.rollback()
    assert "Traceback" not in result.output
    wait_for_log(logged)
    statements = logged_statements(logged, since)
    assert len(statements) >= 5, "the log shows the checker's statements"
    assert len([s for s in statements if "_current_snapshot()" in s]) >= 3, "the watch's readings are logged"
    writes = [s for s in statements if not READS.match(s)]
    assert writes == []
    assert not [s for s in statements if re.search(r"pg_(create|drop)_\w*replication_slot", s)]
    assert inventory(logged) == before


def test_probe_creates_only_a_temporary_slot_that_is_gone_afterwards(logged: pgserver.LocalServer) -> None:
    since = len((logged.root / "server.log").read_text(errors="replace"))
    result = run_cli("check", logged.dsn(), "--plugin", "test_decoding", "--probe", "--format", "json")
    assert "Traceback" not in result.output
    wait_for_log(logged)
    statements = logged_statements(logged, since)
    creates = [s for s in statements if "pg_create_logical_replication_slot" in s]
    assert len(creates) == 1 and "temporary" in creates[0].lower()
    others = [s for s in statements if not READS.match(s)]
    assert others == [], "only the probe's temporary slot is created"
    assert logged.execute("SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_preflight%'")[0][0] == 0


def test_probe_leaves_no_slot_when_killed_mid_probe(logged: pgserver.LocalServer) -> None:
    import os
    import signal
    import subprocess
    import sys

    import psycopg

    probe_slots = "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pg\\_preflight\\_probe%'"
    with psycopg.connect(logged.admin_dsn()) as blocker:
        blocker.execute("SELECT txid_current()")  # an open transaction with an xid: slot creation waits for it
        proc = subprocess.Popen([sys.executable, "-m", "preflight", "check", logged.dsn(), "--plugin", "test_decoding",
                                 "--probe", "--lock-timeout", "120", "--statement-timeout", "120",
                                 "--max-xact-age", "1"],  # the blocker's xid is watched for 1 s before the probe
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
        try:
            deadline = time.monotonic() + 30
            while logged.execute(probe_slots)[0][0] == 0:
                assert time.monotonic() < deadline, "the probe never started creating its slot"
                assert proc.poll() is None, "the checker ended before the probe waited"
                time.sleep(0.05)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
        blocker.rollback()  # the probe's backend can now finish, notices its client is gone, and exits
    deadline = time.monotonic() + 30
    while logged.execute(probe_slots)[0][0] != 0:
        assert time.monotonic() < deadline, "a probe slot outlived the killed checker"
        time.sleep(0.1)


def test_all_databases_only_reads(logged: pgserver.LocalServer) -> None:
    """Another database is read on its replication proof's walsender, every statement in one simple-protocol
    query string: each statement of that string is a read too (the names here hold no ';')."""
    logged.execute("CREATE DATABASE other")
    logged.execute("CREATE SCHEMA app", "CREATE TABLE app.t (id int PRIMARY KEY)", dbname="other")
    dsn = add_cdc_role(logged)
    before = inventory(logged)
    since = len((logged.root / "server.log").read_text(errors="replace"))
    result = run_cli("check", dsn, "--all-databases", "--publication", "pub", "--format", "json")
    assert "Traceback" not in result.output
    wait_for_log(logged)
    statements = logged_statements(logged, since)
    batches = [s for s in statements if s.startswith("BEGIN READ ONLY;")]
    assert len(batches) == 1, "the other database's facts are one batch on its walsender"
    pieces = [p.strip() for s in statements for p in s.split(";") if p.strip()]
    assert len(pieces) > len(statements)
    assert [p for p in pieces if not READS.match(p)] == []
    assert inventory(logged) == before
    logged.execute("DROP DATABASE other")
