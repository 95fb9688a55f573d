"""slot_reapers, large_transactions, standby_source and failover_slots before 17 on real servers."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests import oracle
from tests.oracle import preflight
from tests.servers import Server, add_cdc_role, create_standby

pytestmark = pytest.mark.server

DEADLINE_S = 20.0


def codes(report: dict[str, Any], check_id: str) -> dict[str, str]:
    found = next(c for c in report["checks"] if c["id"] == check_id)
    return {f["code"]: f["severity"] for f in found["findings"]}


def poll(server: Server, query: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not oracle.run(server, query)[0][0]:
        assert time.monotonic() < deadline, f"never true: {query}"
        time.sleep(0.1)


@pytest.mark.only_on("pg18")
def test_idle_slot_timeout_shorter_than_the_downtime_budget_fails(servers: Callable[..., Server]) -> None:
    server = servers(idle_replication_slot_timeout="1h")
    report = preflight(server.dsn(), "--check", "slot_reapers")
    assert codes(report, "slot_reapers") == {"idle_slot_timeout_short": "error"}
    oracle.run(server, "ALTER SYSTEM SET idle_replication_slot_timeout = '2d'", "SELECT pg_catalog.pg_reload_conf()")
    poll(server, "SELECT setting = '172800' FROM pg_catalog.pg_settings WHERE name = 'idle_replication_slot_timeout'")
    assert codes(preflight(server.dsn(), "--check", "slot_reapers"), "slot_reapers") == {"idle_slot_timeout": "info"}


@pytest.mark.only_on("local")
def test_provider_that_drops_inactive_slots_is_named(logical_server: Server) -> None:
    plain = preflight(logical_server.dsn(), "--check", "slot_reapers")
    assert codes(plain, "slot_reapers") == {}
    neon = preflight(logical_server.dsn(), "--check", "slot_reapers", "--provider", "neon")
    assert codes(neon, "slot_reapers") == {"provider_drops_inactive_slots": "warning"}
    # A profile allowing 48 h of downtime outlasts Neon's 40 h: the slot is lost within the budget.
    strict = preflight(logical_server.dsn(), "--check", "slot_reapers", "--provider", "neon", "--profile",
                       str(_profile(logical_server, "min_slot_budget_hours = 48")))
    assert codes(strict, "slot_reapers") == {"provider_drops_inactive_slots": "error"}


def _profile(server: Server, line: str) -> Any:
    path = oracle.local(server).root / "budget48.toml"
    path.write_text(f'name = "budget48"\n{line}\n')
    return path


@pytest.mark.only_on("local", "pg14")  # pg_stat_replication_slots is 14+
def test_spilled_transactions_warn_unless_the_consumer_streams(servers: Callable[..., Server]) -> None:
    server = servers()
    oracle.make_tables(server, "app.a")
    oracle.run(server, "SELECT pg_catalog.pg_create_logical_replication_slot('big', 'test_decoding')",
               "INSERT INTO app.a SELECT g, pg_catalog.repeat('x', 100) FROM pg_catalog.generate_series(1, 20000) AS g")
    written = oracle.run(server, "SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text")[0][0]
    poll(server, f"SELECT pg_catalog.pg_current_wal_flush_lsn() >= '{written}'::pg_catalog.pg_lsn")
    with psycopg.connect(oracle.local(server).admin_dsn(), autocommit=True) as conn:
        conn.execute("SET logical_decoding_work_mem = '64kB'")
        conn.execute("SELECT count(*) FROM pg_catalog.pg_logical_slot_get_changes('big', NULL, NULL)")
    poll(server, "SELECT spill_txns > 0 FROM pg_catalog.pg_stat_replication_slots WHERE slot_name = 'big'")
    generic = preflight(server.dsn(), "--check", "large_transactions")
    assert codes(generic, "large_transactions") == {"decoding_memory": "info", "decoding_spills": "warning"}
    native = preflight(server.dsn(), "--check", "large_transactions", "--profile", "native")
    assert codes(native, "large_transactions") == {"decoding_memory": "info", "decoding_spills": "info"}


@pytest.mark.only_on("local", "pg17")
def test_standby_source_warns_of_cancelled_copies_and_counts_conflicts(servers: Callable[..., Server]) -> None:
    primary = servers()
    standby = None
    try:
        oracle.make_tables(primary, "app.a")
        oracle.run(primary, "INSERT INTO app.a VALUES (1, 'a')")
        assert codes(preflight(primary.dsn(), "--check", "standby_source"), "standby_source") == {}
        standby = create_standby(oracle.local(primary), {"max_standby_streaming_delay": "100ms"})
        poll(standby, "SELECT EXISTS (SELECT 1 FROM app.a)")
        report = preflight(standby.dsn(), "--check", "standby_source")
        assert codes(report, "standby_source") == {"standby_copy_cancelled": "warning"}
        # A long read on the standby (the initial copy) meets an ACCESS EXCLUSIVE lock replayed from the primary.
        with psycopg.connect(oracle.local(standby).admin_dsn()) as reader:
            reader.execute("SELECT count(*) FROM app.a")
            oracle.run(primary, "TRUNCATE app.a")
            poll(standby, "SELECT NOT EXISTS (SELECT 1 FROM app.a)")
            with pytest.raises(psycopg.Error):
                reader.execute("SELECT count(*) FROM app.a")
        poll(standby, "SELECT confl_lock > 0 FROM pg_catalog.pg_stat_database_conflicts WHERE datname = 'postgres'")
        again = preflight(standby.dsn(), "--check", "standby_source")
        assert codes(again, "standby_source") == {"standby_copy_cancelled": "warning",
                                                  "standby_recovery_conflicts": "warning"}
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@pytest.mark.only_on("local")
def test_standbys_before_17_lose_the_slot_unless_something_copies_it(servers: Callable[..., Server]) -> None:
    primary = servers()
    standby = None
    try:
        assert codes(preflight(primary.dsn(), "--check", "failover_slots"), "failover_slots") == {
            "no_physical_standby": "info"}
        standby = create_standby(oracle.local(primary))
        poll(primary, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_replication)")
        report = preflight(primary.dsn(), "--check", "failover_slots")
        assert codes(report, "failover_slots") == {"failover_loses_slot": "warning"}
        # The CDC role, without pg_read_all_stats, sees the physical walsender too (pid and datid are public).
        as_cdc = preflight(add_cdc_role(primary), "--check", "failover_slots")
        assert codes(as_cdc, "failover_slots") == {"failover_loses_slot": "warning"}
        assert "1 streaming" in str(next(f for f in as_cdc["checks"] if f["id"] == "failover_slots")["summary"])
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@pytest.mark.only_on("local")  # before 18: the publication would be newer than the slot
def test_a_slot_whose_publication_does_not_exist_yet_warns(logical_server: Server) -> None:
    oracle.run(logical_server, "SELECT pg_catalog.pg_create_logical_replication_slot('early_slot', 'pgoutput')")
    try:
        report = preflight(logical_server.dsn(), "--check", "slot_publication_order", "--slot-name", "early_slot",
                           "--publication", "not_yet")
        assert codes(report, "slot_publication_order") == {"publication_after_slot": "warning"}
        finding = next(c for c in report["checks"] if c["id"] == "slot_publication_order")["findings"][0]
        assert finding["object"] == "early_slot" and "'not_yet'" in finding["message"]
    finally:
        oracle.run(logical_server, "SELECT pg_catalog.pg_drop_replication_slot('early_slot')")
