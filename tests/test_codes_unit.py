"""Finding codes are declared (preflight/codes.py): the declarations' rules, the engine's refusal, and the codes
whose condition no test server can show (a server too old to run, a connection failure libpq reports only
in the field), produced here from hand-built snapshots."""

from __future__ import annotations

import ast
import re
from dataclasses import FrozenInstanceError, replace
from pathlib import Path

import pytest

from preflight import Options, run_checks
from preflight.check import Check, CheckContext
from preflight.checks.server_version import END_OF_LIFE
from preflight.codes import ENGINE_CODES, Code, Codes, UndeclaredCode, declare
from preflight.connection.failures import KINDS
from preflight.facts import ConnectOutcome, PluginProbeKind, ProbeStatus, Snapshot
from preflight.models import Finding, Severity
from preflight.registry import all_checks, codes_of
from preflight.runner import execute_checks
from preflight.unvalidated import builder
from tests import codes_coverage
from tests.snapshots import make_snapshot, plugin_probe, plugin_support

ROOT = Path(__file__).parent.parent
CODE_LITERAL = re.compile(r"""\bcode=["']([a-z0-9_]+)["']""")


def builtin_checks() -> list[type[Check]]:
    return all_checks(include_plugins=False)[0]


def test_a_code_needs_a_name_a_meaning_an_explain_text_and_one_severity_or_several() -> None:
    with pytest.raises(ValueError, match="invalid finding code 'Bad Name'"):
        Code("Bad Name", Severity.ERROR, "m", explain="e")
    with pytest.raises(ValueError, match="needs a meaning and an explain text"):
        Code("no_explain", Severity.ERROR, "m")
    with pytest.raises(ValueError, match="give one severity, or the two or three"):
        Code("one_in_a_tuple", (Severity.ERROR, Severity.ERROR), "m", explain="e")
    assert Code("graded", (Severity.ERROR, Severity.INFO), "m", explain="e").severity_text() == "info or error"
    with pytest.raises(ValueError, match="'twice' is declared twice"):
        declare(Code("twice", Severity.INFO, "m", explain="e"), declare(Code("twice", Severity.INFO, "m", explain="e")))


def test_admit_refuses_an_undeclared_code_and_an_undeclared_severity() -> None:
    codes = declare(Code("known", Severity.WARNING, "m", explain="e"))
    codes.admit("acme", [Finding(code="known", severity=Severity.WARNING, message="ok")])
    with pytest.raises(UndeclaredCode, match="check 'acme' produced the finding code 'unknown', which it does not"):
        codes.admit("acme", [Finding(code="unknown", severity=Severity.WARNING, message="?")])
    with pytest.raises(UndeclaredCode, match="produced 'known' as error, declared warning"):
        codes.admit("acme", [Finding(code="known", severity=Severity.ERROR, message="!")])


class _Liar(Check):
    """Declares ``declared_here`` (this module's CODES) and produces what it did not declare."""

    id = "acme_liar"
    title = "ACME: says what it never declared"
    needs_connection = False

    def run(self, ctx: CheckContext) -> list[Finding]:
        return [Finding(code="declared_here", severity=Severity.INFO, message="fine"),
                Finding(code="made_up", severity=Severity.INFO, message="?")]


CODES = declare(Code("declared_here", Severity.INFO, "what _Liar may say", explain="Nothing."))


def test_a_check_producing_an_undeclared_code_becomes_an_error_result_without_findings() -> None:
    results, _ = execute_checks([_Liar], make_snapshot(), Options())
    result = results["acme_liar"]
    assert (result.status.value, result.findings) == ("error", [])
    assert result.error == "check 'acme_liar' produced the finding code 'made_up', which it does not declare in its CODES"


def test_findings_are_frozen() -> None:
    finding = Finding(code="c", severity=Severity.INFO, message="m")
    with pytest.raises(FrozenInstanceError):
        finding.message = "edited"  # type: ignore[misc]
    built = builder(Finding, "code", "severity", "message")("c", Severity.INFO, "m")
    with pytest.raises(FrozenInstanceError):
        built.severity = Severity.ERROR  # type: ignore[misc]
    assert replace(finding, waived=True).waived and not finding.waived


def test_every_check_module_declares_its_codes_at_its_top() -> None:
    """``CODES = declare(...)`` comes before the module's first function or class: read first, like a table of
    contents. Helper modules that build findings (grants_hba, grants_headroom) declare theirs too."""
    for path in sorted((ROOT / "checks").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        first_def = next((n.lineno for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)), None)
        declared = [n.lineno for n in tree.body if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == "CODES" for t in n.targets)]
        if "Finding(" not in path.read_text(encoding="utf-8"):
            assert not declared, path.name
            continue
        assert declared, f"{path.name} builds findings and declares no CODES"
        assert first_def is None or declared[0] < first_def, f"{path.name}: CODES is not at the top"


