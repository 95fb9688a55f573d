"""Profiles state their consumer's assumptions as data; slot_capacity sizes its demand and its fix from them."""

from __future__ import annotations

from pathlib import Path

from preflight import Options, run_checks
from preflight.profiles import BUILTIN, load_profile
from tests.snapshots import make_snapshot


def test_generic_is_safe_for_a_native_subscriber() -> None:
    native, generic = BUILTIN["native"].consumer, BUILTIN["generic"].consumer
    assert (native.slots_needed, native.senders_needed) == (3, 3)  # 1 + the subscriber's 2 sync workers
    assert generic.slots_needed >= native.slots_needed and generic.senders_needed >= native.senders_needed
    assert generic.connections_needed >= native.connections_needed


def test_a_profile_file_states_its_consumer(tmp_path: Path) -> None:
    path = tmp_path / "wide.toml"
    path.write_text('[consumer]\nkind = "native subscription"\nsync_workers = 4\noperations = ["insert"]\n')
    profile = load_profile(str(path))
    assert (profile.slots_needed, profile.senders_needed, profile.consumer.operations) == (5, 5, ("insert",))
    older = tmp_path / "older.toml"
    older.write_text("free_slots = 2\n")
    assert load_profile(str(older)).slots_needed == 2


def test_slot_capacity_asks_for_the_initial_copy_and_says_why() -> None:
    snapshot = make_snapshot({"max_replication_slots": "3"})
    result = run_checks(snapshot, Options(checks=["slot_capacity"])).check("slot_capacity")
    assert result.status.value == "pass"
    tight = run_checks(make_snapshot({"max_replication_slots": "2"}), Options(checks=["slot_capacity"]))
    finding = tight.check("slot_capacity").findings[0]
    assert finding.code == "no_free_slot" and "3 needed (profile 'generic'" in finding.message
    assert "2 table-sync worker(s)" in finding.message
    assert finding.remediation.sql_text() == ["ALTER SYSTEM SET \"max_replication_slots\" = '3';"]


def test_profiles_say_what_their_consumer_does_with_replica_identity_full() -> None:
    """Only the hosted connector API applies a recorded FULL itself; only native subscribers compare columns."""
    applies = {name for name, p in BUILTIN.items() if p.consumer.applies_replica_identity_full}
    compares = {name for name, p in BUILTIN.items() if p.consumer.full_needs_equality}
    assert applies == {"ardent"} and compares == {"generic", "native"}


def test_a_resumed_slot_needs_neither_a_new_slot_nor_sync_workers(tmp_path: Path) -> None:
    assert (BUILTIN["generic"].slots_needed_resuming, BUILTIN["generic"].senders_needed_resuming) == (0, 1)
    path = tmp_path / "wide.toml"
    path.write_text("[consumer]\nslots = 2\nsync_workers = 4\napplies_replica_identity_full = true\n")
    wide = load_profile(str(path))
    assert (wide.slots_needed, wide.slots_needed_resuming, wide.senders_needed_resuming) == (6, 1, 1)  # its 2nd slot
    assert wide.consumer.applies_replica_identity_full and not wide.consumer.full_needs_equality
