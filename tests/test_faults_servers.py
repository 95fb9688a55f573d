"""Faults during a run: the backend terminated, the server restarted, a lock held, a statement slower
than --statement-timeout. Each run ends within its timeouts with a complete report, affected checks
``error`` with the cause, exit 3 (or 1), and no traceback."""

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


def errored(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["error"] for c in report["checks"] if c["status"] == "error"}


def test_backend_terminated_mid_run(local: pgserver.LocalServer, settings_locked: psycopg.Connection) -> None:
    thread, box = run_in_thread(local.dsn(), "--lock-timeout", "30")
    pid = wait_for_waiting_checker(local)
    local.execute(f"SELECT pg_terminate_backend({pid})")
    report, code = finished(thread, box)
    causes = errored(report)
    assert "logical_replication" in causes and "slot_capacity" in causes
    assert any("terminat" in c or "connection" in c for c in causes.values())
    assert report["status"] in ("incomplete", "not_ready") and code in (1, 3)
    assert len(report["checks"]) >= 10  # complete: every check has its result


def test_server_restarted_mid_run(local: pgserver.LocalServer, settings_locked: psycopg.Connection) -> None:
    thread, box = run_in_thread(local.dsn(), "--lock-timeout", "30")
    wait_for_waiting_checker(local)
    local.restart()
    report, code = finished(thread, box)
    assert "logical_replication" in errored(report)
    assert code in (1, 3)


def test_lock_held_on_a_selected_table(local: pgserver.LocalServer) -> None:
    local.execute("CREATE TABLE public.busy (id int PRIMARY KEY)")
    with psycopg.connect(local.admin_dsn()) as blocker:
        blocker.execute("LOCK TABLE public.busy IN ACCESS EXCLUSIVE MODE")
        started = time.monotonic()
        result = run_cli("check", local.dsn(), "--format", "json", "--lock-timeout", "1")
        took = time.monotonic() - started
    report = json.loads(result.stdout)
    assert took < 30
    # catalog reads take no lock on user tables: the table is still judged
    assert any(t["name"] == "busy" and t["status"] == "ok" for t in report["tables"])
    assert "Traceback" not in result.output


def test_statement_slower_than_statement_timeout(local: pgserver.LocalServer,
                                                 settings_locked: psycopg.Connection) -> None:
    started = time.monotonic()
    result = run_cli("check", local.dsn(), "--format", "json", "--lock-timeout", "60", "--statement-timeout", "1")
    assert time.monotonic() - started < 30
    report = json.loads(result.stdout)
    causes = errored(report)
    assert "statement timeout" in causes["logical_replication"]
    assert result.exit_code == 3 or (result.exit_code == 1 and report["status"] == "not_ready")
