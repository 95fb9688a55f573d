"""The slot checks' logic on hand-built snapshots: the branches a server test does not reach cheaply."""

from __future__ import annotations

from typing import Any

from preflight import Options, run_checks
from preflight.consumers.model import ConsumerSettings
from preflight.facts import RecoveryConflicts, SlotPublicationAge, SlotStatsRow, Snapshot, StandbyRow
from preflight.models import CheckResult
from tests.snapshots import make_snapshot, publication, publications, slot


def run(check: str, snapshot: Snapshot, **options: Any) -> CheckResult:
    return run_checks(snapshot, Options(checks=[check], **options)).check(check)


def codes(result: CheckResult) -> dict[str, str]:
    return {f.code: f.severity.value for f in result.findings}


def order_snapshot(version: int, between: int, shared: str | None = None, active: bool = False,
                   published: bool = True) -> Snapshot:
    age = SlotPublicationAge(slot_name="cdc", plugin="pgoutput", active=active, pubname="pub", xids_between=between,
                             shares_horizon_with=shared)
    return make_snapshot(version_num=version, server={"database": "app"},
                         slots=[slot("cdc", active=active, plugin="pgoutput", database="app")],
                         publication_age=[age] if published else [],
                         publications=publications([publication("pub")] if published else []))


def test_slot_publication_order_by_signal_and_version() -> None:
    opts = {"slot_name": "cdc", "publication": "pub"}
    assert codes(run("slot_publication_order", order_snapshot(170000, 3), **opts)) == {"slot_predates_publication": "error"}
    assert codes(run("slot_publication_order", order_snapshot(170000, 0), **opts)) == {}
    assert codes(run("slot_publication_order", order_snapshot(170000, -5), **opts)) == {}
    assert codes(run("slot_publication_order", order_snapshot(170000, 3, shared="old"), **opts)) == {
        "slot_predates_publication": "warning"}
    assert codes(run("slot_publication_order", order_snapshot(160000, 3, active=True), **opts)) == {
        "slot_predates_publication": "warning"}
    assert codes(run("slot_publication_order", order_snapshot(180000, 3), **opts)) == {"slot_predates_publication": "info"}
    assert codes(run("slot_publication_order", order_snapshot(150000, 0, published=False), **opts)) == {
        "publication_after_slot": "warning"}
    # wal2json reads no publication: nothing to judge.
    assert codes(run("slot_publication_order", order_snapshot(150000, 3), plugin="wal2json", slot_name="cdc")) == {}


def failover_snapshot(version: int, **slot_over: Any) -> Snapshot:
    return make_snapshot(version_num=version,
                         settings={"synchronized_standby_slots": {"value": "sb1", "vartype": "string"}},
                         slots=[slot("sb1", active=True, slot_type="physical"),
                                slot("cdc", plugin="pgoutput", database="app", **slot_over)],
                         standbys=[StandbyRow(pid=7, application_name="walreceiver", slot_name="sb1", feedback_xmin="9")])


def test_failover_verdicts() -> None:
    assert codes(run("failover_slots", failover_snapshot(170000, failover=False), slot_name="cdc")) == {
        "slot_not_failover": "error", "failover_standby_unverified": "warning"}
    assert codes(run("failover_slots", failover_snapshot(170000, failover=True), slot_name="cdc")) == {
        "slot_failover_enabled": "info", "failover_standby_unverified": "warning"}
    need = run("failover_slots", failover_snapshot(170000), profile="aws-dms")
    assert codes(need) == {"failover_slot_needed": "warning", "failover_standby_unverified": "warning"}
    assert "pg_create_logical_replication_slot" in need.findings[0].remediation.steps_text()[0]
    # The consumer's file creates the (not yet existing) slot with failover; an existing slot keeps its own.
    configured = ConsumerSettings(format="debezium", file="c.json", failover_slot=True,
                                  sources={"failover_slot": "c.json: slot.failover"})
    planned = run("failover_slots", failover_snapshot(170000), slot_name="new", consumer=configured)
    assert codes(planned) == {"failover_slot_configured": "info", "failover_standby_unverified": "warning"}
    assert "c.json: slot.failover" in planned.findings[0].message
    assert codes(run("failover_slots", failover_snapshot(170000, failover=False), slot_name="cdc",
                     consumer=configured)) == {"slot_not_failover": "error", "failover_standby_unverified": "warning"}
    loaded = make_snapshot(version_num=160000, settings={"shared_preload_libraries": {
        "value": "pg_failover_slots", "vartype": "string"}}, standbys=[StandbyRow(pid=7)])
    assert codes(run("failover_slots", loaded)) == {"failover_slots_extension": "info"}
    standby = make_snapshot(version_num=170000, server={"in_recovery": True}, standbys=[StandbyRow(pid=7)])
    assert codes(run("failover_slots", standby)) == {}


def test_large_transactions_before_14_and_streaming_profiles() -> None:
    old = run("large_transactions", make_snapshot(version_num=130000, slot_stats=[]))
    assert codes(old) == {"decoding_memory": "info"}
    spilled = make_snapshot(version_num=150000, slot_stats=[SlotStatsRow(slot_name="s", spill_txns=2, spill_bytes=10**9)])
    result = run("large_transactions", spilled)
    assert codes(result) == {"decoding_memory": "info", "decoding_spills": "warning"}
    assert codes(run("large_transactions", spilled, profile="native")) == {"decoding_memory": "info",
                                                                           "decoding_spills": "info"}


def test_standby_source_counts_slot_invalidations() -> None:
    snap = make_snapshot(version_num=160000, server={"in_recovery": True},
                         settings={"max_standby_streaming_delay": {"value": "-1", "unit": "ms"}},
                         recovery_conflicts=RecoveryConflicts(logical_slot=2))
    result = run("standby_source", snap)
    assert codes(result) == {"standby_recovery_conflicts": "warning"}
    assert "2 logical slot(s) invalidated" in str(result.findings[0].observed)
