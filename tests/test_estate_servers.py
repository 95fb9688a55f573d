"""Estates on real servers: every server in exactly one shard, shard outputs merged into one estate
report, a libpq service file as the inventory (its passwords nowhere in any output), and a diff of
two estate reports that names the server that got worse."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from preflight.models import ExitCode
from preflight.pgserver import free_port
from tests.conftest import run_cli
from tests.servers import Server
from tests.test_ci_gate_servers import superuser_uri

NAMES = ["prod-eu-1", "prod-eu-2", "prod-us-1", "billing", "ledger", "search", "analytics"]


def rows(stdout: str) -> dict[str, list[str]]:
    """The fleet summary (or the estate table) as name -> cells; the header line dropped."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("server "))
    return {line.split()[0]: line.split()[1:] for line in lines[start + 1:]}


def test_every_server_is_in_exactly_one_shard(tmp_path: Path, logical_server: Server) -> None:
    dead = free_port()
    lines = [f"{name}={superuser_uri(logical_server)}" for name in NAMES]
    lines += [f"down-{i}=postgresql://u:pw@127.0.0.1:{dead}/db" for i in range(2)]
    inventory = tmp_path / "fleet.txt"
    inventory.write_text("\n".join(lines) + "\n")
    everyone = set(NAMES) | {"down-0", "down-1"}
    for count in range(1, 6):
        seen: list[str] = []
        for index in range(1, count + 1):
            result = run_cli("fleet", "--dsn-file", str(inventory), "--shard", f"{index}/{count}",
                             "--check", "reachability", "--connect-timeout", "5")
            checked = rows(result.stdout)
            assert all(checked[name][0] == "ready" for name in checked if name in NAMES)
            assert all(checked[name][0] == "unreachable" for name in checked if name.startswith("down"))
            assert result.exit_code == (ExitCode.UNREACHABLE if any(n.startswith("down") for n in checked) else 0)
            seen += checked
        assert sorted(seen) == sorted(everyone), f"N={count}"
    # The same split whatever the order of the lines (another machine's copy of the inventory).
    inventory.write_text("\n".join(reversed(lines)) + "\n")
    reordered = run_cli("fleet", "--dsn-file", str(inventory), "--shard", "2/3", "--check", "reachability")
    inventory.write_text("\n".join(lines) + "\n")
    original = run_cli("fleet", "--dsn-file", str(inventory), "--shard", "2/3", "--check", "reachability")
    assert set(rows(reordered.stdout)) == set(rows(original.stdout))


@pytest.fixture(scope="module")
def slot_server(servers: Callable[..., Server]) -> Server:
    """A healthy server with an abandoned logical slot that retains WAL."""
    server = servers()
    server.execute("SELECT pg_create_logical_replication_slot('old_etl', 'test_decoding')",
                   "CREATE TABLE churn AS SELECT g AS id, repeat('x', 200) AS pad FROM generate_series(1, 20000) g",
                   "DROP TABLE churn")
    return server


def test_merge_of_shard_outputs(tmp_path: Path, logical_server: Server, slot_server: Server,
                                servers: Callable[..., Server]) -> None:
    replica = servers(wal_level="replica")
    inventory = tmp_path / "fleet.txt"
    inventory.write_text(f"healthy={superuser_uri(logical_server)}\nslots={superuser_uri(slot_server)}\n"
                         f"replica={superuser_uri(replica)}\ndown=postgresql://u:pw@127.0.0.1:{free_port()}/db\n")
    out = tmp_path / "out"
    for index in (1, 2):
        run_cli("fleet", "--dsn-file", str(inventory), "--shard", f"{index}/2", "--output-dir", str(out / f"shard-{index}"))
        run_cli("fleet", "--dsn-file", str(inventory), "--shard", f"{index}/2", "--output-dir", str(out / f"shard-{index}"),
                "--format", "html")
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.json"))
    assert sorted(Path(p).stem for p in written) == ["down", "healthy", "replica", "slots"]

    merged = run_cli("merge", str(out), "--format", "json", "--output", str(tmp_path / "estate.json"))
    assert merged.exit_code == 1, merged.output  # replica and down are not ready
    estate = json.loads((tmp_path / "estate.json").read_text())
    assert (estate["kind"], estate["schema_version"]) == ("estate", "1") and estate["generated_at"]
    servers_ = {s["name"]: s for s in estate["servers"]}
    assert [s["name"] for s in estate["servers"]][:2] in (["down", "replica"], ["replica", "down"])  # worst first
    assert {n: s["verdict"] for n, s in servers_.items()} == {
        "healthy": "ready", "slots": "ready", "replica": "not_ready", "down": "not_ready"}
    assert "logical_replication" in servers_["replica"]["failing_checks"]
    assert servers_["down"]["failing_checks"] == ["reachability"]
    assert servers_["healthy"]["failing_checks"] == []
    assert servers_["healthy"]["server_version"].split(".")[0] == str(logical_server.version)
    risk = servers_["slots"]["slot_risk"]
    assert risk["worst_slot"] == "old_etl" and risk["retained_bytes"] > 1024**2 and risk["lost_slots"] == []
    assert servers_["healthy"]["slot_risk"]["worst_slot"] is None
    for name, server in servers_.items():  # links relative to the estate report's directory
        assert (tmp_path / server["report"]).resolve() == next(out.rglob(f"{name}.json")).resolve()
        assert (tmp_path / server["html_report"]).resolve() == next(out.rglob(f"{name}.html")).resolve()

    table = run_cli("merge", str(out), "--sort", "name")
    assert list(rows(table.stdout)) == ["down", "healthy", "replica", "slots"]
    assert "old_etl" in rows(table.stdout)["slots"][-2] + rows(table.stdout)["slots"][-3]
    assert table.stdout.splitlines()[0] == "pg-preflight estate: 2 of 4 servers ready, 2 not ready, 0 incomplete"
    by_risk = run_cli("merge", str(out), "--sort", "slot_risk")
    assert next(iter(rows(by_risk.stdout))) == "slots"

    run_cli("merge", str(out), "--format", "markdown", "--output", str(tmp_path / "estate.md"))
    markdown = (tmp_path / "estate.md").read_text()
    assert f"[json](./{servers_['replica']['report']})" in markdown
    assert f"[html](./{servers_['replica']['html_report']})" in markdown
    assert "| `replica` | NOT READY |" in markdown

    run_cli("merge", str(out), "--format", "html", "--output", str(tmp_path / "estate.html"))
    page = (tmp_path / "estate.html").read_text()
    assert '<table class="sortable">' in page and "script-src 'sha256-" in page
    assert f'<a href="./{servers_["slots"]["html_report"]}">html</a>' in page
    assert page.count("<tr>") == 5  # the header and one row per server


