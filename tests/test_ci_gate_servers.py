"""The CI gate and audit features on real servers: config files, waivers, --request, snapshots,
diff and a fleet of 20 servers (some down, one hanging)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from psycopg.conninfo import conninfo_to_dict

from preflight.pgserver import free_port
from tests.conftest import PLUMBING, run_cli
from tests.servers import CDC_PASSWORD, Server, add_cdc_role

pytestmark = PLUMBING  # config files, waivers, --request, snapshots, diff, fleet: the CLI's plumbing


@pytest.fixture()
def in_tmp(tmp_path: Path) -> Iterator[Path]:
    old = Path.cwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def replica_server(servers: Callable[..., Server]) -> Server:
    return servers(wal_level="replica")


def as_json(*args: str) -> tuple[dict[str, Any], int]:
    result = run_cli("check", *args, "--format", "json")
    assert "Traceback" not in result.output
    return json.loads(result.stdout), result.exit_code


def test_config_in_pyproject_and_command_line_wins(in_tmp: Path, replica_server: Server) -> None:
    (in_tmp / "pyproject.toml").write_text(
        '[project]\nname = "app"\n\n[tool.pg-preflight]\nschemas = ["public"]\nslot-name = "from_config"\n'
        'fail-on = "never"\n')
    report, code = as_json(replica_server.dsn())
    assert report["options"]["slot_name"] == "from_config" and report["options"]["schemas"] == ["public"]
    assert code == 0  # fail-on never, from the file
    report, code = as_json(replica_server.dsn(), "--slot-name", "from_cli", "--fail-on", "error")
    assert report["options"]["slot_name"] == "from_cli" and code == 1


def test_unknown_config_keys_exit_2_naming_them(in_tmp: Path, replica_server: Server) -> None:
    (in_tmp / "pg-preflight.toml").write_text('schemas = ["public"]\nslot_nmae = "x"\n')
    result = run_cli("check", replica_server.dsn())
    assert result.exit_code == 2 and "slot_nmae" in result.stderr and result.stderr.count("\n") == 1


def test_waivers_matched_expired_unmatched(in_tmp: Path, replica_server: Server) -> None:
    config = in_tmp / "gate.toml"
    config.write_text(
        '[[waivers]]\ncheck = "logical_replication"\nobject = "wal_level"\nreason = "flip at cutover, CHG-1"\n'
        '[[waivers]]\ncheck = "slot_capacity"\nobject = "nothing"\nreason = "stale"\n')
    report, code = as_json(replica_server.dsn(), "--config", str(config), "--check", "logical_replication")
    finding = next(f for c in report["checks"] for f in c["findings"] if f["code"] == "wal_level_not_logical")
    assert finding["waived"] and finding["waiver_reason"] == "flip at cutover, CHG-1"
    assert code == 0 and report["status"] == "ready"
    assert [w["state"] for w in report["waivers"]] == ["applied", "unmatched"]
    config.write_text('[[waivers]]\ncheck = "logical_replication"\nreason = "old"\nexpires = 2020-01-31\n')
    report, code = as_json(replica_server.dsn(), "--config", str(config), "--check", "logical_replication")
    assert code == 1 and report["waivers"][0]["state"] == "expired"


def test_request_body(tmp_path: Path, logical_server: Server) -> None:
    add_cdc_role(logical_server)
    url = f"postgresql://cdc:{CDC_PASSWORD}@127.0.0.1:{logical_server.port}/postgres"  # type: ignore[attr-defined]
    body = tmp_path / "req.json"
    body.write_text(json.dumps({"org_id": "o1", "service_name": "postgresql", "connection_details": {"url": url},
                                "selected_schemas": ["public", "billing"]}))
    dropped = json.loads(run_cli("check", "--request", str(body), "--format", "json").stdout)
    assert dropped["checks"][0]["status"] == "fail"  # the URL's password is never used: no libpq password, no login
    # the password comes from the libpq environment (or a pgpass file), as for every --consumer-config file
    result = run_cli("check", "--request", str(body), "--format", "json", env={"PGPASSWORD": CDC_PASSWORD})
    report = json.loads(result.stdout)
    assert report["options"]["schemas"] == ["public", "billing"] and report["target"]["user"] == "cdc"
    assert report["checks"][0]["id"] == "reachability" and report["checks"][0]["status"] == "pass"
    assert CDC_PASSWORD not in result.output
    body.write_text('{"service_name": "mysql", "connection_details": {"url": "x"}}')
    bad = run_cli("check", "--request", str(body))
    assert bad.exit_code == 2 and "service_name" in bad.stderr


def test_snapshot_round_trip(tmp_path: Path, replica_server: Server) -> None:
    snap = tmp_path / "snap.json"
    dsn = replica_server.dsn()
    live, live_code = as_json(dsn, "--save-snapshot", str(snap))
    assert str(conninfo_to_dict(dsn)["password"]) not in snap.read_text()
    offline, offline_code = as_json("--from-snapshot", str(snap))
    assert [(c["id"], c["status"]) for c in offline["checks"]] == [(c["id"], c["status"]) for c in live["checks"]]
    assert offline_code == live_code == 1
    assert offline["target"]["port"] == live["target"]["port"]
    assert run_cli("check", "--from-snapshot", str(tmp_path / "missing.json")).exit_code == 2


def test_diff_nightly(tmp_path: Path, logical_server: Server, replica_server: Server) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    run_cli("check", logical_server.dsn(), "--output", f"json:{good}")
    run_cli("check", replica_server.dsn(), "--output", f"json:{bad}")
    worse = run_cli("diff", str(good), str(bad))
    assert worse.exit_code == 1 and "wal_level_not_logical" in worse.stdout and "WORSE" in worse.stdout
    better = run_cli("diff", str(bad), str(good))
    assert better.exit_code == 0 and "fixed" in better.stdout
    assert run_cli("diff", str(good), str(tmp_path / "nope.json")).exit_code == 2


def superuser_uri(server: Server) -> str:
    """The server's superuser DSN as a URI (a fleet file's lines are NAME=URI)."""
    params = conninfo_to_dict(server.dsn())
    return f"postgresql://postgres:{quote(str(params['password']), safe='')}@{params['host']}:{params['port']}/postgres"


def test_fleet_of_twenty(tmp_path: Path, servers: Callable[..., Server], silent_peer: int) -> None:
    healthy = [servers() for _ in range(12)]
    broken = [servers(wal_level="replica") for _ in range(4)]
    lines = ["# nightly fleet"]
    lines += [f"ok{i}={superuser_uri(s)}" for i, s in enumerate(healthy)]
    lines += [f"replica{i}={superuser_uri(s)}" for i, s in enumerate(broken)]
    lines += [f"down{i}=postgresql://u:pw-down-1@127.0.0.1:{free_port()}/db" for i in range(3)]
    lines += [f"hanging=postgresql://u:pw-hang-1@127.0.0.1:{silent_peer}/db"]
    dsn_file = tmp_path / "fleet.txt"
    dsn_file.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    result = run_cli("fleet", "--dsn-file", str(dsn_file), "--jobs", "8", "--output-dir", str(tmp_path / "out"),
                     "--connect-timeout", "3")
    elapsed = time.monotonic() - started
    assert elapsed < 60, "a hanging server must not stall the fleet beyond its own timeout"
    assert result.exit_code == 1
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:] if line.strip()}
    assert len(rows) == 20
    assert all(rows[f"ok{i}"] == "ready" for i in range(12))
    assert all(rows[f"replica{i}"] == "not_ready" for i in range(4))
    assert rows["hanging"] == "unreachable" and rows["down0"] == "unreachable"  # could not check: not "not ready"
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(files) == 20 and "hanging.json" in files
    hanging = json.loads((tmp_path / "out" / "hanging.json").read_text())
    assert hanging["checks"][0]["findings"][0]["code"] == "connect_timeout"
    assert str(conninfo_to_dict(healthy[0].dsn())["password"]) not in result.output + "".join((tmp_path / "out" / f).read_text() for f in files)
    for server in healthy + broken:
        server.destroy()
