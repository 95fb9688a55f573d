"""Issue 19: every built-in profile loads, every rule it sets says where it comes from (the consumer's documentation
or our own judgement), and docs/consumers.md is generated from them (stale, it fails here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from preflight import Options
from preflight.options import apply_profile
from preflight.profiles import BUILTIN, Consumer, Profile, load_profile
from preflight.registry import all_checks

ROOT = Path(__file__).parent.parent
# The consumers issue 19 asks for, by the profile names the session plan fixed.
ISSUE_19 = ("debezium", "native", "aws-dms", "datastream", "fivetran", "airbyte", "peerdb", "estuary", "materialize",
            "risingwave", "sequin")
# Fields that are no rule about the consumer (names, text, overrides of profile files written before the consumer).
NOT_RULES = {"name", "description", "consumer", "free_slots", "free_senders", "provenance", "notes", "sessions",
             "naming", "max_xact_age_s", "min_slot_budget_hours", "wal_sender_timeout_min_ms", "kind", "senders"}


def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("consumers_doc", ROOT / "docs" / "consumers.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def set_rules(profile: Profile) -> set[str]:
    """The rules a profile sets: every field that differs from the default, the consumer's as consumer.<field>."""
    default, default_consumer = Profile(name="x"), Consumer()
    rules = {f for f in Profile.model_fields if f not in NOT_RULES and getattr(profile, f) != getattr(default, f)}
    rules |= {f"consumer.{f}" for f in Consumer.model_fields
              if f not in NOT_RULES and getattr(profile.consumer, f) != getattr(default_consumer, f)}
    return rules


def test_docs_consumers_is_generated_from_the_profiles() -> None:
    for path, build in generator().GENERATED.items():
        assert path.read_text(encoding="utf-8") == build(), f"{path.name} is stale: run 'python docs/consumers.py'"


def test_every_consumer_of_the_issue_has_a_profile_and_a_section() -> None:
    text = (ROOT / "docs" / "consumers.md").read_text(encoding="utf-8")
    for name in ISSUE_19:
        assert name in BUILTIN
        assert f"## `{name}`: " in text and f"| `{name}` | " in text


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_loads_and_supplies_its_options(name: str) -> None:
    profile = load_profile(name)
    assert profile is BUILTIN[name] and profile.name == name
    resolved = apply_profile(Options(profile=name))
    assert (resolved.plugin, resolved.slots_needed) == (profile.plugin, profile.slots_needed)
    assert Profile.model_validate(profile.model_dump()) == profile  # what a profile file with the same keys gives


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_rule_a_builtin_sets_says_where_it_comes_from(name: str) -> None:
    profile = BUILTIN[name]
    known = set(generator().RULES)
    sourced = {p.rule for p in profile.provenance}
    assert sourced <= known, f"provenance for rules no check judges: {sourced - known}"
    missing = set_rules(profile) - sourced - {"column_rules", "migration_cutover", "computes_generated_columns",
                                              "streams_in_progress"}
    if name in ISSUE_19[3:]:  # the new profiles source every rule, the old ones' type rules carry their own source
        missing |= {r for r in set_rules(profile) if r not in sourced and r != "column_rules"}
    assert not missing, f"profile {name!r} sets {sorted(missing)} without saying where they come from"
    for rule in ("min_version_num", "plugin", "consumer.identity", "consumer.needs_heartbeat", "consumer.operations"):
        assert profile.source_of(rule) is not None, f"{name}: {rule} unsourced"
    for source in profile.provenance:
        assert source.source.strip(), f"{name}: {source.rule} has an empty source"


def test_documented_rules_name_the_consumers_page() -> None:
    """A documented rule names a page (title and section), never a link; ours says why."""
    for profile in BUILTIN.values():
        for source in profile.provenance:
            assert "://" not in source.source
            if source.documented and profile.name not in ("ardent",):
                assert "documentation" in source.source or "guide" in source.source, (profile.name, source)


def test_the_identity_rules_the_consumers_document() -> None:
    identity = {name: p.consumer.identity for name, p in BUILTIN.items() if p.consumer.identity != "any"}
    assert identity == {"materialize": "full", "airbyte": "primary_key", "peerdb": "primary_key_or_full",
                        "risingwave": "primary_key"}
    assert {n for n, p in BUILTIN.items() if not p.consumer.needs_heartbeat} == {"native", "datastream", "sequin"}
    assert {n for n, p in BUILTIN.items() if p.publish_via_partition_root} == {"estuary", "sequin"}


def test_a_profile_file_sets_the_new_rules(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.toml"
    path.write_text('publish_via_partition_root = true\n'
                    '[consumer]\nidentity = "full"\nneeds_heartbeat = true\n'
                    '[[provenance]]\nrule = "consumer.identity"\ndocumented = false\nsource = "our sink keys on it"\n')
    profile = load_profile(str(path))
    assert (profile.consumer.identity, profile.consumer.needs_heartbeat, profile.publish_via_partition_root) == (
        "full", True, True)
    assert profile.source_of("consumer.identity") is not None
    bad = tmp_path / "bad.toml"
    bad.write_text('[consumer]\nidentity = "unique_index"\n')
    with pytest.raises(ValueError, match="identity"):
        load_profile(str(bad))


def test_every_rule_is_judged_by_a_registered_check() -> None:
    """The page's 'judged by' column names real checks: no rule a profile can set is left to nobody."""
    ids = {check.id for check in all_checks()[0]}
    named = {c for checks, _ in generator().RULES.values() for c in checks.split(", ")}
    assert named <= ids, f"rules judged by no registered check: {named - ids}"
    assert set(generator().RULES) >= {"consumer.identity", "consumer.needs_heartbeat", "publish_via_partition_root"}
