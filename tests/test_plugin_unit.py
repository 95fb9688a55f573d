"""plugin_availability on hand-built snapshots: built-in, allow-list, visibility and probe outcomes."""

from __future__ import annotations

from typing import Any

from preflight import Options, run_checks
from preflight.facts import PluginProbeKind, PluginProbeResult, ProbeBlockers, ProbeStatus
from preflight.models import CheckResult, CheckStatus, Severity
from preflight.pg_versions import has_output_plugin_libraries
from tests.snapshots import make_snapshot, plugin_probe, plugin_support

NOT_REQUESTED = plugin_probe(ProbeStatus.SKIPPED, PluginProbeKind.NOT_REQUESTED, reason="not requested (--probe)")


def check(plugin: str = "pgoutput", probe: PluginProbeResult | None = None, **kw: Any) -> CheckResult:
    snap = make_snapshot(plugin_support=plugin_support(**kw), plugin_probe=probe or NOT_REQUESTED)
    report = run_checks(snap, Options(checks=["plugin_availability"], plugin=plugin, probe=probe is not None))
    return report.check("plugin_availability")


def codes(result: CheckResult) -> list[str]:
    return [f.code for f in result.findings]


def test_pgoutput_passes_without_probe() -> None:
    result = check()
    assert result.status is CheckStatus.PASS and result.findings == []
    assert "built in" in result.summary


def test_wal2json_without_probe_warns_not_verified_with_install_advice() -> None:
    result = check("wal2json", allowlist="pgoutput, test_decoding, wal2json")
    assert result.status is CheckStatus.WARN
    assert codes(result) == ["plugin_not_verified"]
    steps = " ".join(result.findings[0].remediation.steps_text())
    assert "--probe" in steps and "postgresql-16-wal2json" in steps


def test_decoderbufs_and_unknown_plugins_get_their_own_advice() -> None:
    assert "postgresql-16-decoderbufs" in " ".join(check("decoderbufs", visible=False).findings[0].remediation.steps_text())
    unknown = check("my_plugin", visible=False, version=150018)
    assert codes(unknown) == ["plugin_not_verified"]
    assert "pkglibdir" in " ".join(unknown.findings[0].remediation.steps_text())


def test_plugin_outside_allowlist_fails_with_sql_keeping_existing_entries() -> None:
    result = check("wal2json", allowlist="pgoutput, test_decoding, \"My Plug\"")
    assert result.status is CheckStatus.FAIL
    finding = result.findings[0]
    assert finding.code == "plugin_not_allowed" and "42501" in finding.message
    assert finding.remediation.sql_text() == [
        "ALTER SYSTEM SET \"output_plugin_libraries\" = 'pgoutput', 'test_decoding', 'My Plug', 'wal2json';",
        "SELECT pg_catalog.pg_reload_conf();",
    ]


def test_invisible_allowlist_on_a_version_that_has_it_says_could_not_see() -> None:
    result = check("wal2json", visible=False, can_read=False, role="Cdc User")
    assert result.status is CheckStatus.WARN
    finding = next(f for f in result.findings if f.code == "allowlist_not_visible")
    assert "Could not see" in finding.message and finding.severity is Severity.WARNING
    assert finding.remediation.sql_text() == ['GRANT pg_read_all_settings TO "Cdc User";']
    assert "could not see" in result.summary


def test_absent_setting_on_an_older_minor_is_not_could_not_see() -> None:
    for can_read in (True, False):
        result = check("pgoutput", visible=False, can_read=can_read, version=150018)
        assert result.status is CheckStatus.PASS and result.findings == []
        assert "no output_plugin_libraries on this server version" in result.summary


def test_allowlist_versions() -> None:
    assert not has_output_plugin_libraries(150018) and has_output_plugin_libraries(150019)
    assert has_output_plugin_libraries(160015) and not has_output_plugin_libraries(160014)
    assert has_output_plugin_libraries(170011) and has_output_plugin_libraries(180006) and has_output_plugin_libraries(190000)
    assert not has_output_plugin_libraries(140023) and not has_output_plugin_libraries(130020)


def test_probe_ok_passes_and_settles_an_invisible_allowlist() -> None:
    result = check("wal2json", probe=plugin_probe(ProbeStatus.OK, plugin="wal2json"), visible=False, can_read=False)
    assert result.status is CheckStatus.PASS
    assert [f.severity for f in result.findings] == [Severity.INFO]
    assert "loads" in result.summary


def test_probe_library_missing_fails_with_58p01() -> None:
    probe = plugin_probe(ProbeStatus.FAILED, PluginProbeKind.LIBRARY_MISSING, sqlstate="58P01",
                         detail='could not access file "nope": No such file or directory')
    result = check("nope", probe=probe, version=150018, visible=False)
    assert result.status is CheckStatus.FAIL
    assert codes(result) == ["plugin_library_missing"]
    assert "58P01" in result.findings[0].message and "could not access file" in result.findings[0].message


def test_probe_refused_by_allowlist_is_reported_once() -> None:
    probe = plugin_probe(ProbeStatus.FAILED, PluginProbeKind.NOT_ALLOWED, sqlstate="42501", detail="may not be used",
                         hint="add it")
    assert codes(check("wal2json", probe=probe)) == ["plugin_not_allowed"]
    hidden = check("wal2json", probe=probe, visible=False, can_read=False)
    assert hidden.status is CheckStatus.FAIL
    assert "plugin_not_allowed_probe" in codes(hidden)


def test_probe_timeout_names_blockers() -> None:
    probe = plugin_probe(ProbeStatus.FAILED, PluginProbeKind.TIMEOUT, sqlstate="55P03", wait_bound_s=5.0,
                         blockers=ProbeBlockers(xid_sessions=1, prepared=1, oldest_xact_s=3600.0, pids=[4242]))
    result = check("wal2json", probe=probe, version=150018, visible=False)
    assert result.status is CheckStatus.WARN
    message = result.findings[0].message
    assert "4242" in message and "1 prepared" in message and "3600 s" in message


def test_probe_inconclusive_kinds_warn_and_point_to_the_right_check() -> None:
    for kind, word in ((PluginProbeKind.WAL_LEVEL, "wal_level"), (PluginProbeKind.PRIVILEGE, "grants"),
                       (PluginProbeKind.STANDBY_BEFORE_16, "standby")):
        status = ProbeStatus.SKIPPED if kind is PluginProbeKind.STANDBY_BEFORE_16 else ProbeStatus.FAILED
        result = check("wal2json", probe=plugin_probe(status, kind, detail="x"), version=150018, visible=False)
        assert result.status is CheckStatus.WARN, kind
        assert word in result.findings[0].message
