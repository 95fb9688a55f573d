"""Faults during a run: the backend terminated, the server restarted, a lock held, a statement slower
than --statement-timeout. Each run ends within its timeouts with a complete report, affected checks
``error`` with the cause, no check failed, exit 3 (incomplete), and no traceback.

The runs that inject a fault skip ``grants``: its replication-path proof connects on a thread of its own,
and whether that connection finished before the fault is a race, not what these scenarios test. They
skip ``long_transactions`` too: the lock holder that injects the fault holds an xid, which rightly fails it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from click.testing import Result

from preflight import pgserver
from preflight.registry import all_checks
from tests.conftest import run_cli
from tests.servers import Server


@pytest.fixture()
def local(servers: Callable[..., Server]) -> pgserver.LocalServer:
    server = servers()
    if not isinstance(server, pgserver.LocalServer):
        pytest.skip("fault injection needs the local backend (socket, pg_ctl)")
    return server


@pytest.fixture()
def settings_locked(local: pgserver.LocalServer) -> Iterator[psycopg.Connection]:
    """A migration-like ACCESS EXCLUSIVE lock on what the settings fact reads: the run waits there."""
    blocker = psycopg.connect(local.admin_dsn())
    blocker.execute("LOCK TABLE pg_catalog.pg_settings IN ACCESS EXCLUSIVE MODE")
    try:
        yield blocker
    finally:
        blocker.close()


def run_in_thread(*args: str) -> tuple[threading.Thread, dict[str, Result]]:
    box: dict[str, Result] = {}
    thread = threading.Thread(target=lambda: box.setdefault("result", run_cli("check", *args, "--format", "json")))
    thread.start()
    return thread, box


def wait_for_waiting_checker(server: pgserver.LocalServer, timeout: float = 20) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = server.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'pg-preflight' "
                              "AND wait_event_type = 'Lock'")
        if rows:
            return int(rows[0][0])
        time.sleep(0.05)
    raise AssertionError("the checker never waited on the lock")


def finished(thread: threading.Thread, box: dict[str, Result]) -> tuple[dict[str, Any], int]:
    thread.join(60)
    assert not thread.is_alive(), "the run must end within its timeouts"
    result = box["result"]
    assert "Traceback" not in result.output
    return json.loads(result.stdout), result.exit_code


# grants' replication proof runs on its own connection: a fault may or may not reach it; the lock holder
# that injects the fault holds an xid, which long_transactions rightly fails (see the docstring)
NO_PROOF = ("--skip", "grants", "--skip", "long_transactions")


def errored(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["error"] for c in report["checks"] if c["status"] == "error"}


def failed(report: dict[str, Any]) -> list[str]:
    return [c["id"] for c in report["checks"] if c["status"] == "fail"]


def test_backend_terminated_mid_run(local: pgserver.LocalServer, settings_locked: psycopg.Connection) -> None:
    thread, box = run_in_thread(local.dsn(), "--lock-timeout", "30", *NO_PROOF)
    pid = wait_for_waiting_checker(local)
    local.execute(f"SELECT pg_terminate_backend({pid})")
    report, code = finished(thread, box)
    causes = errored(report)
    assert "logical_replication" in causes and "slot_capacity" in causes
    for check_id in ("logical_replication", "slot_capacity"):  # both wait for the settings the lock holds back
        assert causes[check_id].startswith("needed fact 'settings' could not be gathered: connection lost before "
                                           "this fact was read ("), causes[check_id]
        assert "server closed the connection unexpectedly" in causes[check_id]
    assert failed(report) == []
    assert (report["status"], code) == ("incomplete", 3)
    # complete: every check but the skipped ones has its result
    assert [c["id"] for c in report["checks"]] == [c.id for c in all_checks()[0]
                                                   if c.id not in ("grants", "long_transactions")]


def test_server_restarted_mid_run(local: pgserver.LocalServer, settings_locked: psycopg.Connection) -> None:
    thread, box = run_in_thread(local.dsn(), "--lock-timeout", "30", *NO_PROOF)
    wait_for_waiting_checker(local)
    local.restart()
    report, code = finished(thread, box)
    assert "logical_replication" in errored(report)
    assert failed(report) == []
    assert (report["status"], code) == ("incomplete", 3)


def test_lock_held_on_a_selected_table(local: pgserver.LocalServer) -> None:
    local.execute("CREATE TABLE public.busy (id int PRIMARY KEY)")
    with psycopg.connect(local.admin_dsn()) as blocker:
        blocker.execute("LOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        # the lock holder's xid is watched for at most --max-xact-age (then long_transactions rightly fails)
        result = run_cli("check", local.dsn(), "--format", "json", "--lock-timeout", "1", "--max-xact-age", "1")
        took = time.monotonic() - started
    report = json.loads(result.stdout)
    assert took < 30
    # catalog reads take no lock on user tables: the table is still judged
    assert any(t["name"] == "busy" and t["status"] == "ok" for t in report["tables"])
    assert "Traceback" not in result.output


def test_statement_slower_than_statement_timeout(local: pgserver.LocalServer,
                                                 settings_locked: psycopg.Connection) -> None:
    started = time.monotonic()
    result = run_cli("check", local.dsn(), "--format", "json", "--lock-timeout", "60", "--statement-timeout", "1",
                     *NO_PROOF)
    assert time.monotonic() - started < 30
    report = json.loads(result.stdout)
    causes = errored(report)
    assert "statement timeout" in causes["logical_replication"]
    assert failed(report) == []
    assert (report["status"], result.exit_code) == ("incomplete", 3)
