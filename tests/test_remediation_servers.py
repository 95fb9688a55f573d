"""The merged remediation script, applied as printed on a real server, turns its findings into passes."""

from __future__ import annotations

from collections.abc import Callable

from preflight import Options, run_preflight
from preflight.models import CheckStatus
from preflight.reports.sql import render
from tests.servers import CDC_USER, Server, add_cdc_role


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


def test_on_a_fake_rds_the_fixes_are_parameter_group_steps_and_the_rds_replication_grant(
        servers: Callable[..., Server]) -> None:
    server = servers(max_replication_slots="1")
    server.execute("CREATE ROLE rds_superuser", "CREATE ROLE rds_replication",
                   "SELECT pg_catalog.pg_create_physical_replication_slot('ha_one')")
    add_cdc_role(server, replication=False)
    options = Options(dsn=server.dsn(), role=CDC_USER, checks=["slot_capacity", "grants"])
    before = run_preflight(options)
    assert before.target.provider == "rds"
    printed = [s for c in before.checks for f in c.findings for s in f.remediation.sql_text()]
    assert not [s for s in printed if "ALTER SYSTEM" in s or "pg_reload_conf" in s], printed
    slots = before.check("slot_capacity").findings[0]
    assert slots.code == "no_free_slot"
    # 1 used + 3 for the generic profile's consumer (its slot and two table-sync workers' temporary slots)
    assert "DB parameter group set max_replication_slots = 4" in " ".join(slots.remediation.steps_text())
    grant = next(f for f in before.check("grants").findings if f.code == "no_replication")
    assert grant.remediation.sql_text() == [f'GRANT "rds_replication" TO "{CDC_USER}";']
    assert "rds_superuser" in grant.remediation.steps_text()[0]
    server.execute(*[line for line in render(before).splitlines() if line and not line.startswith("--")])
    after = run_preflight(options)
    assert "no_replication" not in [f.code for f in after.check("grants").findings]
