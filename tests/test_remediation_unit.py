"""One place per rule: how each provider changes a setting and grants replication, and the merged script."""

from __future__ import annotations

import re

import pytest
from psycopg import sql

from preflight import Options, run_checks
from preflight.facts import SettingRow
from preflight.models import Finding, Remediation, Report, Severity
from preflight.provider_detection import PROVIDERS, SELF_MANAGED
from preflight.remediation import change_setting, grant_replication, raise_setting
from preflight.reports.sql import remediation_lines
from preflight.statements import RELOAD as RELOADING
from preflight.statements import Reload, SettingChange, Sql
from tests import snapshots
from tests.snapshots import make_snapshot, slot

RDS_SIGNALS = snapshots.provider_signals(roles=["rds_superuser"], settings=["rds.extensions"])
SLOTS = SettingRow(name="max_replication_slots", setting="4", vartype="integer", context="postmaster")
RELOAD = RELOADING.text()
TIMEOUT = SettingRow(name="wal_sender_timeout", setting="0", unit="ms", vartype="integer", context="sighup")


def statements(lines: list[str]) -> list[str]:
    return [line for line in lines if line and not line.startswith("--")]


def test_self_managed_setting_needing_a_restart_is_alter_system_and_restart() -> None:
    fix = change_setting(PROVIDERS[SELF_MANAGED], "max_replication_slots", 12, SLOTS)
    assert fix.sql_text() == ["ALTER SYSTEM SET \"max_replication_slots\" = '12';"]
    assert fix.requires_restart and any("Restart PostgreSQL" in step for step in fix.steps_text())


def test_self_managed_reloadable_setting_is_alter_system_and_reload() -> None:
    fix = change_setting(PROVIDERS[SELF_MANAGED], "wal_sender_timeout", 60, TIMEOUT, "s")
    assert fix.sql_text() == ["ALTER SYSTEM SET \"wal_sender_timeout\" = '60s';", RELOAD]
    assert not fix.requires_restart


@pytest.mark.parametrize(("name", "where"), [
    ("rds", "DB parameter group"), ("aurora", "DB cluster parameter group"), ("cloudsql", "database flag"),
    ("alloydb", "flag"), ("azure", "server parameter"), ("neon", "console"), ("supabase", "console"),
])
def test_managed_services_change_settings_their_own_way_never_by_alter_system(name: str, where: str) -> None:
    fix = change_setting(PROVIDERS[name], "max_replication_slots", 12, SLOTS)
    assert fix.sql == [], "a managed service refuses ALTER SYSTEM: nothing to paste"
    step = fix.steps_text()[0]
    assert where in step and "max_replication_slots" in step and "12" in step
    assert fix.requires_restart


def test_a_fix_never_lowers_the_current_value() -> None:
    assert raise_setting(PROVIDERS[SELF_MANAGED], SLOTS, 2).sql_text() == ["ALTER SYSTEM SET \"max_replication_slots\" = '4';"]
    assert raise_setting(PROVIDERS["rds"], SLOTS, 2).steps_text()[0].count("= 4") == 1


def test_replication_grant_per_provider_names_who_runs_it() -> None:
    rds = grant_replication(PROVIDERS["rds"], "cdc")
    assert rds.sql_text() == ['GRANT "rds_replication" TO "cdc";'] and "rds_superuser" in rds.steps_text()[0]
    assert grant_replication(PROVIDERS["aurora"], "cdc").sql_text() == ['GRANT "rds_replication" TO "cdc";']
    cloudsql = grant_replication(PROVIDERS["cloudsql"], "cdc")
    assert cloudsql.sql_text() == ['ALTER ROLE "cdc" WITH REPLICATION;'] and "cloudsqlsuperuser" in cloudsql.steps_text()[0]
    assert "azure_pg_admin" in grant_replication(PROVIDERS["azure"], "cdc").steps_text()[0]
    assert grant_replication(PROVIDERS["heroku"], "cdc").sql == []
    # The server's own rds_replication role decides the grant even when detection found nothing.
    assert grant_replication(PROVIDERS[SELF_MANAGED], "cdc", ["rds_replication"]).sql_text() == [
        'GRANT "rds_replication" TO "cdc";']


