"""Shards, service-file inventories, estate merging and estate diffs without a server: the parsing,
the one-line errors and the arithmetic (the real fleet runs are in tests/test_estate_servers.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from preflight.diff import diff_estates, render_estate_diff
from preflight.estate import build_estate, slot_risk, slot_risk_codes
from preflight.fleet import FleetFileError, in_shard, parse_dsn_file, parse_service_file, parse_shard, shard_of
from preflight.models import (
    CheckResult,
    CheckStatus,
    Estate,
    EstateServer,
    ExitCode,
    Finding,
    Report,
    Severity,
    Summary,
    Target,
    ToolInfo,
    Verdict,
)
from preflight.registry import declared_codes
from preflight.reports.estate import ESTATE_FORMATS
from tests.conftest import run_cli
from tests.test_bad_input_files import one_line_usage_error


def test_shard_is_a_pinned_hash_of_the_name_not_the_line_order(tmp_path: Path) -> None:
    # Pinned: the split must be the same on every machine, Python version and run.
    assert (shard_of("prod-us-2", 5), shard_of("billing", 3), shard_of("prod-eu-1", 5)) == (1, 2, 3)
    assert [shard_of(name, 4) for name in "abcdefgh"] == [3, 3, 3, 2, 3, 3, 2, 4]
    lines = [f"{name}=postgresql://u@db-{name}/app" for name in "abcdefgh"]
    (tmp_path / "a.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "b.txt").write_text("\n".join(reversed(lines)) + "\n")
    forward, backward = parse_dsn_file(tmp_path / "a.txt"), parse_dsn_file(tmp_path / "b.txt")
    for index in (1, 2, 3, 4):
        assert {e.name for e in in_shard(forward, index, 4)} == {e.name for e in in_shard(backward, index, 4)}


@pytest.mark.parametrize(("text", "expected"), [("1/1", (1, 1)), ("3/5", (3, 5)), (" 2 / 2 ", (2, 2))])
def test_shard_values(text: str, expected: tuple[int, int]) -> None:
    assert parse_shard(text) == expected


@pytest.mark.parametrize("shard", ["0/3", "4/3", "1/0", "x", "1/", "-1/2", "1/2/3", "1.5/2"])
def test_bad_shard_is_one_line(tmp_path: Path, shard: str) -> None:
    (tmp_path / "f.txt").write_text("a=postgresql://u@h/db\n")
    line = one_line_usage_error("fleet", "--dsn-file", str(tmp_path / "f.txt"), "--shard", shard)
    assert "--shard" in line and repr(shard) in line


def test_fleet_needs_an_inventory_and_one_service_file(tmp_path: Path) -> None:
    assert "needs an inventory" in one_line_usage_error("fleet")
    (tmp_path / "s.conf").write_text("[a]\nhost=h\n")
    assert "give one of them" in one_line_usage_error("fleet", "--service-file", str(tmp_path / "s.conf"),
                                                      "--default-service-file")


def test_service_file_entries_are_named_after_services_and_carry_no_parameter(tmp_path: Path) -> None:
    path = tmp_path / "pg_service.conf"
    path.write_text("# services\n[prod-eu]\nhost=db1\npassword=Very-Secret-1\n\n[odd name]\nhost=db2\n"
                    "[dup]\nhost=db3\n")
    (tmp_path / "f.txt").write_text("dup=postgresql://u@h/db\n")
    taken: set[str] = set()
    entries = parse_dsn_file(tmp_path / "f.txt", taken) + parse_service_file(path, taken)
    assert [(e.name, e.dsn) for e in entries] == [
        ("dup", "postgresql://u@h/db"), ("prod-eu", "service=prod-eu"), ("odd_name", "service='odd name'"),
        ("dup_2", "service=dup")]
    assert not any("Secret" in e.dsn for e in entries)


@pytest.mark.parametrize("content", ["host=h\n", "[a]\nno equals sign\n", "", "# only a comment\n", "[a\n"])
def test_bad_service_file_is_one_line(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pg_service.conf"
    path.write_text(content)
    with pytest.raises(FleetFileError, match=str(path)):
        parse_service_file(path)
    assert str(path) in one_line_usage_error("fleet", "--service-file", str(path))


def _report(status: Verdict, failing: list[str], slots: list[Finding] | None = None,
            at: datetime | None = None) -> Report:
    checks = [CheckResult(id=c, title=c, status=CheckStatus.FAIL) for c in failing]
    if slots is not None:
        checks.append(CheckResult(id="existing_slots", title="slots", status=CheckStatus.WARN, findings=slots))
    return Report(tool=ToolInfo(version="0"), generated_at=at or datetime(2026, 1, 1, tzinfo=UTC),
                  target=Target(dsn="host=h", server_version="15.8 (Debian)", provider="aws_rds"), options={},
                  status=status, summary=Summary(), checks=checks)


def _slot(code: str, name: str, observed: str, severity: Severity = Severity.WARNING, size: int | None = None) -> Finding:
    return Finding(code=code, severity=severity, message="m", object=name, observed=observed, bytes=size)


def test_slot_risk_is_the_worst_retained_wal_and_the_lost_slots() -> None:
    risks = slot_risk_codes(declared_codes())
    risk = slot_risk(_report(Verdict.READY, [], [
        _slot("other_slot", "small", "12MB of WAL", Severity.INFO, 12 * 1024**2),
        _slot("stale_slot_retains_wal", "big", "3.5GB of WAL", size=int(3.5 * 1024**3)),
        _slot("slot_stale", "no_lsn", "unknown WAL (no restart_lsn)"),  # no bytes: no size to rank
        _slot("other_slot_invalidated", "gone", "lost (wal_status = 'lost': ...)"),
        _slot("slot_unreserved", "edge", "unreserved"),
    ]), risks)
    assert (risk.worst_slot, risk.retained, risk.lost_slots, risk.unreserved_slots) == (
        "big", "3.5GB of WAL", ["gone"], ["edge"])
    assert risk.retained_bytes == int(3.5 * 1024**3)  # the finding's bytes, exact: no text read back
    assert slot_risk(_report(Verdict.READY, []), risks).describe() == "-"


def test_merge_keeps_the_newest_report_of_a_server_and_sorts(tmp_path: Path) -> None:
    old, new = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    files = [(tmp_path / "a" / "web.json", _report(Verdict.NOT_READY, ["grants"], at=old)),
             (tmp_path / "b" / "web.json", _report(Verdict.READY, [], at=new)),
             (tmp_path / "a" / "billing.json", _report(Verdict.INCOMPLETE, ["reachability"]))]
    estate = build_estate(files, "0", tmp_path, declared_codes())
    assert [(s.name, s.verdict, s.report) for s in estate.servers] == [
        ("billing", Verdict.INCOMPLETE, "a/billing.json"), ("web", Verdict.READY, "b/web.json")]
    assert [s.name for s in build_estate(files, "0", tmp_path, declared_codes(), sort="name").servers] == ["billing", "web"]


HOSTILE = "<img src=x onerror=alert(1)>|[a](javascript:b)`@all\x1b[2J"


def test_estate_formats_escape_hostile_names(tmp_path: Path) -> None:
    server = EstateServer(name=HOSTILE, report=f"javascript:{HOSTILE}.json", dsn="host=h",
                          generated_at=datetime(2026, 1, 1, tzinfo=UTC), verdict=Verdict.NOT_READY,
                          failing_checks=[HOSTILE])
    estate = Estate(tool=ToolInfo(version="0"), generated_at=datetime(2026, 1, 1, tzinfo=UTC), servers=[server])
    for name, render in ESTATE_FORMATS.items():
        out = render(estate)
        assert "\x1b" not in out, name
    page = ESTATE_FORMATS["html"](estate)
    assert "<img" not in page and 'href="./javascript%3A' in page
    markdown = ESTATE_FORMATS["markdown"](estate)
    assert "| ``<img src=x onerror=alert(1)>\\|[a]" in markdown  # a code span: shown, never parsed
    assert "](./javascript%3A%3Cimg" in markdown and "[json](javascript:" not in markdown
    assert "\\x1b[2J" in ESTATE_FORMATS["table"](estate)
    assert json.loads(ESTATE_FORMATS["json"](estate))["servers"][0]["name"] == HOSTILE


def _estate(*servers: tuple[str, Verdict, list[str]]) -> Estate:
    return Estate(tool=ToolInfo(version="0"), generated_at=datetime(2026, 1, 1, tzinfo=UTC), servers=[
        EstateServer(name=n, report=f"{n}.json", dsn="host=h", generated_at=datetime(2026, 1, 1, tzinfo=UTC),
                     verdict=v, failing_checks=f) for n, v, f in servers])


def test_estate_diff_names_the_servers_that_got_worse() -> None:
    old = _estate(("a", Verdict.READY, []), ("b", Verdict.NOT_READY, ["grants"]), ("c", Verdict.READY, []))
    new = _estate(("a", Verdict.NOT_READY, ["publication"]), ("b", Verdict.NOT_READY, ["grants", "table_keys"]),
                  ("d", Verdict.NOT_READY, ["reachability"]))
    diff = diff_estates(old, new)
    assert diff.worse
    assert diff.verdicts == [("a", Verdict.READY, Verdict.NOT_READY)]
    assert diff.new_failing == [("a", ["publication"]), ("b", ["table_keys"])]
    assert [s.name for s in diff.added] == ["d"] and [s.name for s in diff.removed] == ["c"]
    assert render_estate_diff(diff).splitlines()[-1] == "result: WORSE (3 servers: a, b, d)"
    back = diff_estates(new, old)
    assert not back.worse and back.fixed == [("a", ["publication"]), ("b", ["table_keys"])]


def test_merge_input_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert "no pg-preflight JSON report found" in one_line_usage_error("merge", str(tmp_path / "empty"))
    (tmp_path / "junk.json").write_text('{"hello": 1}')
    assert "junk.json" in one_line_usage_error("merge", str(tmp_path / "junk.json"))
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    assert "deep.json" in one_line_usage_error("merge", str(tmp_path / "deep.json"))
    assert "no such file" in one_line_usage_error("merge", str(tmp_path / "nope.json"))
    estate = _estate(("a", Verdict.READY, []))
    (tmp_path / "estate.json").write_text(estate.to_json())
    assert "estate report" in one_line_usage_error("merge", str(tmp_path / "estate.json"))
    (tmp_path / "one.json").write_text(_report(Verdict.READY, []).to_json())
    assert "two of a kind" in one_line_usage_error("diff", str(tmp_path / "estate.json"), str(tmp_path / "one.json"))


def test_an_empty_shard_checks_nothing_and_exits_0(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("a=postgresql://u@127.0.0.1:1/db\n")  # "a" is in shard 3 of 4
    result = run_cli("fleet", "--dsn-file", str(tmp_path / "f.txt"), "--shard", "1/4")
    assert result.exit_code == 0 and "0/0 servers ready" in result.stderr
    assert run_cli("fleet", "--dsn-file", str(tmp_path / "f.txt"), "--shard", "3/4", "--connect-timeout", "2").exit_code == ExitCode.UNREACHABLE
