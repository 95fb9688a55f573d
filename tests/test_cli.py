"""The command line: bad input is one line and exit 2, outputs land where asked, help and metadata work."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from preflight.models import ExitCode
from preflight.pgserver import free_port
from tests.conftest import PLUMBING, run_cli
from tests.servers import Server

CLOSED = f"host=127.0.0.1 port={free_port()} user=u password=closed-pw-123 dbname=d connect_timeout=2"


@pytest.mark.parametrize(
    "args",
    [
        ["check", "host=a port"],
        ["check", "postgresql://u:pw-in-bad-dsn@h:99999/db"],
        ["check", CLOSED, "--table", "nodot"],
        ["check", CLOSED, "--table", '"unterminated.t'],
        ["check", CLOSED, "--format", "yaml"],
        ["check", CLOSED, "--fail-on", "sometimes"],
        ["check", CLOSED, "--check", "no_such_check"],
        ["check", CLOSED, "--connect-timeout", "-1"],
        ["check", CLOSED, "--slots-needed", "x"],
        ["check", CLOSED, "--output", "/nonexistent-dir/report.json"],
        ["explain", "no_such_check"],
    ],
)
def test_bad_input_exits_2_with_one_line(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "pw-in-bad-dsn" not in result.output
    assert result.stderr.strip()


def test_bad_dsn_in_a_real_process_has_no_traceback() -> None:
    proc = subprocess.run([sys.executable, "-m", "preflight", "check", "host=a port"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "invalid DSN" in proc.stderr


@PLUMBING
def test_outputs_several_formats(tmp_path: Path, logical_server: Server) -> None:
    result = run_cli("check", logical_server.dsn(), "--format", "table", "--output", f"json:{tmp_path / 'r.json'}",
                     "--output", f"sql:{tmp_path / 'fix.sql'}")
    assert result.exit_code == 0
    assert "Verdict: READY" in result.stdout  # stdout keeps --format: no plain --output took it
    assert json.loads((tmp_path / "r.json").read_text())["status"] == "ready"
    assert (tmp_path / "fix.sql").read_text().startswith("-- pg-preflight")
    plain = run_cli("check", logical_server.dsn(), "--format", "json", "--output", str(tmp_path / "only.json"))
    assert plain.stdout == ""
    assert json.loads((tmp_path / "only.json").read_text())["schema_version"] == "1"
    # FORMAT:PATH writes as well as stdout, also when it is the --format's own format
    both = run_cli("check", logical_server.dsn(), "--format", "json", "--output", f"json:{tmp_path / 'also.json'}")
    assert json.loads(both.stdout)["status"] == "ready"
    assert json.loads((tmp_path / "also.json").read_text())["status"] == "ready"


@PLUMBING
def test_fail_on_warning_and_never(logical_server: Server) -> None:
    # the healthy server warns about max_slot_wal_keep_size = -1
    assert run_cli("check", logical_server.dsn(), "--fail-on", "warning").exit_code == 1
    assert run_cli("check", logical_server.dsn(), "--fail-on", "error").exit_code == 0
    # a server that cannot be reached is "could not check" (4) whatever --fail-on: never "ready"
    assert run_cli("check", CLOSED, "--fail-on", "never", "--format", "json").exit_code == ExitCode.UNREACHABLE


def test_schema_list_and_explain() -> None:
    schema = json.loads(run_cli("schema").stdout)
    assert schema["properties"]["schema_version"]["const"] == "1"
    assert {"target", "checks", "tables", "summary", "status"} <= set(schema["properties"])
    listed = run_cli("list-checks").stdout
    for check_id in ("reachability", "writer_status", "logical_replication", "slot_capacity"):
        assert check_id in listed
    explained = run_cli("explain", "slot_capacity").stdout
    assert "Why:" in explained and "physical" in explained


@PLUMBING
def test_schemas_accept_comma_lists(logical_server: Server) -> None:
    result = run_cli("check", logical_server.dsn(), "-s", "public,billing", "-s", "Sales EU", "--format", "json")
    assert json.loads(result.stdout)["options"]["schemas"] == ["public", "billing", "Sales EU"]


def test_demo_runs_and_cleans_up() -> None:
    proc = subprocess.run([sys.executable, "-m", "preflight", "demo", "--format", "json"], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["status"] == "not_ready"
    failing = {c["id"] for c in report["checks"] if c["status"] == "fail"}
    assert "logical_replication" in failing
    assert "demo-only-password" not in proc.stdout + proc.stderr
    assert "removed" in proc.stderr
    leftover = subprocess.run(["pgrep", "-f", "pg-preflight-demo-"], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_demo_without_binaries_says_how_to_get_them(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "PG_BINDIR": str(tmp_path)}
    import os

    proc = subprocess.run([sys.executable, "-c", "import preflight.pgserver as p, glob; glob.glob = lambda *a, **k: []; "
                           "from preflight.cli import main; main(['demo'])"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    assert proc.returncode == 3
    assert "apt-get install postgresql" in proc.stderr and "PG_BINDIR" in proc.stderr


def test_demo_server_is_removed_on_interrupt() -> None:
    from preflight.demo import demo_server

    with pytest.raises(KeyboardInterrupt), demo_server() as (server, dsn):
        assert server.data.is_dir() and "demo-only-password" in dsn
        root = server.root
        raise KeyboardInterrupt
    assert not root.exists()
    leftover = subprocess.run(["pgrep", "-f", str(root)], capture_output=True, text=True)
    assert leftover.stdout.strip() == ""


def test_the_program_pauses_the_collector_and_a_caller_of_main_keeps_it() -> None:
    """``pg-preflight`` (``run``) turns the cyclic collector off for a one-report command, not for fleet; a test
    or script calling ``main`` keeps its own process settings."""
    assert run_cli("list-checks").exit_code == 0
    assert gc.isenabled()
    probe = "import gc, sys; gc.disable = lambda: print('collector off', file=sys.stderr); from preflight.cli import run; run()"
    for args, paused in ((["list-checks"], True), (["fleet", "--help"], False)):
        done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert ("collector off" in done.stderr) is paused
