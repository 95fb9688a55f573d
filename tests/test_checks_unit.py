"""The first four checks as pure functions of hand-built snapshots."""

from __future__ import annotations

import dataclasses

from preflight import Options, run_checks
from preflight.facts import ConnectOutcome, PendingSettingRow, Snapshot
from preflight.models import CheckStatus, Report, Verdict
from tests.snapshots import make_snapshot, provider_signals, setting_row, slot, walsenders

ENGINE = ["reachability", "writer_status", "logical_replication", "slot_capacity"]



def run(snapshot: Snapshot, **options: object) -> Report:
    return run_checks(snapshot, Options(checks=ENGINE, **options))


def codes(report: Report, check_id: str) -> list[str]:
    return [f.code for f in report.check(check_id).findings]


def test_healthy_snapshot_is_ready() -> None:
    report = run(make_snapshot())
    assert report.status is Verdict.READY
    assert {c.id: c.status for c in report.checks} == {i: CheckStatus.PASS for i in ENGINE}
    assert report.check("slot_capacity").summary.startswith("0/10 slots used")


def test_no_connection_skips_everything_but_reachability() -> None:
    snap = Snapshot(connect=ConnectOutcome(ok=False, failure_kind="dns", failure_message="the host name could not be resolved (DNS)",
                                           advice="Check the host name.", detail="could not translate host name"))
    report = run(snap)
    assert report.check("reachability").status is CheckStatus.FAIL
    assert report.check("reachability").findings[0].code == "connect_dns"
    assert report.check("reachability").findings[0].remediation.steps_text() == ["Check the host name."]
    assert all(report.check(i).status is CheckStatus.SKIP for i in ENGINE[1:])
    assert report.status is Verdict.NOT_READY


def test_wal_level_replica_fails_with_restart_remediation() -> None:
    report = run(make_snapshot({"wal_level": "replica"}))
    finding = report.check("logical_replication").findings[0]
    assert finding.code == "wal_level_not_logical"
    assert finding.remediation.requires_restart
    assert finding.remediation.sql_text() == ["ALTER SYSTEM SET \"wal_level\" = 'logical';"]


def test_pending_restart_names_the_new_value_when_visible() -> None:
    snap = make_snapshot({"wal_level": {"value": "replica", "vartype": "enum", "pending_restart": True}},
                         pending_settings=[PendingSettingRow("wal_level", "replica", applied=False, seqno=1),
                                           PendingSettingRow("wal_level", "logical", applied=False, seqno=2)])
    finding = run(snap).check("logical_replication").findings[0]
    assert finding.code == "wal_level_pending_restart"
    assert "to 'logical'" in finding.message


def test_pending_change_away_from_logical_is_a_warning() -> None:
    snap = make_snapshot({"wal_level": {"value": "logical", "vartype": "enum", "pending_restart": True}})
    report = run(snap)
    assert codes(report, "logical_replication") == ["wal_level_will_change"]
    assert report.check("logical_replication").status is CheckStatus.WARN


def test_zero_slots_and_senders_fail() -> None:
    report = run(make_snapshot({"max_replication_slots": "0", "max_wal_senders": "0"}))
    assert {"max_replication_slots_zero", "max_wal_senders_zero"} <= set(codes(report, "logical_replication"))
    assert report.check("slot_capacity").status is CheckStatus.FAIL


def test_sender_timeout_and_keep_size_are_warnings_only() -> None:
    report = run(make_snapshot({"wal_sender_timeout": "0", "max_slot_wal_keep_size": "-1"}))
    assert report.check("logical_replication").status is CheckStatus.WARN
    assert set(codes(report, "logical_replication")) == {"wal_sender_timeout_disabled", "max_slot_wal_keep_size_unlimited"}
    small = run(make_snapshot({"wal_sender_timeout": "5000", "max_slot_wal_keep_size": "64"}))
    assert set(codes(small, "logical_replication")) == {"wal_sender_timeout_short", "max_slot_wal_keep_size_small"}


def test_keep_size_absent_before_13_is_not_reported() -> None:
    report = run(make_snapshot({"max_slot_wal_keep_size": None}, version_num=120000))
    assert report.check("logical_replication").status is CheckStatus.PASS


