"""Finding codes that no other server scenario produces, each on a real server: slot and walsender settings
changed but waiting for a restart, a profile wanting more walsenders than the server has, more slots than
walsenders to stream them, a publication without TRUNCATE, a decision a keyed table does not need, and
``--all-databases`` run by a role that may not read ``pg_database``. Version-independent: ``local`` only."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from preflight import Options, run_all_databases, run_preflight
from preflight.models import CheckResult, Finding, Severity
from tests.conftest import PLUMBING
from tests.servers import Server, add_cdc_role

pytestmark = PLUMBING
SENDERS = 3  # fewer than profile ardent's 10, and than the three slots plus the consumer's


def poll(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def found(result: CheckResult) -> dict[str, Finding]:
    return {f.code: f for f in result.findings}


@pytest.fixture(scope="module")
def few_senders(servers: Callable[..., Server]) -> Server:
    """Three walsenders, ten slots (three of them taken), and both settings raised with ALTER SYSTEM and reloaded:
    pending until a restart that the test never makes."""
    server = servers(max_wal_senders=str(SENDERS), max_replication_slots="10")
    server.execute(*(f"SELECT pg_create_logical_replication_slot('held_{n}', 'test_decoding')" for n in range(3)))
    server.execute("ALTER SYSTEM SET max_wal_senders = 12", "ALTER SYSTEM SET max_replication_slots = 20",
                   "SELECT pg_reload_conf()")
    poll(lambda: server.execute("SELECT count(*) FROM pg_catalog.pg_settings WHERE pending_restart AND name IN "
                                "('max_wal_senders', 'max_replication_slots')")[0][0] == 2, "pending_restart")
    server.execute("CREATE TABLE public.keyed (id int PRIMARY KEY, note text)",
                   "CREATE PUBLICATION no_truncate FOR TABLE public.keyed WITH (publish = 'insert, update, delete')")
    return server


def test_settings_waiting_for_a_restart_and_below_the_profile(few_senders: Server) -> None:
    result = run_preflight(Options(dsn=few_senders.dsn(), checks=["logical_replication"], profile="ardent"))
    codes = found(result.check("logical_replication"))
    for name, now, new in (("max_wal_senders", str(SENDERS), "12"), ("max_replication_slots", "10", "20")):
        pending = codes[f"{name}_pending_restart"]
        assert (pending.severity, pending.observed, pending.expected) == (Severity.WARNING, now, new)
        assert pending.remediation.steps_text() == ["Restart PostgreSQL to apply the pending change."]
    below = codes["max_wal_senders_below_profile"]
    assert (below.severity, below.observed, below.expected) == (Severity.ERROR, SENDERS, ">= 10")
    assert "max_replication_slots_below_profile" not in codes  # 10 is ardent's minimum


def test_more_slots_than_walsenders_to_stream_them(few_senders: Server) -> None:
    result = run_preflight(Options(dsn=few_senders.dsn(), checks=["slot_capacity"], slots_needed=1, senders_needed=1))
    assert [(f.code, f.severity, f.observed, f.expected) for f in result.check("slot_capacity").findings] == [
        ("senders_below_slots", Severity.WARNING, SENDERS, ">= 4")]


def test_a_publication_without_truncate_is_said(few_senders: Server) -> None:
    result = run_preflight(Options(dsn=few_senders.dsn(), checks=["publication"], schemas=["public"],
                                   publication="no_truncate"))
    check = result.check("publication")
    assert [(f.code, f.severity, f.object) for f in check.findings] == [
        ("publication_no_truncate", Severity.INFO, "no_truncate")]
    assert check.status.value == "pass"


def test_a_decision_for_a_keyed_table_needs_nothing(few_senders: Server) -> None:
    result = run_preflight(Options(dsn=few_senders.dsn(), checks=["table_keys"], schemas=["public"],
                                   decisions={"public.keyed": "replica_identity_full"}))
    check = result.check("table_keys")
    assert [(f.code, f.severity, f.object) for f in check.findings if f.code == "decision_not_needed"] == [
        ("decision_not_needed", Severity.INFO, "public.keyed")]
    assert check.status.value == "pass"


def test_databases_that_cannot_be_listed_are_said_not_guessed(servers: Callable[..., Server]) -> None:
    """A role that may not read pg_database (a hardened server revokes it from PUBLIC) cannot plan the cluster."""
    server = servers()
    dsn = add_cdc_role(server)
    server.execute("REVOKE SELECT ON pg_catalog.pg_database FROM PUBLIC")
    report = run_all_databases(Options(dsn=dsn, all_databases=True, checks=["reachability"]))
    access = [c for c in report.checks if c.id == "database_access"]
    assert [(f.code, f.severity) for c in access for f in c.findings] == [("databases_unlisted", Severity.ERROR)]
    assert "permission denied" in access[0].findings[0].message
    assert report.status.value == "not_ready"
