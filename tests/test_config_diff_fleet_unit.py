"""Config files, report diffs, DSN files and snapshot files: parsing and errors (no server)."""

from __future__ import annotations

from pathlib import Path

import pytest

from preflight import Options, run_checks
from preflight.config import ConfigError, find_config, load_config
from preflight.diff import diff_reports, render_diff
from preflight.fleet import FleetFileError, parse_dsn_file
from preflight.snapshot_io import SnapshotError, load_snapshot, save_snapshot
from tests.snapshots import make_snapshot

ENGINE = ["reachability", "writer_status", "logical_replication", "slot_capacity"]


def test_pyproject_section_and_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pg-preflight]\nschemas = ["public"]\nslot-name = "cdc"\nfail_on = "warning"\n'
        '[[tool.pg-preflight.waivers]]\ncheck = "slot_capacity"\nreason = "ok"\nexpires = 2030-01-01\n')
    path = find_config(None, tmp_path)
    assert path == tmp_path / "pyproject.toml"
    config = load_config(path)
    assert config.value("schemas") == ["public"] and config.value("slot_name") == "cdc"
    assert config.waivers[0].check == "slot_capacity"
    bad = tmp_path / "pg-preflight.toml"
    bad.write_text('schemas = ["x"]\nslot_nmae = "typo"\nalso_bad = 1\n')
    with pytest.raises(ConfigError, match="unknown key\\(s\\): also_bad, slot_nmae"):
        load_config(bad)


@pytest.mark.parametrize("content", ["not = [toml", 'slots_needed = "many"', '[[waivers]]\ncheck = "x"\n'])
def test_bad_config_is_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "pg-preflight.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_pyproject_without_section_is_not_a_config(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[project]\nname='x'\n")
    assert find_config(None, tmp_path) is None


def test_diff_says_what_got_worse_and_better() -> None:
    good = run_checks(make_snapshot(), Options(checks=ENGINE))
    bad = run_checks(make_snapshot({"wal_level": "replica", "max_slot_wal_keep_size": "64"}), Options(checks=ENGINE))
    worse = diff_reports(good, bad)
    assert worse.worse
    text = render_diff(worse)
    assert "verdict: ready -> not_ready" in text and "wal_level_not_logical" in text and "result: WORSE" in text
    better = diff_reports(bad, good)
    assert not better.worse
    assert "- fixed: logical_replication/wal_level_not_logical" in render_diff(better)
    assert not diff_reports(good, good).worse


def test_dsn_file(tmp_path: Path) -> None:
    path = tmp_path / "fleet.txt"
    path.write_text("# fleet\n\nprod=postgresql://u@db1:5432/app\nhost=db2 dbname=app\npostgresql://u@db3/x\n")
    entries = parse_dsn_file(path)
    assert [e.name for e in entries] == ["prod", "db2_app", "db3_x"]
    assert entries[1].dsn == "host=db2 dbname=app"
    path.write_text("ok=postgresql://u@h/d\nhost=a port\n")
    with pytest.raises(FleetFileError, match=":2: invalid DSN"):
        parse_dsn_file(path)
    with pytest.raises(FleetFileError, match="no such file"):
        parse_dsn_file(tmp_path / "missing.txt")


def test_snapshot_round_trip(tmp_path: Path) -> None:
    snap = make_snapshot({"wal_level": "replica"})
    path = tmp_path / "snap.json"
    save_snapshot(path, snap, "postgresql://cdc:***@db/app", {"schemas": ["public"]})
    loaded = load_snapshot(path)
    assert loaded.snapshot == snap and loaded.target_dsn.endswith("@db/app")
    path.write_text('{"something": "else"}')
    with pytest.raises(SnapshotError, match="not a pg-preflight snapshot"):
        load_snapshot(path)