def test_a_setting_change_compares_its_value_in_the_setting_base_unit() -> None:
    assert SettingChange("max_wal_senders", 10).magnitude() == 10
    assert SettingChange("wal_level", "logical").magnitude() is None
    # sizes and durations carry their unit: compared in bytes / milliseconds, so any two units compare
    assert SettingChange("max_slot_wal_keep_size", 58, "GB").magnitude() == 58 * 1024**3
    assert SettingChange("wal_sender_timeout", 2, "min").magnitude() == 120 * 1000


def test_two_sizes_of_one_setting_in_different_units_merge_to_the_larger() -> None:
    report = _report(
        Remediation(sql=[SettingChange("max_slot_wal_keep_size", 10, "GB"), RELOADING]),
        Remediation(sql=[SettingChange("max_slot_wal_keep_size", 58906, "MB"), RELOADING]),
    )
    keep = [s for s in statements(remediation_lines(report)) if "max_slot_wal_keep_size" in s]
    assert keep == ["ALTER SYSTEM SET \"max_slot_wal_keep_size\" = '58906MB';"]


def run(snapshot_settings: dict[str, object], **options: object) -> Report:
    return run_checks(make_snapshot(snapshot_settings), Options(**options))


def test_rds_findings_print_no_alter_system_anywhere() -> None:
    snap = make_snapshot({"wal_level": "replica", "max_replication_slots": "1", "max_wal_senders": "1",
                          "wal_sender_timeout": "0", "max_connections": "3", "hot_standby_feedback": "off",
                          "default_transaction_read_only": {"value": "on", "vartype": "bool"}},
                         slots=[slot("busy")], provider_signals=RDS_SIGNALS,
                         server={"default_transaction_read_only": "on"})
    report = run_checks(snap, Options())
    fixed = [f for c in report.checks for f in c.findings if not f.remediation.is_empty()]
    assert {"wal_level_not_logical", "no_free_slot", "wal_sender_timeout_disabled", "default_read_only"} <= {
        f.code for f in fixed}
    assert not [s for f in fixed for s in f.remediation.sql if isinstance(s, SettingChange | Reload)]
    assert "ALTER SYSTEM SET" not in "\n".join(statements(remediation_lines(report)))


def test_exhausted_slots_script_sets_each_setting_once_to_the_largest_value() -> None:
    report = run({"max_replication_slots": "0", "max_wal_senders": "0"})
    per_check = [s for c in report.checks for f in c.findings for s in f.remediation.sql_text()
                 if "max_replication_slots" in s]
    assert len(per_check) == 2 and len(set(per_check)) == 2, "two checks disagree: the script must merge them"
    script = statements(remediation_lines(report))
    slots = [s for s in script if "max_replication_slots" in s]
    assert slots == ["ALTER SYSTEM SET \"max_replication_slots\" = '10';"]
    assert [s for s in script if "max_wal_senders" in s] == ["ALTER SYSTEM SET \"max_wal_senders\" = '10';"]


def _report(*remediations: Remediation) -> Report:
    from preflight.models import CheckResult, CheckStatus
    from tests.canned import canned_report

    findings = [Finding(code=f"f{i}", severity=Severity.WARNING, message="m", remediation=r)
                for i, r in enumerate(remediations)]
    return canned_report().model_copy(update={"checks": [
        CheckResult(id="x", title="X", status=CheckStatus.WARN, findings=findings)]})


def test_a_reload_follows_every_reloadable_change_and_a_lower_later_value_never_wins() -> None:
    report = _report(
        Remediation(sql=[SettingChange("wal_sender_timeout", 60, "s"), RELOADING]),
        Remediation(sql=[SettingChange("max_wal_senders", 3, restart=True)], requires_restart=True),
        Remediation(sql=[SettingChange("hot_standby_feedback", "on"), RELOADING]),
        Remediation(sql=[SettingChange("max_wal_senders", 12, restart=True)], requires_restart=True),
        Remediation(sql=[SettingChange("max_wal_senders", 2, restart=True)], requires_restart=True),
    )
    script = statements(remediation_lines(report))
    assert script == [
        "ALTER SYSTEM SET \"wal_sender_timeout\" = '60s';", RELOAD,
        "ALTER SYSTEM SET \"max_wal_senders\" = '12';",
        "ALTER SYSTEM SET \"hot_standby_feedback\" = 'on';", RELOAD,
    ]


