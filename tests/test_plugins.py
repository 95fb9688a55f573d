"""Third-party checks from the ``pg_preflight.checks`` entry-point group, installed for real.

The test writes a small distribution (module + dist-info with entry_points.txt) into a directory on
PYTHONPATH, exactly what ``pip install`` leaves in site-packages, and runs the CLI in a subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PLUMBING
from tests.servers import Server

pytestmark = PLUMBING

PLUGIN_MODULE = '''
from preflight.check import Check, Outcome
from preflight.codes import Code, declare
from preflight.facts import SETTINGS
from preflight.models import Finding, Severity

CODES = declare(
    Code("too_few", Severity.ERROR, "max_connections is below 20", explain="Raise max_connections."),
    Code("said_as_info", Severity.INFO, "declared as info", explain="Nothing."),
)


class MaxConnectionsCheck(Check):
    """A realistic third-party check: reads a built-in fact."""

    id = "acme_max_connections"
    title = "ACME: max_connections at least 20"
    facts = (SETTINGS,)

    def run(self, ctx):
        value = ctx.setting("max_connections").as_int()
        findings = [] if value >= 20 else [Finding(code="too_few", severity=Severity.ERROR, message="low")]
        return Outcome(findings, f"max_connections={value}")


class CrashingCheck(Check):
    id = "acme_crash"
    title = "ACME: crashes"

    def run(self, ctx):
        raise RuntimeError("plugin bug")


class UndeclaredCodeCheck(Check):
    """Produces a code it did not declare, and a declared one with another severity: both refused."""

    id = "acme_undeclared"
    title = "ACME: says what it never declared"

    def run(self, ctx):
        return [Finding(code="never_declared", severity=Severity.WARNING, message="?")]


class WrongSeverityCheck(Check):
    id = "acme_wrong_severity"
    title = "ACME: an info code said as an error"

    def run(self, ctx):
        return [Finding(code="said_as_info", severity=Severity.ERROR, message="!")]
'''
NO_CODES_MODULE = '''
from preflight.check import Check, Outcome


class NoCodes(Check):
    id = "acme_no_codes"
    title = "ACME: declares no codes"

    def run(self, ctx):
        return Outcome()
'''

ENTRY_POINTS = """
[pg_preflight.checks]
acme_max_connections = acme_checks:MaxConnectionsCheck
acme_crash = acme_checks:CrashingCheck
acme_broken = acme_checks_missing:Nope
acme_not_a_check = acme_checks:PLUGIN_NAME
acme_undeclared = acme_checks:UndeclaredCodeCheck
acme_wrong_severity = acme_checks:WrongSeverityCheck
acme_no_codes = acme_no_codes:NoCodes
"""


@pytest.fixture()
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_checks.py").write_text(textwrap.dedent(PLUGIN_MODULE) + "\nPLUGIN_NAME = 'x'\n")
    (site / "acme_no_codes.py").write_text(textwrap.dedent(NO_CODES_MODULE))
    info = site / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return site


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).parent.parent)]))
    return subprocess.run([sys.executable, "-m", "preflight", *args], capture_output=True, text=True, env=env, timeout=120)


def test_plugins_run_and_broken_ones_become_errors(plugin_path: Path, logical_server: Server) -> None:
    listed = cli(plugin_path, "list-checks")
    assert "acme_max_connections" in listed.stdout
    result = cli(plugin_path, "check", logical_server.dsn(), "--format", "json")
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["acme_max_connections"]["status"] == "pass"
    assert by_id["acme_max_connections"]["summary"] == "max_connections=40"
    assert by_id["acme_crash"]["status"] == "error"
    assert "plugin bug" in by_id["acme_crash"]["error"]
    assert by_id["acme_broken"]["status"] == "error"
    assert "acme_checks_missing" in by_id["acme_broken"]["error"]
    assert by_id["acme_not_a_check"]["status"] == "error"
    # finding codes are declared: a check without CODES does not load, an undeclared code or severity is refused
    assert by_id["acme_no_codes"]["status"] == "error"
    assert "declares no finding codes" in by_id["acme_no_codes"]["error"]
    assert (by_id["acme_undeclared"]["status"], by_id["acme_undeclared"]["findings"]) == ("error", [])
    assert "'never_declared', which it does not declare" in by_id["acme_undeclared"]["error"]
    assert by_id["acme_wrong_severity"]["status"] == "error"
    assert "'said_as_info' as error, declared info" in by_id["acme_wrong_severity"]["error"]
    assert report["status"] == "incomplete"
    assert [c["id"] for c in report["checks"] if c["status"] == "fail"] == []
    assert result.returncode == 3  # errored checks and no failed one: incomplete


def test_plugin_check_can_be_selected_alone(plugin_path: Path, logical_server: Server) -> None:
    result = cli(plugin_path, "check", logical_server.dsn(), "--format", "json", "--check", "acme_max_connections")
    ids = [c["id"] for c in json.loads(result.stdout)["checks"]]
    assert ids == ["reachability", "acme_max_connections"]
    assert result.returncode == 0
