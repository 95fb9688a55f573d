"""Issue 2 scenarios on real servers: every verdict, exit code and classification the engine promises."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from preflight import Options, pgserver, run_preflight
from preflight.models import CheckStatus, ExitCode, Verdict
from preflight.pgserver import free_port
from tests.conftest import run_cli
from tests.servers import CDC_PASSWORD, Backend, Server, add_cdc_role


def report_of(*args: str) -> tuple[dict[str, Any], int, str]:
    result = run_cli("check", *args, "--format", "json")
    return json.loads(result.stdout), result.exit_code, result.stderr


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in report["checks"]}


def test_healthy_server_with_replication_role_is_ready(logical_server: Server) -> None:
    dsn = add_cdc_role(logical_server)
    report, code, _ = report_of(dsn)
    assert report["status"] == "ready", statuses(report)
    assert code == 0
    expected = {"reachability": "pass", "server_version": "pass", "provider": "pass", "writer_status": "pass",
                "logical_replication": "warn", "slot_capacity": "pass", "table_keys": "pass",
                "grants": "pass"}
    if report["target"]["server_version_num"] < 150000:  # 14 reached end of life in Nov 2026
        expected["server_version"] = "warn"
    assert {k: v for k, v in statuses(report).items() if k in expected} == expected
    assert not {k for k, v in statuses(report).items() if v in ("fail", "error")}
    assert statuses(report)["existing_slots"] == "pass"
    assert statuses(report)["publication"] in ("pass", "warn")  # warn when cdc owns no table it would publish
    assert report["target"]["provider"] == "self-managed"
    assert report["schema_version"] == "1"
    assert report["target"]["server_version_num"] >= 130000
    assert report["target"]["in_recovery"] is False
    assert report["target"]["user"] == "cdc"
    assert CDC_PASSWORD not in json.dumps(report)
    slot_line = next(c for c in report["checks"] if c["id"] == "slot_capacity")["summary"]
    assert "/10 slots used" in slot_line


def test_wal_level_replica_fails_naming_wal_level(servers: Callable[..., Server]) -> None:
    server = servers(wal_level="replica")
    report, code, _ = report_of(add_cdc_role(server))
    assert code == 1
    assert report["status"] == "not_ready"
    check = next(c for c in report["checks"] if c["id"] == "logical_replication")
    assert check["status"] == "fail"
    finding = next(f for f in check["findings"] if f["code"] == "wal_level_not_logical")
    assert finding["object"] == "wal_level"
    assert finding["observed"] == "replica" and finding["expected"] == "logical"
    assert finding["remediation"]["requires_restart"] is True
    assert finding["remediation"]["sql"] == ["ALTER SYSTEM SET \"wal_level\" = 'logical';"]


def test_alter_system_without_restart_is_reported_as_pending(servers: Callable[..., Server], backend: Backend) -> None:
    if backend.name == "docker":
        pytest.skip("the docker image passes wal_level on the command line, which outranks ALTER SYSTEM")
    server = servers(wal_level="replica")
    server.execute("ALTER SYSTEM SET wal_level = logical")
    server.reload()
    for dsn in (server.dsn(), add_cdc_role(server)):  # superuser sees the new value, cdc only the flag
        report = run_preflight(Options(dsn=dsn))
        check = report.check("logical_replication")
        assert check.status is CheckStatus.FAIL
        finding = next(f for f in check.findings if f.code == "wal_level_pending_restart")
        assert "has not been restarted" in finding.message and "Restart" in finding.message
        assert finding.remediation.requires_restart
    assert "to 'logical'" in next(
        f.message for f in run_preflight(Options(dsn=server.dsn())).check("logical_replication").findings
        if f.code == "wal_level_pending_restart")


def test_closed_port_fails_reachability_and_skips_the_rest() -> None:
    port = free_port()
    report, code, _ = report_of(f"host=127.0.0.1 port={port} user=x password=closed-port-pw dbname=d", "--connect-timeout", "3")
    assert code == ExitCode.UNREACHABLE  # could not check; the report's status keeps the contract's value
    assert report["status"] == "not_ready"
    assert statuses(report)["reachability"] == "fail"
    assert {s for i, s in statuses(report).items() if i != "reachability"} == {"skip"}
    reach = report["checks"][0]
    assert reach["findings"][0]["code"] == "connect_refused"
    assert all(c["skip_reason"] for c in report["checks"][1:])


@pytest.mark.parametrize("fmt", ["json", "table", "sql"])
def test_wrong_password_is_authentication_failure_and_never_printed(logical_server: Server, fmt: str) -> None:
    secret = "Wr0ng-pa55word-XYZ"
    add_cdc_role(logical_server)
    dsn = logical_server.dsn(user="cdc", password=secret)
    result = run_cli("check", dsn, "--format", fmt)
    assert result.exit_code == ExitCode.UNREACHABLE  # could not check: not "not ready"
    assert secret not in result.stdout and secret not in result.stderr
    assert "password=***" in result.stdout  # the masked DSN, in every format (the sql script's header too)
    report = run_preflight(Options(dsn=dsn))
    assert report.check("reachability").findings[0].code == "connect_authentication"
    assert secret not in report.to_json()
    uri = f"postgresql://cdc:{secret}@127.0.0.1:{free_port()}/postgres"
    again = run_cli("check", uri, "--format", fmt, "--connect-timeout", "2")
    assert secret not in again.stdout + again.stderr


def test_password_from_environment_never_printed(logical_server: Server) -> None:
    secret = "env-Secret-Pass-77"
    add_cdc_role(logical_server)
    result = run_cli("check", logical_server.dsn(user="cdc", password=None), "--format", "json",
                     env={"PGPASSWORD": secret})
    assert secret not in result.stdout + result.stderr
    assert json.loads(result.stdout)["checks"][0]["findings"][0]["code"] == "connect_authentication"


def test_streaming_standby_fails_writer_status(logical_server: Server, backend: Backend) -> None:
    standby = backend.standby_of(logical_server)
    try:
        report = run_preflight(Options(dsn=standby.dsn()))
        writer = report.check("writer_status")
        assert writer.status is CheckStatus.FAIL
        assert report.target.in_recovery is True
        assert report.status is Verdict.NOT_READY
        if standby.version >= 16:  # decoding on a standby is possible: say what it needs (feedback is off)
            assert [f.code for f in writer.findings] == ["standby_decoding", "hot_standby_feedback_off"]
            strict = run_preflight(Options(dsn=standby.dsn(), profile="ardent")).check("writer_status")
            assert strict.status is CheckStatus.FAIL and strict.findings[0].code == "standby"
        else:
            assert writer.findings[0].code == "standby"
    finally:
        standby.destroy()


def test_no_free_slot_fails_quoting_numbers(servers: Callable[..., Server]) -> None:
    server = servers(max_replication_slots="2")
    server.execute("SELECT pg_create_physical_replication_slot('ha_one')",
                   "SELECT pg_create_logical_replication_slot('old_cdc', 'pgoutput')")
    report, code, _ = report_of(add_cdc_role(server))
    assert code == 1
    check = next(c for c in report["checks"] if c["id"] == "slot_capacity")
    assert check["status"] == "fail"
    finding = check["findings"][0]
    assert finding["code"] == "no_free_slot"
    assert "2/2 replication slots used" in finding["message"]
    assert "1 logical, 1 physical" in finding["message"]
    # 2 used + 3 for the generic profile's consumer (its slot and two table-sync workers' temporary slots)
    assert finding["remediation"]["sql"] == ["ALTER SYSTEM SET \"max_replication_slots\" = '5';"]
    assert "2/2 slots used" in check["summary"]


def test_settings_already_higher_are_never_lowered(servers: Callable[..., Server]) -> None:
    server = servers(max_replication_slots="40", max_wal_senders="0", wal_level="replica")
    report = run_preflight(Options(dsn=server.dsn(), slots_needed=50))
    slot = report.check("slot_capacity").findings[0]
    assert slot.code == "no_free_slot" and "'50'" in slot.remediation.sql_text()[0]
    senders = next(f for f in report.check("logical_replication").findings if f.code == "max_wal_senders_zero")
    assert senders.remediation.sql_text() == ["ALTER SYSTEM SET \"max_wal_senders\" = '10';"]


def test_fact_that_cannot_be_gathered_makes_checks_error_not_skip(logical_server: Server) -> None:
    # A migration holding ACCESS EXCLUSIVE on what a fact reads: the read gives up at --lock-timeout,
    # that fact is cached as its failure, and the facts after it in the pipeline are read again.
    import psycopg

    if not isinstance(logical_server, pgserver.LocalServer):
        pytest.skip("needs the local backend's socket")
    with psycopg.connect(logical_server.admin_dsn()) as blocker:
        blocker.execute("LOCK TABLE pg_catalog.pg_settings IN ACCESS EXCLUSIVE MODE")
        # the blocker's ACCESS EXCLUSIVE lock takes an xid: long_transactions rightly fails on it, skipped here
        report, code, _ = report_of(logical_server.dsn(), "--lock-timeout", "0.3", "--skip", "long_transactions")
    by_id = {c["id"]: c for c in report["checks"]}
    for check_id in ("logical_replication", "slot_capacity"):
        assert by_id[check_id]["status"] == "error"
        assert "lock timeout" in by_id[check_id]["error"]
        assert "settings" in by_id[check_id]["error"]
    assert by_id["reachability"]["status"] == "pass"
    assert by_id["writer_status"]["status"] == "pass"  # its 'server' fact came after the failure, re-read
    assert report["status"] == "incomplete"
    assert code == 3


def test_read_only_default_is_noted(servers: Callable[..., Server]) -> None:
    server = servers()
    server.execute("ALTER DATABASE postgres SET default_transaction_read_only = on")
    report = run_preflight(Options(dsn=server.dsn()))
    writer = report.check("writer_status")
    assert writer.status is CheckStatus.WARN
    assert writer.findings[0].remediation.sql_text() == ['ALTER DATABASE "postgres" SET default_transaction_read_only = off;']


def test_session_is_read_only_and_named(logical_server: Server) -> None:
    from preflight.connection import open_session, parse_dsn

    conn = open_session(parse_dsn(logical_server.dsn()), 5, 7, 3)
    try:
        row = conn.execute(
            "SELECT current_setting('transaction_read_only'), current_setting('statement_timeout'), "
            "current_setting('lock_timeout'), current_setting('search_path'), current_setting('application_name')"
        ).fetchone()
        assert row == ("on", "7s", "3s", "", "pg-preflight")
    finally:
        conn.close()
