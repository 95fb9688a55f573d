"""existing_slots on a real server: an active slot held by pg_recvlogical, stale, elsewhere, other plugin."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from preflight import Options, run_preflight
from preflight.facts import MIN_RATE_WINDOW_S
from preflight.models import CheckResult, CheckStatus, Finding
from tests.servers import Server


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    """A server of our own: slots left here cannot disturb other tests' slot counts."""
    return servers()


@pytest.fixture()
def clean(server: Server) -> Iterator[Server]:
    yield server
    server.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE NOT active")


def check(server: Server, **options: object) -> CheckResult:
    return run_preflight(Options(dsn=server.dsn(), checks=["existing_slots"], **options)).check("existing_slots")


def only(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [(f.code, f.message) for f in result.findings]
    return found[0]


def recvlogical(server: Server) -> str:
    bindir = getattr(server, "bindir", None)
    path = Path(bindir) / "pg_recvlogical" if bindir else None
    found = str(path) if path and path.exists() else shutil.which("pg_recvlogical")
    assert found, "pg_recvlogical is missing: it ships with the server binaries (.ci/setup installs them)"
    return found


def test_active_slot_held_by_pg_recvlogical_fails_naming_pid(clean: Server) -> None:
    server = clean
    server.execute("SELECT pg_create_logical_replication_slot('held', 'test_decoding')")
    proc = subprocess.Popen([recvlogical(server), "-d", server.dsn(), "--slot", "held", "--start", "-f", "/dev/null"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        pid = None
        for _ in range(100):
            rows = server.execute("SELECT active_pid FROM pg_replication_slots WHERE slot_name = 'held' AND active")
            if rows:
                pid = rows[0][0]
                break
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.1)
        assert pid is not None, "pg_recvlogical never became active"
        result = check(server, slot_name="held", plugin="test_decoding")
        assert result.status is CheckStatus.FAIL
        finding = only(result, "slot_in_use")
        assert f"pid {pid}" in finding.message
        assert "pg_recvlogical" in finding.message  # superuser sees pg_stat_replication's application_name
        listed = check(server)  # without --slot-name the active slot is listed, not failed
        assert listed.status is CheckStatus.PASS
        assert f"pid {pid}" in only(listed, "other_slot").message
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    for _ in range(50):
        if not server.execute("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'held' AND active"):
            break
        time.sleep(0.1)


def test_inactive_slot_warns_and_its_drop_statement_runs(clean: Server) -> None:
    server = clean
    server.execute("SELECT pg_create_logical_replication_slot('stale_one', 'pgoutput')")
    result = check(server, slot_name="stale_one")
    assert result.status is CheckStatus.WARN
    finding = only(result, "slot_stale")
    assert finding.remediation.destructive
    assert finding.remediation.sql_text() == ["SELECT pg_catalog.pg_drop_replication_slot('stale_one');"]
    assert " of WAL" in finding.message
    server.execute(*finding.remediation.sql_text())
    again = check(server, slot_name="stale_one")
    assert again.status is CheckStatus.PASS and only(again, "slot_name_free")


def test_same_name_in_another_database_fails(clean: Server) -> None:
    server = clean
    if not server.execute("SELECT 1 FROM pg_database WHERE datname = 'other'"):
        server.execute("CREATE DATABASE other")
    server.execute("SELECT pg_create_logical_replication_slot('cdc', 'pgoutput')", dbname="other")
    result = check(server, slot_name="cdc")
    assert result.status is CheckStatus.FAIL
    finding = only(result, "slot_in_other_database")
    assert finding.observed == "other" and finding.expected == "postgres"


def test_other_plugin_fails(clean: Server) -> None:
    clean.execute("SELECT pg_create_logical_replication_slot('cdc', 'test_decoding')")
    result = check(clean, slot_name="cdc")
    assert result.status is CheckStatus.FAIL
    assert only(result, "slot_plugin_mismatch").observed == "test_decoding"


def test_without_slot_name_lists_slots_and_reports_wal_rate(clean: Server) -> None:
    clean.execute("SELECT pg_create_logical_replication_slot('one', 'pgoutput')",
                  "SELECT pg_create_physical_replication_slot('ha')")
    result = check(clean)
    assert result.status is CheckStatus.PASS
    assert only(result, "other_slot").object == "one"
    assert "1 logical slot(s), 0 active" in result.summary
    if clean.version >= 14:  # an hourly rate once pg_stat_wal's window is an hour long; a fresh server's is not
        age = float(clean.execute("SELECT EXTRACT(EPOCH FROM now() - stats_reset) FROM pg_stat_wal")[0][0])
        rate = only(result, "wal_rate")
        if age >= MIN_RATE_WINDOW_S:
            assert str(rate.observed).endswith("/h")
        else:
            assert rate.observed is None and "--sample" in rate.message
