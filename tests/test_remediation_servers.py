"""The merged remediation script, applied as printed on a real server, turns its findings into passes."""

from __future__ import annotations

from collections.abc import Callable

from preflight import Options, run_preflight
from preflight.models import CheckStatus
from preflight.reports.sql import render
from tests.servers import Server


def test_exhausted_slots_script_applied_as_printed_fixes_slots_and_senders(servers: Callable[..., Server]) -> None:
    server = servers(max_replication_slots="0", max_wal_senders="0")
    checks = ["logical_replication", "slot_capacity"]
    before = run_preflight(Options(dsn=server.dsn(), checks=checks))
    assert before.check("slot_capacity").status is CheckStatus.FAIL
    script = [line for line in render(before).splitlines() if line and not line.startswith("--")]
    assert [s for s in script if "max_replication_slots" in s] == ["ALTER SYSTEM SET \"max_replication_slots\" = '10';"]
    server.execute(*script)
    server.restart()
    after = run_preflight(Options(dsn=server.dsn(), checks=checks))
    assert after.check("slot_capacity").status is CheckStatus.PASS
    assert not [f.code for f in after.check("logical_replication").findings
                if f.object in ("max_replication_slots", "max_wal_senders")]
    assert server.execute("SELECT setting FROM pg_catalog.pg_settings WHERE name = 'max_replication_slots'") == [("10",)]
    server.execute("SELECT pg_catalog.pg_create_logical_replication_slot('after_fix', 'pgoutput')",
                   "SELECT pg_catalog.pg_drop_replication_slot('after_fix')")
