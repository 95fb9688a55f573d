"""existing_slots as a pure function of hand-built snapshots."""

from __future__ import annotations

from typing import Any

from preflight import Options, run_checks
from preflight.facts import Snapshot
from preflight.models import CheckResult, CheckStatus, Finding
from tests.snapshots import make_snapshot, slot, wal_stats

GB = 1024**3


def run(snapshot: Snapshot, **options: Any) -> CheckResult:
    return run_checks(snapshot, Options(checks=["existing_slots"], **options)).check("existing_slots")


def only(result: CheckResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert len(found) == 1, [f.code for f in result.findings]
    return found[0]


def test_free_slot_name_passes() -> None:
    result = run(make_snapshot(), slot_name="cdc")
    assert result.status is CheckStatus.PASS
    assert only(result, "slot_name_free").object == "cdc"


def test_active_slot_fails_naming_pid_and_client() -> None:
    snap = make_snapshot(slots=[slot("cdc", active=True, active_pid=777, client_application="debezium",
                                     client_addr="10.0.0.5/32")])
    result = run(snap, slot_name="cdc")
    assert result.status is CheckStatus.FAIL
    finding = only(result, "slot_in_use")
    assert "pid 777" in finding.message and "debezium" in finding.message and "10.0.0.5" in finding.message


def test_active_slot_with_invisible_client_says_could_not_see() -> None:
    result = run(make_snapshot(slots=[slot("cdc", active=True)]), slot_name="cdc")
    assert "could not see" in only(result, "slot_in_use").message


def test_inactive_slot_warns_with_destructive_drop() -> None:
    result = run(make_snapshot(slots=[slot("it's", retained_bytes=3 * GB)]), slot_name="it's")
    assert result.status is CheckStatus.WARN
    finding = only(result, "slot_stale")
    assert "3GB" in finding.message
    assert finding.remediation.destructive
    assert finding.remediation.sql_text() == ["SELECT pg_catalog.pg_drop_replication_slot('it''s');"]


def test_same_name_in_other_database_fails() -> None:
    snap = make_snapshot(slots=[slot("cdc", database="other")])
    result = run(snap, slot_name="cdc")
    assert result.status is CheckStatus.FAIL
    finding = only(result, "slot_in_other_database")
    assert finding.observed == "other" and finding.expected == "app"
    assert "unique per cluster" in finding.message


def test_other_plugin_and_physical_fail() -> None:
    result = run(make_snapshot(slots=[slot("cdc", plugin="wal2json")]), slot_name="cdc")
    assert only(result, "slot_plugin_mismatch").observed == "wal2json"
    assert result.status is CheckStatus.FAIL
    physical = run(make_snapshot(slots=[slot("cdc", slot_type="physical")]), slot_name="cdc")
    assert physical.status is CheckStatus.FAIL and only(physical, "slot_is_physical")


def test_lost_and_invalidated_slots_cannot_be_resumed() -> None:
    for extra in ({"wal_status": "lost", "retained_bytes": None}, {"conflicting": True},
                  {"invalidation_reason": "wal_removed"}):
        result = run(make_snapshot(slots=[slot("cdc", **extra)]), slot_name="cdc")
        finding = only(result, "slot_invalidated")
        assert result.status is CheckStatus.FAIL
        assert "new snapshot" in finding.message and finding.remediation.destructive
        assert not [f for f in result.findings if f.code == "slot_stale"]
    unreserved = run(make_snapshot(slots=[slot("cdc", wal_status="unreserved")]), slot_name="cdc")
    assert only(unreserved, "slot_unreserved").severity.value == "warning"


def test_rds_prefix_warns() -> None:
    result = run(make_snapshot(), slot_name="rds_cdc")
    assert result.status is CheckStatus.WARN
    assert only(result, "slot_name_reserved")


def test_without_slot_name_lists_logical_slots_and_warns_on_big_stale_ones() -> None:
    snap = make_snapshot(slots=[slot("small"), slot("big", retained_bytes=2 * GB), slot("busy", active=True, retained_bytes=9 * GB),
                                slot("ha", slot_type="physical")])
    result = run(snap)
    assert result.status is CheckStatus.WARN
    assert {f.object: f.code for f in result.findings} == {"small": "other_slot", "big": "stale_slot_retains_wal",
                                                           "busy": "other_slot"}
    assert "over 1GB" in only(result, "stale_slot_retains_wal").message
    assert only(result, "stale_slot_retains_wal").remediation.destructive

def test_threshold_is_half_of_a_bounded_keep_size() -> None:
    snap = make_snapshot({"max_slot_wal_keep_size": "1024"}, slots=[slot("mid", retained_bytes=600 * 1024**2)])
    assert only(run(snap), "stale_slot_retains_wal").expected == "<= 512MB"
    unbounded = make_snapshot({"max_slot_wal_keep_size": "-1"}, slots=[slot("mid", retained_bytes=600 * 1024**2)])
    assert run(unbounded).status is CheckStatus.PASS  # 1GB applies when unbounded


def test_wal_rate_from_pg_stat_wal() -> None:
    snap = make_snapshot({"max_slot_wal_keep_size": "10240"},
                         wal_stats=wal_stats(2 * GB * 24, 86400.0))
    finding = only(run(snap), "wal_rate")
    assert finding.observed == "2GB/h"
    assert "about 5.0 h" in finding.message
    assert not [f for f in run(make_snapshot(wal_stats=None)).findings if f.code == "wal_rate"]


def test_wal_rate_is_unknown_moments_after_a_stats_reset() -> None:
    snap = make_snapshot({"max_slot_wal_keep_size": "10240"}, wal_stats=wal_stats(2 * GB, 90.0))
    finding = only(run(snap), "wal_rate")
    assert finding.observed is None  # 2 GB in 90 s is not "80GB/h"
    assert "unknown" in finding.message and "1.5 min ago" in finding.message and "--sample" in finding.message
    assert "/h" not in finding.message and "h before" not in finding.message


def test_another_lost_slot_warns_and_retained_wal_is_a_typed_number() -> None:
    """``bytes`` carries the retained WAL exactly (the estate merge ranks slots by it); ``observed`` is for people."""
    snap = make_snapshot(slots=[slot("gone", invalidation_reason="wal_removed"), slot("big", retained_bytes=2 * GB + 7),
                                slot("fresh", retained_bytes=None)])
    result = run(snap)
    lost = only(result, "other_slot_invalidated")
    assert (lost.object, lost.severity.value, lost.bytes) == ("gone", "warning", None)
    assert lost.remediation.destructive
    big = only(result, "stale_slot_retains_wal")
    assert (big.bytes, big.observed) == (2 * GB + 7, "2.0GB of WAL")
    fresh = next(f for f in result.findings if f.object == "fresh")
    assert (fresh.code, fresh.bytes, fresh.observed) == ("other_slot", None, "unknown WAL (no restart_lsn)")