def test_the_reload_or_restart_follows_pg_settings_context_in_the_checks() -> None:
    timeout = next(f for f in run({"wal_sender_timeout": "0"}).check("logical_replication").findings
                   if f.code == "wal_sender_timeout_disabled")
    assert timeout.remediation.sql_text() == ["ALTER SYSTEM SET \"wal_sender_timeout\" = '60s';", RELOAD]
    assert not timeout.remediation.requires_restart
    slots = run({"max_replication_slots": "0"}).check("logical_replication").findings[0]
    assert slots.remediation.sql_text() == ["ALTER SYSTEM SET \"max_replication_slots\" = '10';"]
    assert slots.remediation.requires_restart


def test_a_plugin_alter_system_written_its_own_way_still_gets_its_reload() -> None:
    """A hand-made statement may be anything, an ALTER SYSTEM too: the reload after it is kept."""
    report = _report(
        Remediation(sql=[SettingChange("wal_sender_timeout", 60, "s"), RELOADING]),
        Remediation(sql=[Sql(sql.SQL("ALTER SYSTEM SET work_mem = '64MB';")), RELOADING]),
        Remediation(sql=[RELOADING]),
    )
    assert statements(remediation_lines(report)) == [
        "ALTER SYSTEM SET \"wal_sender_timeout\" = '60s';", RELOAD, "ALTER SYSTEM SET work_mem = '64MB';", RELOAD]


@pytest.mark.parametrize(("provider", "fixed_by_sql"), [(SELF_MANAGED, True), ("rds", False), ("azure", False)])
def test_connection_headroom_fix_follows_the_provider(provider: str, fixed_by_sql: bool) -> None:
    from preflight.checks.grants_headroom import server_headroom

    role = snapshots.role(rolsuper=False, client_backends=11, hidden_sessions=0, checker_sees_all=True, memberships={})
    settings = {"max_connections": SettingRow(name="max_connections", setting="10", vartype="integer",
                                           context="postmaster")}
    findings, _ = server_headroom(role, settings, 150000, PROVIDERS[provider])
    fix = findings[0].remediation
    assert findings[0].code == "no_connection_headroom" and fix.requires_restart
    if fixed_by_sql:
        assert fix.sql_text() == ["ALTER SYSTEM SET \"max_connections\" = '15';"]
    else:
        assert fix.sql == [] and "max_connections = 15" in " ".join(fix.steps_text())


def test_standby_feedback_fix_on_a_managed_standby_is_not_alter_system() -> None:
    snap = make_snapshot({"hot_standby_feedback": {"value": "off", "vartype": "bool"}}, version_num=160000,
                         server={"in_recovery": True}, provider_signals=snapshots.provider_signals(roles=["azure_pg_admin"]))
    result = run_checks(snap, Options(profile="generic")).check("writer_status")
    fix = next(f for f in result.findings if f.code == "hot_standby_feedback_off").remediation
    assert fix.sql == [] and "server parameter hot_standby_feedback = on" in fix.steps_text()[0]
    local = run_checks(make_snapshot({"hot_standby_feedback": {"value": "off", "vartype": "bool"}}, version_num=160000,
                                     server={"in_recovery": True}), Options()).check("writer_status")
    assert next(f for f in local.findings if f.code == "hot_standby_feedback_off").remediation.sql_text() == [
        "ALTER SYSTEM SET \"hot_standby_feedback\" = 'on';", RELOAD]


def test_on_a_managed_service_each_setting_step_appears_once_with_the_largest_value() -> None:
    snap = make_snapshot({"max_replication_slots": "0", "max_wal_senders": "0"}, provider_signals=RDS_SIGNALS)
    report = run_checks(snap, Options())
    per_check = [s for c in report.checks for f in c.findings for s in f.remediation.steps_text()
                 if "set max_replication_slots" in s]
    assert len(per_check) == 2 and len(set(per_check)) == 2, "two checks disagree: the script must merge them"
    lines = remediation_lines(report)
    changes = [line for line in lines if "set max_replication_slots" in line]
    assert len(changes) == 1 and "max_replication_slots = 10;" in changes[0], changes
    assert "-- (max_replication_slots is changed above, to the largest value any finding needs)" in lines
    assert not statements(lines)