def test_physical_slots_count_against_capacity() -> None:
    slots = [slot("ha", slot_type="physical"), slot("old_cdc")]
    report = run(make_snapshot({"max_replication_slots": "2"}, slots=slots))
    finding = report.check("slot_capacity").findings[0]
    assert finding.code == "no_free_slot"
    assert "2/2 replication slots used (1 logical, 1 physical)" in finding.message
    assert "2 of the 2 are inactive" in finding.remediation.steps_text()[0]


def test_walsender_headroom() -> None:
    snap = make_snapshot({"max_wal_senders": "2"}, walsenders=walsenders(2, 2, can_see_all=True))
    assert codes(run(snap), "slot_capacity") == ["no_free_walsender"]
    hidden = make_snapshot({"max_wal_senders": "2"}, walsenders=walsenders(2, 0, can_see_all=False))
    finding = run(hidden).check("slot_capacity").findings[0]
    assert "could not see" in finding.message
    # a snapshot saved before walsender pids were read, by a role that sees only its own sessions: enough free
    roomy = make_snapshot({"max_wal_senders": "10"}, walsenders=walsenders(1, 1, can_see_all=False))
    partly = run(roomy).check("slot_capacity").findings
    assert [(f.code, f.severity.value) for f in partly] == [("walsenders_partly_visible", "info")]
    assert partly[0].message.startswith("walsender count 1/10 (could not see every session")


def test_standby_fails_with_version_nuance() -> None:
    old = run(make_snapshot(server={"in_recovery": True}, version_num=150000)).check("writer_status")
    assert old.status is CheckStatus.FAIL and old.findings[0].code == "standby"
    assert "Before PostgreSQL 16" in old.findings[0].message
    strict = run(make_snapshot(server={"in_recovery": True}, version_num=160000), profile="ardent").check("writer_status")
    assert strict.status is CheckStatus.FAIL and "requires the writer" in strict.findings[0].message


def test_standby_16_says_what_decoding_needs_when_the_profile_allows_it() -> None:
    snap = make_snapshot({"hot_standby_feedback": {"value": "off", "vartype": "bool"}}, server={"in_recovery": True},
                         version_num=160000)
    result = run(snap).check("writer_status")
    assert [f.code for f in result.findings] == ["standby_decoding", "hot_standby_feedback_off"]
    assert result.status is CheckStatus.FAIL
    fed = make_snapshot({"hot_standby_feedback": {"value": "on", "vartype": "bool"}}, server={"in_recovery": True},
                        version_num=160000)
    assert run(fed).check("writer_status").status is CheckStatus.WARN


def test_profile_thresholds_name_the_profile() -> None:
    report = run(make_snapshot({"max_replication_slots": "4"}), profile="ardent")
    finding = next(f for f in report.check("logical_replication").findings if f.object == "max_replication_slots")
    assert finding.code == "max_replication_slots_below_profile" and "'ardent'" in finding.message
    assert "'10'" in finding.remediation.sql_text()[0]
    ssl = report.check("reachability").findings[-1]
    assert ssl.code == "ssl_required" and ssl.severity.value == "error"
    assert report.options["plugin"] == "wal2json"  # the profile's plugin, since none was given
    explicit = run(make_snapshot(), profile="ardent", plugin="pgoutput")
    assert explicit.options["plugin"] == "pgoutput"


def test_managed_provider_gets_console_steps_not_alter_system() -> None:
    signals = provider_signals(roles=["rds_superuser"], settings=["rds.extensions", "rds.logical_replication"])
    report = run(make_snapshot({"wal_level": "replica"}, provider_signals=signals))
    finding = report.check("logical_replication").findings[0]
    assert finding.remediation.sql_text() == []
    assert "rds.logical_replication = 1" in finding.remediation.steps_text()[0]
    assert report.target.provider == "rds" and report.target.provider_signal == "setting rds.extensions"
    aurora = run(make_snapshot(provider_signals=dataclasses.replace(signals, aurora_function=True)))
    assert aurora.target.provider == "aurora"