def test_service_file_inventory_never_shows_its_passwords(tmp_path: Path, logical_server: Server) -> None:
    params = conninfo_to_dict(logical_server.dsn())
    superuser_password = str(params["password"])
    down_password = "Down-Service-Secret-77"
    services = tmp_path / "pg_service.conf"
    services.write_text(
        f"# the DBA's service file\n[prod-main]\nhost={params['host']}\nport={params['port']}\nuser={params['user']}\n"
        f"password={superuser_password}\ndbname=postgres\n\n"
        f"[old-box]\nhost=127.0.0.1\nport={free_port()}\nuser=app\npassword={down_password}\ndbname=app\n")
    out = tmp_path / "out"
    result = run_cli("fleet", "--service-file", str(services), "--output-dir", str(out), "--connect-timeout", "5")
    checked = rows(result.stdout)
    assert {n: cells[0] for n, cells in checked.items()} == {"prod-main": "ready", "old-box": "unreachable"}
    assert json.loads((out / "prod-main.json").read_text())["target"]["dsn"] == "service=prod-main"
    # The default service file: PGSERVICEFILE.
    default = run_cli("fleet", "--default-service-file", "--output-dir", str(out), "--format", "markdown,html",
                      "--connect-timeout", "5", env={"PGSERVICEFILE": str(services)})
    assert {p.name for p in out.iterdir()} >= {f"{n}.{f}" for n in ("prod-main", "old-box") for f in ("markdown", "html")}
    assert {n: cells[0] for n, cells in rows(default.stdout).items()} == {"prod-main": "ready", "old-box": "unreachable"}
    everything = result.output + default.output
    for fmt in ("table", "json", "markdown", "html"):
        everything += run_cli("merge", str(out), "--format", fmt).output
    everything += "".join(p.read_text() for p in out.iterdir())
    assert "prod-main" in everything and "old-box" in everything
    for secret in (superuser_password, down_password):
        assert secret not in everything


def test_diff_of_two_estate_reports(tmp_path: Path, servers: Callable[..., Server], logical_server: Server) -> None:
    flip = servers()
    inventory = tmp_path / "fleet.txt"
    inventory.write_text(f"steady={superuser_uri(logical_server)}\nflip={superuser_uri(flip)}\n")
    options = ["--slot-name", "cdc_slot", "--plugin", "pgoutput"]
    run_cli("fleet", "--dsn-file", str(inventory), "--output-dir", str(tmp_path / "monday"), *options)
    # Tuesday: someone left a slot of the consumer's name with another plugin on one server.
    flip.execute("SELECT pg_create_logical_replication_slot('cdc_slot', 'test_decoding')")
    run_cli("fleet", "--dsn-file", str(inventory), "--output-dir", str(tmp_path / "tuesday"), *options)
    for day in ("monday", "tuesday"):
        run_cli("merge", str(tmp_path / day), "--format", "json", "--output", str(tmp_path / f"{day}.json"))

    worse = run_cli("diff", str(tmp_path / "monday.json"), str(tmp_path / "tuesday.json"))
    assert worse.exit_code == 1, worse.output
    lines = worse.stdout.splitlines()
    assert "server flip: ready -> not_ready" in lines
    assert "+ flip: now failing existing_slots" in lines
    assert lines[-1] == "result: WORSE (1 server: flip)"
    assert not any("steady" in line for line in lines)

    better = run_cli("diff", str(tmp_path / "tuesday.json"), str(tmp_path / "monday.json"))
    assert better.exit_code == 0 and "- flip: fixed existing_slots" in better.stdout.splitlines()
    flip.execute("SELECT pg_drop_replication_slot('cdc_slot')")
