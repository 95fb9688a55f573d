"""Hostile input files and options: one line on stderr, exit 2, no traceback, before any connection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.models import ExitCode
from preflight.pgserver import free_port
from tests.conftest import run_cli

CLOSED = f"host=127.0.0.1 port={free_port()} user=u dbname=d connect_timeout=1"
DEEP_JSON = "[" * 100_000
DEEP_TOML = "a = " + "[" * 100_000


def one_line_usage_error(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pg-preflight: error: "), result.stderr
    return lines[0]


@pytest.mark.parametrize(("option", "content"), [
    ("--request", DEEP_JSON), ("--decisions", DEEP_JSON), ("--from-snapshot", DEEP_JSON),
    ("--config", DEEP_TOML), ("--profile", DEEP_TOML),
])
def test_deeply_nested_files(tmp_path: Path, option: str, content: str) -> None:
    path = tmp_path / ("input.toml" if content is DEEP_TOML else "input.json")
    path.write_text(content)
    args = ["check", option, str(path)] + ([] if option in ("--request", "--from-snapshot") else [CLOSED])
    line = one_line_usage_error(*args)
    assert str(path) in line and "nested too deeply" in line


def test_deeply_nested_dsn_file_and_reports(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text(DEEP_JSON)
    assert "nested too deeply" in one_line_usage_error("diff", str(deep), str(deep))
    dsn_file = tmp_path / "fleet.txt"
    dsn_file.write_text(DEEP_JSON + "\n")
    assert f"{dsn_file}:1: invalid DSN" in one_line_usage_error("fleet", "--dsn-file", str(dsn_file))


def snapshot_file(tmp_path: Path, **changes: object) -> Path:
    body: dict[str, object] = {"pg_preflight_snapshot": 1, "target_dsn": "host=db user=u", "options": {},
                               "snapshot": {"connect": {"ok": True}}}
    body.update(changes)
    path = tmp_path / "snapshot.json"
    path.write_text(json.dumps(body))
    return path


@pytest.mark.parametrize(("changes", "where"), [
    ({"snapshot": {"connect": {"ok": "perhaps"}}}, "snapshot.connect.ok"),
    ({"snapshot": {"connect": {"ok": True}, "facts": ["not", "a", "mapping"]}}, "snapshot.facts"),
    ({"options": {"schemas": "public"}}, "schemas"),
    ({"options": {"tables": [1, 2]}}, "tables.0"),
    ({"options": []}, "options"),
    ({"target_dsn": "host=db sslmode=requir"}, "target_dsn"),
])
def test_snapshot_of_wrong_types(tmp_path: Path, changes: dict[str, object], where: str) -> None:
    line = one_line_usage_error("check", "--from-snapshot", str(snapshot_file(tmp_path, **changes)))
    assert f"--from-snapshot {tmp_path / 'snapshot.json'}: {where}" in line


@pytest.mark.parametrize(("dsn", "expected"), [
    ("host=127.0.0.1 sslmode=requir", "sslmode 'requir' is not one of"),
    ("postgresql://u@127.0.0.1/db?sslmode=verify_full", "sslmode 'verify_full' is not one of"),
    ("host=127.0.0.1 target_session_attrs=primary-ish", "target_session_attrs 'primary-ish'"),
    ("host=127.0.0.1 connect_timeout=soon", "connect_timeout 'soon' is not a whole number"),
])
def test_invalid_connection_options_are_usage_errors(dsn: str, expected: str) -> None:
    assert expected in one_line_usage_error("check", dsn)


def test_invalid_option_in_the_environment_is_named() -> None:
    result = run_cli("check", CLOSED, env={"PGSSLMODE": "requir"})
    assert result.exit_code == 2
    assert result.stderr.strip() == ("pg-preflight: error: invalid PGSSLMODE environment variable: sslmode 'requir' "
                                     "is not one of disable, allow, prefer, require, verify-ca, verify-full")


@pytest.mark.parametrize("spec", ["yaml:out.yaml", "JSON:r.json", ":r.json"])
def test_unknown_output_format_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.chdir(tmp_path)
    line = one_line_usage_error("check", CLOSED, "-o", spec)
    assert f"--output {spec}: unknown format" in line and f"./{spec}" in line
    assert list(tmp_path.iterdir()) == []


def test_a_path_with_a_colon_is_written_with_a_slash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", CLOSED, "-o", "./a:b.json", "-f", "json")
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    assert json.loads((tmp_path / "a:b.json").read_text())["status"] == "not_ready"


@pytest.mark.parametrize("args", [
    ["check", "--bogus"], ["check", CLOSED, "--format", "yaml"], ["diff"], ["fleet"], ["merge"], ["nosuchcommand"],
    ["decisions", CLOSED, "--connect-timeout", "x"], ["explain"],
])
def test_click_errors_are_one_line(args: list[str]) -> None:
    line = one_line_usage_error(*args)
    assert "-h'" in line


def test_no_dsn_at_all_says_so_first() -> None:
    result = run_cli("check", "-f", "json", env={"PGHOST": None, "PGPORT": None, "PGUSER": None, "PGDATABASE": None,
                                                 "PGSERVICE": None, "PGPASSWORD": None, "PGHOSTADDR": None})
    reach = json.loads(result.stdout)["checks"][0]
    assert reach["id"] == "reachability" and reach["status"] == "fail"
    assert reach["findings"][0]["message"].startswith("Could not connect: no DSN was given"), reach
    assert "libpq's defaults were tried" in reach["findings"][0]["message"]


def test_no_command_shows_the_help() -> None:
    result = run_cli()
    assert result.exit_code == 2 and "[OPTIONS] COMMAND [ARGS]" in result.output
    assert "error:" not in result.output


def test_a_huge_malformed_dsn_is_one_short_line(tmp_path: Path) -> None:
    line = one_line_usage_error("check", "host=h " + "[" * 100_000)
    assert 'missing "=" after "[[[' in line and len(line) < 500
