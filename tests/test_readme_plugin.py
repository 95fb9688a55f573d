"""The plugin guide's example (docs/plugins.md) is real: it passes mypy --strict, and installed as a plugin it runs on a server.

The example declares a fact of its own (an SqlFact with its row model) and reads a setting the
built-in checks never read, so this also proves a plugin's own fact goes through the registry, the
gathering pipeline and a saved snapshot.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PLUMBING
from tests.servers import Server

pytestmark = PLUMBING

ROOT = Path(__file__).parent.parent
MARKER = "<!-- plugin-example:"


def readme_example() -> str:
    """The first python block after the plugin-example marker in docs/plugins.md."""
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    found = re.search(r"```python\n(.*?)```", text[text.index(MARKER):], re.DOTALL)
    assert found is not None, "docs/plugins.md: no python block after the plugin-example marker"
    return found.group(1)


@pytest.fixture()
def plugin_site(tmp_path: Path) -> Path:
    """What ``pip install`` of a distribution holding the example leaves in site-packages."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "acme_checks.py").write_text(readme_example(), encoding="utf-8")
    info = site / "acme_checks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-checks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pg_preflight.checks]\nacme_ready = acme_checks:AcmeReady\n")
    return site


def cli(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, "-m", "preflight", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_readme_plugin_example_passes_mypy_strict(plugin_site: Path) -> None:
    module = plugin_site / "acme_checks.py"
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(module)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_plugin_runs_on_a_server_with_its_own_fact(plugin_site: Path, logical_server: Server,
                                                          tmp_path: Path) -> None:
    facts = cli(plugin_site, "list-facts")
    assert facts.returncode == 0, facts.stderr
    assert "acme_extensions: list[ExtensionRow] (catalog query)" in facts.stdout
    assert "read by: acme_ready" in facts.stdout

    saved = tmp_path / "snap.json"
    result = cli(plugin_site, "check", logical_server.dsn(), "--format", "json", "--check", "acme_ready",
                 "--save-snapshot", str(saved))
    assert "Traceback" not in result.stderr, result.stderr
    check = {c["id"]: c for c in json.loads(result.stdout)["checks"]}["acme_ready"]
    assert check["status"] == "warn", check
    # The test servers run with shared_buffers=16MB, a setting no built-in check reads.
    assert [f["code"] for f in check["findings"]] == ["acme_no_pg_stat_statements", "acme_small_shared_buffers"]
    assert check["summary"] == "1 extension(s); shared_buffers=16MB"  # plpgsql only
    assert result.returncode == 0  # warnings are below the default --fail-on error
    explained = cli(plugin_site, "explain", "acme_small_shared_buffers")  # a plugin's declared code explains itself
    assert explained.stdout.splitlines()[:2] == [
        "acme_small_shared_buffers (warning, acme_ready): shared_buffers is below 128MB",
        "What to do: Raise shared_buffers to at least 128MB (a restart)."]

    stored = json.loads(saved.read_text())["snapshot"]["facts"]["acme_extensions"]
    assert stored == [{"name": "plpgsql", "version": stored[0]["version"]}]
    again = cli(plugin_site, "check", "--from-snapshot", str(saved), "--format", "json", "--check", "acme_ready")
    assert {c["id"]: c for c in json.loads(again.stdout)["checks"]}["acme_ready"]["summary"] == check["summary"]