def test_every_literal_code_in_a_check_module_is_declared_by_that_check() -> None:
    """Cheap and whole-suite independent: a ``code="..."`` written in a check's module (or its helpers) is in its
    declaration (the runner refuses it otherwise, only when a test reaches it)."""
    for check in builtin_checks():
        module = Path(ROOT / "checks" / f"{check.__module__.rpartition('.')[2]}.py")
        helpers = sorted(module.parent.glob(f"{module.stem}_*.py"))
        for path in [module, *helpers]:
            for code in CODE_LITERAL.findall(path.read_text(encoding="utf-8")):
                assert code in codes_of(check), f"{path.name}: {code!r} is not declared by {check.id}"


def test_no_two_owners_declare_one_code() -> None:
    """A code names one condition: waivers and diffs may match it without its check."""
    owners: dict[str, str] = {}
    for owner, codes in [*((c.id, codes_of(c)) for c in builtin_checks()), *ENGINE_CODES.items()]:
        for code in codes:
            assert code not in owners, f"{code!r} is declared by {owners[code]} and {owner}"
            owners[code] = owner


def test_the_slot_risk_codes_are_the_existing_slots_checks() -> None:
    risky = {(check.id, code.name, code.slot_risk) for check in builtin_checks()
             for code in codes_of(check).values() if code.slot_risk}
    assert risky == {("existing_slots", "slot_invalidated", "lost"), ("existing_slots", "other_slot_invalidated", "lost"),
                     ("existing_slots", "slot_unreserved", "unreserved"), ("existing_slots", "slot_stale", "retaining"),
                     ("existing_slots", "stale_slot_retains_wal", "retaining"),
                     ("existing_slots", "other_slot", "retaining")}


@pytest.mark.parametrize("kind", [k for k, _, _ in KINDS])
def test_every_kind_of_connection_failure_is_its_own_code(kind: str) -> None:
    """The classification of libpq's messages is tested on real failures (test_reachability_servers); some kinds
    (a host unreachable, a server starting up) happen only in the field: the check's mapping is tested here."""
    message, advice = next((m, a) for k, m, a in KINDS if k == kind)
    snap = Snapshot(connect=ConnectOutcome(ok=False, failure_kind=kind, failure_message=message, advice=advice,
                                           detail="the server's words"))
    finding = run_checks(snap, Options(checks=["reachability"])).check("reachability").findings[0]
    assert (finding.code, finding.severity, finding.observed) == (f"connect_{kind}", Severity.ERROR, kind)
    assert finding.remediation.steps == [advice]
    assert codes_of(next(c for c in builtin_checks() if c.id == "reachability"))[finding.code].explain == advice


def test_a_hidden_wal_level_is_an_error_saying_so() -> None:
    report = run_checks(make_snapshot({"wal_level": None}), Options(checks=["logical_replication"]))
    finding = report.check("logical_replication").findings[0]
    assert (finding.code, finding.severity, finding.message) == (
        "wal_level_unknown", Severity.ERROR, "wal_level is not visible to this role")


def test_a_server_older_than_the_profile_and_past_its_end_of_life() -> None:
    """PostgreSQL 12 (past its end of life) under profile ardent (13+): no test server is that old."""
    report = run_checks(make_snapshot(version_num=120022), Options(checks=["server_version"], profile="ardent"))
    findings = {f.code: f for f in report.check("server_version").findings}
    assert list(findings) == ["version_too_old", "version_end_of_life"]
    assert (findings["version_too_old"].observed, findings["version_too_old"].expected) == ("12.22", ">= 13.0")
    assert findings["version_end_of_life"].message == (f"PostgreSQL 12 reached community end of life on "
                                                       f"{END_OF_LIFE[12].isoformat()}: no more fixes.")


def test_pgoutput_before_10_is_an_error() -> None:
    snap = make_snapshot(version_num=90624, plugin_support=plugin_support(version=90624, allowlist=None, visible=False),
                         plugin_probe=plugin_probe(ProbeStatus.SKIPPED, PluginProbeKind.NOT_REQUESTED,
                                                   reason="not requested (--probe)"))
    result = run_checks(snap, Options(checks=["plugin_availability"])).check("plugin_availability")
    assert [(f.code, f.severity, f.observed) for f in result.findings] == [("pgoutput_needs_10", Severity.ERROR, 90624)]


def test_codes_is_a_read_only_mapping() -> None:
    codes = declare(Code("one", Severity.INFO, "m", explain="e"))
    assert isinstance(codes, Codes) and list(codes) == ["one"] and len(codes) == 1
    with pytest.raises(TypeError):
        codes["two"] = codes["one"]  # type: ignore[index]


def test_the_whole_suite_verdict_names_codes_never_produced_and_codes_never_declared() -> None:
    """What the conftest prints (and fails on) at the end of a whole-suite run (tests/codes_coverage.py)."""
    declared = set(codes_coverage.declared())
    assert codes_coverage.verdict(declared) == []
    assert codes_coverage.verdict(declared - {("grants", "no_select")} | {("acme", "any_plugin_code")}) == [
        "  grants: no_select (declared in preflight.checks.grants, produced by no test)"]
    assert codes_coverage.verdict(declared | {("grants", "no_such_code"), ("grants", "waiver_expired")}) == [
        "  grants: no_such_code (used, not declared)"]  # an engine code counts for every check
