"""One record per provider: everything pg-preflight knows about a managed service is in its entry of
``provider_detection.PROVIDERS`` (detection signals, how settings change, how replication is granted, what
it does not offer), and no other module keeps its own table of providers."""

from __future__ import annotations

import ast
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from preflight.facts.provider_signals import ProviderSignals
from preflight.provider_detection import PROVIDERS, SELF_MANAGED, Provider, detect
from preflight.remediation import change_setting, enable_logical_decoding, grant_replication

ROOT = Path(__file__).resolve().parent.parent
NO_SIGNALS = ProviderSignals(roles=[], settings=[], aurora_function=False, heroku_schema=False, aiven_extension=False)


def signals_of(record: Provider) -> ProviderSignals:
    """The signals a server of this provider shows, from its record alone (one of each kind it names)."""
    settings = list(record.signals.settings)
    if record.signals.setting_prefix:
        settings.append(record.signals.setting_prefix + "anything")
    found: dict[str, Any] = {"roles": list(record.signals.roles), "settings": settings}
    if record.signals.marker:
        found[record.signals.marker] = True
    return replace(NO_SIGNALS, **found)


def test_every_provider_has_exactly_one_record_under_its_own_name() -> None:
    assert all(name == record.name for name, record in PROVIDERS.items())
    assert len({r.title for r in PROVIDERS.values()}) == len(PROVIDERS)
    assert PROVIDERS[SELF_MANAGED].alter_system and not any(
        r.alter_system for r in PROVIDERS.values() if r.name != SELF_MANAGED), "only a self-managed server takes ALTER SYSTEM"


@pytest.mark.parametrize("record", [r for r in PROVIDERS.values() if r.signals.marker or r.signals.roles
                                    or r.signals.settings or r.signals.setting_prefix], ids=lambda r: r.name)
def test_each_provider_is_detected_from_the_signals_its_record_names(record: Provider) -> None:
    name, signal = detect(signals_of(record))
    assert name == record.name, signal


def test_providers_without_a_signal_are_only_named_with_provider() -> None:
    assert [r.name for r in PROVIDERS.values() if r.signals == type(r.signals)()] == ["crunchy", SELF_MANAGED]
    assert detect(NO_SIGNALS) == (SELF_MANAGED, "no managed-service signal found")


@pytest.mark.parametrize("record", list(PROVIDERS.values()), ids=lambda r: r.name)
def test_every_record_says_how_to_change_settings_grant_replication_and_enable_decoding(record: Provider) -> None:
    changed = change_setting(record, "max_wal_senders", 10, None)
    assert changed.sql_text() if record.alter_system else changed.steps_text() and not changed.sql
    grant = grant_replication(record, "cdc")
    assert grant.sql or grant.steps == [record.refusal()], "a grant, or the sentence saying it is not offered"
    assert record.replication_grantor or record.unsupported
    wal = enable_logical_decoding(record, None)
    assert wal.requires_restart and not wal.is_empty()


def test_what_a_provider_does_not_offer_is_said_in_one_place() -> None:
    """Heroku's "no logical replication" lives in its record: the sentence is written once in the source,
    and the grant, the wal_level fix and the provider check all say it from there."""
    sources = [p for p in [*ROOT.glob("preflight/**/*.py"), *ROOT.glob("checks/*.py")] if not p.is_symlink()]
    said = [p.name for p in sources if "logical replication to external consumers" in p.read_text(encoding="utf-8")]
    assert said == ["provider_detection.py"]
    heroku = PROVIDERS["heroku"]
    assert grant_replication(heroku, "cdc").steps_text() == enable_logical_decoding(heroku, None).steps_text() == [
        "Heroku Postgres does not offer logical replication to external consumers."]


def test_no_other_module_keeps_a_table_keyed_by_provider() -> None:
    """A dict literal whose keys are provider names, outside the registry, is provider knowledge in a
    second home (remediation.py held four)."""
    names = set(PROVIDERS) - {SELF_MANAGED}
    homes = []
    for path in [*ROOT.glob("preflight/**/*.py"), *ROOT.glob("checks/*.py"), *ROOT.glob("reports/*.py")]:
        if path.is_symlink() or path.name == "provider_detection.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict):
                keys = {k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)}
                if len(keys & names) >= 2:
                    homes.append(f"{path.name}:{node.lineno}")
    assert homes == []


def test_the_record_fields_are_the_whole_provider_model() -> None:
    assert {f.name for f in fields(Provider)} == {
        "name", "title", "signals", "settings", "enable_logical", "replication_role", "replication_grantor",
        "unsupported", "notes", "drops_inactive_slots_after_h", "slot_lifetime_note"}
