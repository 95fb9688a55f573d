"""One place per rule: options, report wording, the version table, and an engine that names no check."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
import pytest
from pydantic import ValidationError

from preflight import Options, run_checks
from preflight.cli.main import check as check_command
from preflight.cli.options import default
from preflight.config import load_config
from preflight.models import VERDICT_WORDS, Verdict
from preflight.pg_versions import has_output_plugin_libraries
from preflight.reports import html, markdown, table
from preflight.snapshot_io import save_snapshot
from tests.conftest import run_cli
from tests.snapshots import make_snapshot

ENGINE = Path(__file__).parent.parent / "preflight"


def test_every_options_field_is_a_config_key(tmp_path: Path) -> None:
    sample = {"dsn": '"host=db"', "schemas": '["a"]', "tables": '["a.b"]', "plugin": '"wal2json"',
              "slot_name": '"s"', "publication": '"p"', "profile": '"debezium"', "slots_needed": "2",
              "senders_needed": "2", "checks": '["grants"]', "skip": '["grants"]', "connect_timeout": "3",
              "statement_timeout": "3", "lock_timeout": "3", "fail_on": '"never"', "role": '"cdc"', "probe": "true",
              "decisions": '"d.json"', "max_xact_age": "5", "provider": '"rds"',
              "sample": "30", "all_databases": "true", "databases": '["shop_*"]', "exclude_databases": '["tmp*"]',
              "database_decisions": '{shop = {"public.t" = "exclude"}}'}
    assert set(sample) == set(Options.model_fields) - {"waivers", "consumer"}, "a new Options field needs a sample here"
    path = tmp_path / "pg-preflight.toml"
    path.write_text("".join(f"{key} = {value}\n" for key, value in sample.items()))
    config = load_config(path)
    assert config.value("provider") == "rds" and config.value("senders_needed") == 2
    assert config.value("database_decisions") == {"shop": {"public.t": "exclude"}}


def test_provider_in_pyproject_is_used_not_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = tmp_path / "snap.json"
    save_snapshot(snapshot, make_snapshot({"wal_level": "replica"}), "host=db user=cdc", {})
    (tmp_path / "pyproject.toml").write_text('[tool.pg-preflight]\nprovider = "rds"\n')
    monkeypatch.chdir(tmp_path)
    result = run_cli("check", "--from-snapshot", str(snapshot), "--check", "logical_replication", "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["target"]["provider"] == "rds"
    wal = next(c for c in report["checks"] if c["id"] == "logical_replication")["findings"][0]
    assert wal["code"] == "wal_level_not_logical" and wal["remediation"]["sql"] == []


@pytest.mark.parametrize(("field", "value", "words"), [
    ("provider", "rdss", "unknown provider 'rdss'"),
    ("profile", "nonsense", "unknown profile 'nonsense'"),
])
def test_options_refuse_unknown_provider_and_profile(field: str, value: str, words: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(words)):
        Options(**{field: value})


def test_cli_defaults_are_the_options_defaults() -> None:
    checked = 0
    for param in check_command.params:
        if isinstance(param, click.Option) and param.name in Options.model_fields and not param.multiple:
            assert param.default == default(param.name), param.name
            checked += 1
    assert checked >= 10
    assert default("fail_on") == "error" and default("plugin") == "pgoutput"


def _model_bounds(field: str) -> dict[str, float]:
    return {name: getattr(c, name) for c in Options.model_fields[field].metadata
            for name in ("ge", "gt", "le", "lt") if getattr(c, name, None) is not None}


def test_cli_ranges_are_the_options_bounds() -> None:
    """Every numeric option of the command line is bounded as the model bounds it: one table of bounds."""
    ranged = {p.name: p.type for p in check_command.params
              if isinstance(p.type, (click.IntRange, click.FloatRange)) and p.name in Options.model_fields}
    bounded = {f for f in Options.model_fields if _model_bounds(f)}
    assert set(ranged) == bounded - {"senders_needed"}  # the walsenders follow --slots-needed on the command line
    for name, kind in ranged.items():
        bounds = _model_bounds(name)
        assert isinstance(kind, click.IntRange) == (Options.model_fields[name].annotation is int)
        assert (kind.min, kind.min_open) == (bounds.get("ge", bounds.get("gt")), "gt" in bounds), name
        assert (kind.max, kind.max_open) == (bounds.get("le", bounds.get("lt")), "lt" in bounds), name


@pytest.mark.parametrize(("option", "value"), [("--connect-timeout", "0"), ("--statement-timeout", "86401"),
                                               ("--slots-needed", "10001"), ("--sample", "-1")])
def test_the_cli_refuses_what_the_model_refuses(option: str, value: str) -> None:
    field = option.lstrip("-").replace("-", "_")
    with pytest.raises(ValidationError):
        Options(**{field: value})
    result = run_cli("check", option, value)
    assert result.exit_code == 2 and option in result.stderr, result.stderr


def test_verdict_words_defined_once_for_every_format() -> None:
    assert set(VERDICT_WORDS) == {v.value for v in Verdict}
    for module in (markdown, table, html):
        source = Path(str(module.__file__)).read_text(encoding="utf-8")
        assert '"NOT READY"' not in source and "VERDICT_WORDS[" in source, module.__name__


def test_one_table_of_versions_with_output_plugin_libraries() -> None:
    assert has_output_plugin_libraries(190000) and has_output_plugin_libraries(180006)
    assert not has_output_plugin_libraries(180005) and not has_output_plugin_libraries(140023)
    for version, has_it in ((190000, True), (170010, False), (170011, True)):
        report = run_checks(make_snapshot(version_num=version), Options(checks=["server_version"]))
        codes = [f.code for f in report.check("server_version").findings]
        assert ("output_plugin_allow_list" in codes) is has_it, version


def test_the_connection_check_joins_any_selection_and_only_it_runs_without_a_session() -> None:
    from preflight.facts import ConnectOutcome, Snapshot

    down = Snapshot(connect=ConnectOutcome(ok=False, failure_kind="refused", failure_message="refused"), server=None,
                    facts={})
    report = run_checks(down, Options(checks=["slot_capacity"]))
    assert [c.id for c in report.checks] == ["reachability", "logical_replication", "slot_capacity"]
    assert [c.status.value for c in report.checks] == ["fail", "skip", "skip"]


def test_engine_names_no_check_id() -> None:
    # Ids that are not also option, fact or field names ("provider", "publication", "server_version" are).
    ids = ["reachability", "writer_status", "logical_replication", "slot_capacity", "existing_slots", "table_keys",
           "grants", "long_transactions", "plugin_availability"]
    pattern = re.compile(r"""["'](?:{})["']""".format("|".join(ids)))
    folders = [ENGINE] + [p for p in ENGINE.iterdir() if p.is_dir() and p.name not in ("cli", "checks", "reports")]
    assert ENGINE / "facts" in folders
    offenders = []
    for path in sorted(p for folder in folders for p in folder.glob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ENGINE.parent)}:{number}: {line.strip()}")
    assert offenders == []