def test_read_only_default_from_role_gets_alter_role() -> None:
    snap = make_snapshot({"default_transaction_read_only": {"value": "on", "vartype": "bool", "source": "user"}},
                         server={"default_transaction_read_only": "on", "role": 'Odd "Role"'})
    finding = run(snap).check("writer_status").findings[0]
    assert finding.remediation.sql_text() == ['ALTER ROLE "Odd ""Role""" SET default_transaction_read_only = off;']


def test_missing_fact_is_error_with_cause() -> None:
    snap = make_snapshot()
    del snap.facts["slots"]
    snap.failures["slots"] = "55P03: canceling statement due to lock timeout"
    result = run(snap).check("slot_capacity")
    assert result.status is CheckStatus.ERROR
    assert "lock timeout" in (result.error or "")


def test_a_crashing_check_is_error_for_that_check_only() -> None:
    snap = make_snapshot()
    snap.facts["settings"] = [setting_row("wal_level", "logical", vartype="enum")]  # max_* missing -> KeyError
    report = run(snap)
    assert report.check("slot_capacity").status is CheckStatus.ERROR
    assert report.check("reachability").status is CheckStatus.PASS
    assert report.status is Verdict.INCOMPLETE


def test_setting_already_higher_is_never_lowered() -> None:
    slots = [slot(f"s{i}") for i in range(40)]
    report = run(make_snapshot({"max_replication_slots": "40"}, slots=slots), slots_needed=3)
    assert report.check("slot_capacity").findings[0].remediation.sql_text() == ["ALTER SYSTEM SET \"max_replication_slots\" = '43';"]


def test_pooled_endpoints_are_flagged() -> None:
    from preflight.checks.provider import pooled_endpoint

    assert pooled_endpoint("aws-0-eu.pooler.supabase.com", 6543) == "Supavisor (Supabase pooler)"
    assert pooled_endpoint("ep-cool-1234-pooler.eu-central-1.aws.neon.tech", 5432) == "Neon pooler"
    assert pooled_endpoint("db.proxy-abc.eu-west-1.rds.amazonaws.com", 5432) == "RDS Proxy"
    assert pooled_endpoint("10.0.0.5", 6432) == "PgBouncer's default port 6432"
    assert pooled_endpoint("db.internal", 5432) is None
    snap = make_snapshot()
    assert snap.server is not None
    snap.server.port = 6432
    finding = next(f for f in run_checks(snap, Options(checks=["provider"])).check("provider").findings
                   if f.code == "pooled_endpoint")
    assert finding.severity.value == "warning"


def test_the_consumers_own_resumable_slot_is_not_a_new_slot() -> None:
    """4 slots, 2 used, one of them the consumer's own: it is resumed (no new slot, no initial copy)."""
    settings = {"max_replication_slots": "4", "max_wal_senders": "4"}
    own = make_snapshot(settings, slots=[slot("ha", slot_type="physical"), slot("debezium_shop")])
    report = run(own, slot_name="debezium_shop")
    result = report.check("slot_capacity")
    assert result.status is CheckStatus.PASS, result.findings
    assert "'debezium_shop' is resumed, not created" in result.summary
    assert codes(run(own), "slot_capacity")[0] == "no_free_slot"  # without --slot-name: 3 new slots needed
    assert codes(run(own, slot_name="debezium_shop", slots_needed=3), "slot_capacity")[0] == "no_free_slot"
    full = make_snapshot({"max_replication_slots": "2", "max_wal_senders": "2"},
                         slots=[slot("ha", slot_type="physical"), slot("debezium_shop")])
    assert run(full, slot_name="debezium_shop").check("slot_capacity").status is CheckStatus.PASS


def test_a_slot_of_that_name_that_cannot_be_resumed_counts_as_used() -> None:
    settings = {"max_replication_slots": "4", "max_wal_senders": "4"}
    for unusable in (slot("debezium_shop", active=True), slot("debezium_shop", plugin="wal2json"),
                     slot("debezium_shop", database="other"),
                     slot("debezium_shop", wal_status="lost"), slot("debezium_shop", temporary=True)):
        snap = make_snapshot(settings, slots=[slot("ha", slot_type="physical"), unusable])
        assert codes(run(snap, slot_name="debezium_shop"), "slot_capacity")[0] == "no_free_slot", unusable
