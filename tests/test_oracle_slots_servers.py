"""The oracle for slots: PostgreSQL itself shows what the slot checks predict.

- A pgoutput slot created before its publication fails to decode with 'publication "..." does not exist'
  before 18 (and decodes on 18) exactly when transactions wrote between the slot and the publication:
  slot_publication_order's verdict follows.
- On 17, a standby that synchronises slots keeps a failover slot across its promotion and loses the other:
  failover_slots fails the second and not the first.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import oracle
from tests.oracle import preflight
from tests.servers import Backend, Server, create_standby

pytestmark = pytest.mark.server

DEADLINE_S = 30.0


def check(report: dict[str, Any], check_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in report["checks"] if c["id"] == check_id)
    return found


def codes(report: dict[str, Any], check_id: str) -> dict[str, str]:
    return {f["code"]: f["severity"] for f in check(report, check_id)["findings"]}


def decode(server: Server, slot: str, publication: str) -> str:
    """Peek the slot's changes with pgoutput (the walsender's decoding path): '' when it decodes, else the error.
    Decoding stops at the flushed WAL, and the test servers commit asynchronously: wait for the flush first."""
    written = oracle.run(server, "SELECT pg_catalog.pg_current_wal_insert_lsn()::pg_catalog.text")[0][0]
    wait_for(server, f"SELECT pg_catalog.pg_current_wal_flush_lsn() >= '{written}'::pg_catalog.pg_lsn")
    try:
        oracle.run(server, f"SELECT count(*) FROM pg_catalog.pg_logical_slot_peek_binary_changes('{slot}', NULL, NULL, "
                           f"'proto_version', '1', 'publication_names', '{publication}')")
    except psycopg.Error as exc:
        return str(exc)
    return ""


@pytest.mark.only_on("local", "pg17", "pg18")
def test_a_slot_older_than_its_publication_fails_to_decode_before_18(servers: Callable[..., Server]) -> None:
    server = servers()
    oracle.make_tables(server, "app.a")
    dsn = server.dsn()
    # Nothing between: a slot, then at once the publication (its xid is the slot's catalog_xmin).
    oracle.run(server, "SELECT pg_catalog.pg_create_logical_replication_slot('prompt', 'pgoutput')",
               "CREATE PUBLICATION prompt FOR TABLE app.a", "INSERT INTO app.a VALUES (5003, 'after')")
    prompt = preflight(dsn, "--check", "slot_publication_order", "--slot-name", "prompt", "--publication", "prompt")
    assert codes(prompt, "slot_publication_order") == {}
    assert decode(server, "prompt", "prompt") == ""
    # Dropped: a slot created while it exists would inherit its older horizon (the check then only warns).
    oracle.run(server, "SELECT pg_catalog.pg_drop_replication_slot('prompt')")
    # Written between: a slot, a transaction, then the publication.
    oracle.run(server, "SELECT pg_catalog.pg_create_logical_replication_slot('early', 'pgoutput')",
               "INSERT INTO app.a VALUES (5001, 'between')", "CREATE PUBLICATION late FOR TABLE app.a",
               "INSERT INTO app.a VALUES (5002, 'after')")
    early = preflight(dsn, "--check", "slot_publication_order", "--slot-name", "early", "--publication", "late")
    error = decode(server, "early", "late")
    if server.version >= 18:
        assert error == ""
        assert codes(early, "slot_publication_order") == {"slot_predates_publication": "info"}
    else:
        assert 'publication "late" does not exist' in error, error
        assert codes(early, "slot_publication_order") == {"slot_predates_publication": "error"}
        assert check(early, "slot_publication_order")["status"] == "fail"
        fix = check(early, "slot_publication_order")["findings"][0]["remediation"]
        assert oracle.apply(server, "\n".join(fix["sql"])) == ""  # drop it: the consumer creates it again
        oracle.run(server, "SELECT pg_catalog.pg_create_logical_replication_slot('early', 'pgoutput')",
                   "INSERT INTO app.a VALUES (5004, 'after')")
        assert decode(server, "early", "late") == ""
        again = preflight(dsn, "--check", "slot_publication_order", "--slot-name", "early", "--publication", "late")
        assert codes(again, "slot_publication_order") == {}


def wait_for(server: Server, query: str, also: Callable[[], object] = lambda: None) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not server.execute(query)[0][0]:
        assert time.monotonic() < deadline, f"never true: {query}"
        also()
        time.sleep(0.1)


@pytest.mark.only_on("pg17")
def test_promotion_keeps_the_failover_slot_and_loses_the_other(servers: Callable[..., Server], backend: Backend) -> None:
    primary = servers()
    standby = None
    try:
        oracle.make_tables(primary, "app.a")
        oracle.run(primary, "CREATE PUBLICATION pub FOR TABLE app.a",
                   "SELECT pg_catalog.pg_create_physical_replication_slot('standby1')")
        standby = create_standby(oracle.local(primary), {"primary_slot_name": "standby1", "hot_standby_feedback": "on"})
        conninfo = standby.execute("SHOW primary_conninfo")[0][0]
        standby.execute(f"ALTER SYSTEM SET primary_conninfo = '{conninfo} dbname=postgres'", "SELECT pg_reload_conf()")
        oracle.run(primary, "SELECT pg_catalog.pg_create_logical_replication_slot('kept', 'pgoutput', false, false, true)",
                   "SELECT pg_catalog.pg_create_logical_replication_slot('lost', 'pgoutput')")
        wait_for(primary, "SELECT xmin IS NOT NULL FROM pg_catalog.pg_replication_slots WHERE slot_name = 'standby1'")

        unnamed = preflight(primary.dsn(), "--check", "failover_slots")
        assert codes(unnamed, "failover_slots")["failover_slot_needed"] == "warning"
        # A Debezium file with slot.failover=true: the connector creates its slot as 'kept' below is created.
        config = Path(oracle.local(primary).root) / "connector.json"
        config.write_text(json.dumps({
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "127.0.0.1",
            "database.user": "postgres", "database.dbname": "postgres", "topic.prefix": "app", "plugin.name": "pgoutput",
            "slot.name": "planned", "publication.name": "pub", "slot.failover": "true"}))
        planned = preflight(primary.dsn(), "--check", "failover_slots", "--consumer-config", str(config))
        assert codes(planned, "failover_slots")["failover_slot_configured"] == "info"
        assert check(planned, "failover_slots")["findings"][0]["object"] == "planned"
        lost = preflight(primary.dsn(), "--check", "failover_slots", "--slot-name", "lost")
        kept = preflight(primary.dsn(), "--check", "failover_slots", "--slot-name", "kept")
        assert check(lost, "failover_slots")["status"] == "fail"
        assert codes(lost, "failover_slots")["slot_not_failover"] == "error"
        assert codes(kept, "failover_slots") == {"slot_failover_enabled": "info",
                                                 "synchronized_standby_slots_unset": "warning",
                                                 "failover_standby_unverified": "warning"}
        assert check(kept, "failover_slots")["status"] == "warn"
        unset = next(f for f in check(kept, "failover_slots")["findings"] if f["code"] == "synchronized_standby_slots_unset")
        assert any("standby1" in statement for statement in unset["remediation"]["sql"]), unset
        assert oracle.apply(primary, "\n".join(unset["remediation"]["sql"])) == ""
        wait_for(primary, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_replication)")
        kept = preflight(primary.dsn(), "--check", "failover_slots", "--slot-name", "kept")
        assert codes(kept, "failover_slots") == {"slot_failover_enabled": "info", "failover_standby_unverified": "warning"}

        def catch_up() -> None:  # the standby syncs a slot once it has what the slot needs
            oracle.run(primary, "SELECT pg_catalog.txid_current()",
                       "SELECT pg_catalog.pg_replication_slot_advance('kept', pg_catalog.pg_current_wal_lsn())",
                       "SELECT pg_catalog.pg_log_standby_snapshot()")
            standby.execute("SELECT pg_catalog.pg_sync_replication_slots()")

        wait_for(standby, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = 'kept' "
                          "AND synced AND NOT temporary)", catch_up)
        standby.execute("SELECT pg_catalog.pg_promote()")
        wait_for(standby, "SELECT NOT pg_catalog.pg_is_in_recovery()")
        slots = {row[0] for row in standby.execute("SELECT slot_name FROM pg_catalog.pg_replication_slots")}
        assert "kept" in slots and "lost" not in slots, slots
        standby.execute("INSERT INTO app.a VALUES (7001, 'on the new primary')")
        assert decode(standby, "kept", "pub") == ""
        changes = standby.execute("SELECT count(*) FROM pg_catalog.pg_logical_slot_peek_binary_changes('kept', NULL, "
                                  "NULL, 'proto_version', '1', 'publication_names', 'pub')")[0][0]
        assert changes > 0
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()