def test_every_size_and_duration_a_remediation_sets_carries_its_unit() -> None:
    """Every setting change the checks can print, provoked on one snapshot: a setting that has a unit in
    pg_settings is never given a bare number (it would silently mean the setting's own unit)."""
    from preflight.facts import ProbeStatus, WalSample

    snap = make_snapshot({"wal_level": "replica", "max_replication_slots": "0", "max_wal_senders": "0",
                          "wal_sender_timeout": "5000", "max_slot_wal_keep_size": "64", "max_connections": "3"},
                         wal_sample=WalSample(ProbeStatus.OK, start_lsn="0/0", end_lsn="0/1000000",
                                              wal_bytes=16 * 1024**2, seconds=1.0))
    report = run_checks(snap, Options())
    units = {row.name: row.unit for row in snap.facts["settings"]}
    changes = [s for c in report.checks for f in c.findings for s in f.remediation.sql if isinstance(s, SettingChange)]
    sized = [s for s in changes if units.get(s.name)]
    assert {s.name for s in sized} >= {"wal_sender_timeout", "max_slot_wal_keep_size"}, changes
    for change in sized:
        assert change.unit is not None, change
        assert re.search(r"'[0-9]+(kB|MB|GB|TB|ms|s|min|h|d)';\Z", change.text()), change.text()


def test_a_provider_parameter_gets_a_bare_number_in_its_own_unit_with_the_unit_named() -> None:
    """Parameter groups, flags and server parameters take the number in pg_settings' unit: '58GB' is
    written 59392, in MB, there, while the self-managed equivalent keeps '58GB' (and merges by it)."""
    keep = SettingRow(name="max_slot_wal_keep_size", setting="1024", unit="MB", vartype="integer", context="sighup")
    step = change_setting(PROVIDERS["rds"], "max_slot_wal_keep_size", 58, keep, "GB").steps_text()[0]
    assert "set max_slot_wal_keep_size = 59392 (in MB, the parameter's unit);" in step
    assert step.endswith("ALTER SYSTEM SET \"max_slot_wal_keep_size\" = '58GB';")
    timeout = SettingRow(name="wal_sender_timeout", setting="5000", unit="ms", vartype="integer", context="sighup")
    azure = change_setting(PROVIDERS["azure"], "wal_sender_timeout", 1, timeout, "min").steps_text()[0]
    assert "--value 60000) (in ms, the parameter's unit)" in azure
    assert "= 10;" in change_setting(PROVIDERS["rds"], "max_wal_senders", 10, None).steps_text()[0]  # no unit: as it is


def test_the_script_merges_setting_change_values_never_text_that_looks_like_one() -> None:
    """The merger reads the values: two changes of one setting (any units) become the larger, a provider's
    step merges with another provider step of the same setting, and hand-made SQL that reads like an
    ALTER SYSTEM of that setting is a statement of its own, printed as it is and never merged."""
    lookalike = Sql(sql.SQL("ALTER SYSTEM SET \"max_wal_senders\" = '99';"))
    report = _report(
        Remediation(sql=[SettingChange("max_wal_senders", 12, restart=True)], requires_restart=True),
        Remediation(sql=[lookalike]),
        Remediation(sql=[SettingChange("max_wal_senders", 20, restart=True)], requires_restart=True),
    )
    assert statements(remediation_lines(report)) == [
        "ALTER SYSTEM SET \"max_wal_senders\" = '20';", "ALTER SYSTEM SET \"max_wal_senders\" = '99';"]
    rds = PROVIDERS["rds"]
    steps = _report(*(change_setting(rds, "max_slot_wal_keep_size", amount, None, unit)
                      for amount, unit in ((60, "GB"), (1, "TB"), (512, "MB"))))
    lines = [line for line in remediation_lines(steps) if "set max_slot_wal_keep_size" in line]
    assert len(lines) == 1 and "max_slot_wal_keep_size = 1TB" in lines[0], lines
