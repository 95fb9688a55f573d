"""Pure logic of the session checks: stored values, precedence, formats, the proof's reading."""

from __future__ import annotations

from pathlib import Path

from preflight.checks.session_timeouts import fix, to_ms
from preflight.checks.text_settings import harmless
from preflight.facts import ProbeStatus, RoleSettingRow, SessionProbeResult
from preflight.facts.role_settings import effective
from preflight.profiles import ConsumerSessions, consumer_sessions, load_profile


def row(level: str, name: str, value: str, role: str = "cdc", db: str = "app") -> RoleSettingRow:
    return RoleSettingRow(level, role, db, name, value)


def test_stored_timeouts_in_milliseconds() -> None:
    assert to_ms("5ms") == 5
    assert to_ms("30s") == 30000
    assert to_ms("2min") == 120000
    assert to_ms("1500") == 1500  # no unit: the setting's, milliseconds
    assert to_ms("1h") == 3600000
    assert to_ms("soon") is None


def test_most_specific_stored_setting_wins() -> None:
    rows = [row("all_roles", "lock_timeout", "9s"), row("database", "lock_timeout", "2s"),
            row("role", "lock_timeout", "1s"), row("database", "statement_timeout", "5s")]
    winners = effective(rows)
    assert winners["lock_timeout"].value == "1s"
    assert winners["statement_timeout"].level == "database"


def test_fix_resets_only_the_roles_own_value_and_overrides_the_rest() -> None:
    assert fix(row("role_in_database", "statement_timeout", "5s")).text() == \
        'ALTER ROLE "cdc" IN DATABASE "app" RESET statement_timeout;'
    assert fix(row("database", "lock_timeout", "2s")).text() == \
        'ALTER ROLE "cdc" IN DATABASE "app" SET lock_timeout = \'0\';'
    assert fix(row("role", "datestyle", "SQL, DMY", role='we"ird'), "ISO, MDY").text() == \
        'ALTER ROLE "we""ird" IN DATABASE "app" SET datestyle = \'ISO, MDY\';'


def test_harmless_formats() -> None:
    assert harmless("datestyle", "ISO, DMY")
    assert not harmless("datestyle", "SQL, DMY")
    assert not harmless("datestyle", "German")
    assert harmless("extra_float_digits", "3")
    assert not harmless("extra_float_digits", "0")
    assert not harmless("extra_float_digits", "-15")
    assert harmless("bytea_output", "hex")
    assert not harmless("bytea_output", "escape")
    assert harmless("intervalstyle", "postgres")
    assert not harmless("intervalstyle", "iso_8601")
    assert harmless("timezone", "UTC")
    assert not harmless("timezone", "Europe/Berlin")


def test_proof_reading() -> None:
    direct = SessionProbeResult(ProbeStatus.OK, True, 10, 10, 11, 11, True)
    assert not direct.proxied and not direct.session_moves
    pooled = SessionProbeResult(ProbeStatus.OK, False, 99, 10, 11, 10, True)
    assert pooled.proxied and pooled.session_moves


def test_profile_file_gives_its_consumer_sessions(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('plugin = "wal2json"\n[sessions]\nsets_at_connect = ["datestyle"]\ndocumented = true\n')
    assert consumer_sessions(load_profile(str(path))) == ConsumerSessions(sets_at_connect=("datestyle",),
                                                                          documented=True)
    assert consumer_sessions(load_profile("native")).confirms_keepalives
    assert consumer_sessions(load_profile("generic")) == ConsumerSessions()
