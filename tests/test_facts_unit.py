"""The typed boundary between facts and checks: row models, decoding, registry validation, snapshot validation, list-facts."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from preflight.check import Check, CheckContext, Outcome
from preflight.cli.main import main
from preflight.codes import declare
from preflight.facts import (
    ACTIVITY,
    FACTS,
    PLUGIN_PROBE,
    PUBLICATIONS,
    REPLICATION_PROBE,
    SETTINGS,
    SLOTS,
    TABLES,
    WAL_STATS,
    ActivityFact,
    Fact,
    FactContext,
    OpenTransaction,
    PluginProbeKind,
    ProbeFact,
    ProbeStatus,
    PublicationMember,
    ReplicationProbeResult,
    Scope,
    SlotRow,
    SqlFact,
    TableRow,
    WalStats,
)
from preflight.facts.gather import follow_up
from preflight.options import Options
from preflight.registry import RegistryError, known_facts, validate
from preflight.snapshot_io import SnapshotError, load_snapshot, save_snapshot
from tests.snapshots import activity, make_snapshot, plugin_probe, replication_probe, session, slot, table


def test_every_fact_has_a_frozen_slotted_row_model() -> None:
    for fact in FACTS.values():
        params = getattr(fact.row, "__dataclass_params__", None)
        assert params is not None and params.frozen, fact.name
        assert hasattr(fact.row, "__slots__"), fact.name


def test_json_facts_decode_into_nested_row_models() -> None:
    raw = {"can_see_all": True, "role": "cdc", "hidden_sessions": 0, "prepared": [],
           "sessions": [{"pid": 7, "has_xid": True, "has_xmin": False, "xact_age_s": 1.5}]}
    decoded = ACTIVITY.decode(raw)
    assert decoded == ActivityFact(True, "cdc", 0, [OpenTransaction(pid=7, has_xid=True, has_xmin=False, xact_age_s=1.5)],
                                   [])
    assert WAL_STATS.decode(None) is None
    members = PUBLICATIONS.decode({"requested": "p", "judged_role": "cdc", "judged_role_is_superuser": False,
                                   "judged_role_can_create": True, "publications": [],
                                   "members": [{"schema": "s", "name": "t", "relreplident": "d",
                                                "related": [["s", "t_1"]]}]}).members
    assert members == [PublicationMember("s", "t", "d", related=[["s", "t_1"]])]


def test_fact_value_types_are_what_list_facts_and_snapshots_use() -> None:
    assert TABLES.value_type == list[TableRow]
    assert WAL_STATS.value_type == WalStats | None
    assert REPLICATION_PROBE.value_type is ReplicationProbeResult


CODES = declare()  # the finding codes of the checks this module defines: none


class _Reads(Check):
    id = "acme_reads"
    title = "ACME"
    facts: ClassVar[tuple[Fact, ...]] = ()

    def run(self, ctx: CheckContext) -> Outcome:
        return Outcome()


def _declaring(*facts: Any) -> type[Check]:
    return type("Declaring", (_Reads,), {"facts": facts})


@dataclasses.dataclass(frozen=True, slots=True)
class _Row:
    n: int


def _sql(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return "SELECT 1 AS n", {}


def test_registry_validates_declared_facts() -> None:
    validate(_declaring(SETTINGS, SqlFact.rows("acme_rows", "doc", _Row, _sql, scope=Scope.DATABASE)), {"reachability"})
    with pytest.raises(RegistryError, match=r"declares the fact 'settings' by name.*import SETTINGS"):
        validate(_declaring("settings"), {"reachability"})
    with pytest.raises(RegistryError, match="not a fact"):
        validate(_declaring(42), {"reachability"})
    with pytest.raises(RegistryError, match="a name the built-in fact has"):
        validate(_declaring(SqlFact.rows("tables", "doc", _Row, _sql, scope=Scope.DATABASE)), {"reachability"})
    with pytest.raises(RegistryError, match="invalid name"):
        validate(_declaring(SqlFact.rows("Bad Name", "doc", _Row, _sql, scope=Scope.DATABASE)), {"reachability"})
    with pytest.raises(RegistryError, match="no row model"):
        validate(_declaring(SqlFact.rows("acme_dicts", "doc", dict, _sql, scope=Scope.DATABASE)), {"reachability"})
    unscoped = SqlFact.rows("acme_unscoped", "doc", _Row, _sql, scope=Scope.CLUSTER)
    object.__setattr__(unscoped, "scope", "cluster")  # a plain string, past the constructor's own check
    with pytest.raises(RegistryError, match=r"'acme_unscoped' of check .* has no scope"):
        validate(_declaring(unscoped), {"reachability"})


def test_a_fact_cannot_be_defined_without_its_scope() -> None:
    with pytest.raises(TypeError, match="scope"):
        SqlFact.rows("acme_rows", "doc", _Row, _sql)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="scope"):
        ProbeFact("acme_probe", "doc", _Row, lambda conn, ctx: _Row(1))  # type: ignore[call-arg]
    with pytest.raises(TypeError, match=r"scope must be Scope.CLUSTER or Scope.DATABASE"):
        SqlFact.one("acme_row", "doc", _Row, _sql, scope="database")  # type: ignore[arg-type]


def test_every_fact_declares_its_scope() -> None:
    """Built-in facts and every fact a registered check declares (plugins' included)."""
    for name, fact in known_facts().items():
        assert isinstance(fact.scope, Scope), name


def _saved(tmp_path: Path, **facts: Any) -> Path:
    path = tmp_path / "snap.json"
    save_snapshot(path, make_snapshot(**facts), "postgresql://cdc@db/app", {})
    return path


def _edit(path: Path, name: str, change: Any) -> None:
    document = json.loads(path.read_text())
    change(document["snapshot"]["facts"][name])
    path.write_text(json.dumps(document))


def test_saved_snapshot_keeps_todays_keys_and_loads_typed(tmp_path: Path) -> None:
    path = _saved(tmp_path, slots=[slot("cdc")], tables=[table("public", "t")], activity=activity([session(7, 5.0)]),
                  plugin_probe=plugin_probe(ProbeStatus.SKIPPED, PluginProbeKind.NOT_REQUESTED, reason="no"),
                  replication_probe=replication_probe())
    stored = json.loads(path.read_text())["snapshot"]["facts"]
    assert set(stored["tables"][0]) == {f.name for f in dataclasses.fields(TABLES.row)}
    assert stored["plugin_probe"]["status"] == "skipped" and stored["plugin_probe"]["kind"] == "not_requested"
    loaded = load_snapshot(path).snapshot.facts
    assert loaded["slots"] == [slot("cdc")] and isinstance(loaded["slots"][0], SlotRow)
    assert loaded["plugin_probe"].kind is PluginProbeKind.NOT_REQUESTED
    assert loaded["activity"].sessions[0].pid == 7


def test_an_older_snapshot_without_newer_columns_still_loads(tmp_path: Path) -> None:
    path = _saved(tmp_path, slots=[slot("cdc")], replication_probe=replication_probe())

    def pre_13_slot(rows: list[dict[str, Any]]) -> None:
        for key in ("wal_status", "safe_wal_size", "two_phase", "conflicting", "inactive_since",
                    "invalidation_reason", "failover", "synced"):
            rows[0].pop(key)

    _edit(path, "slots", pre_13_slot)
    _edit(path, "replication_probe", lambda probe: [probe.pop(k) for k in list(probe) if probe[k] is None])
    loaded = load_snapshot(path).snapshot.facts
    assert loaded["slots"][0].wal_status is None and loaded["slots"][0].slot_name == "cdc"
    assert loaded["replication_probe"] == replication_probe()


@pytest.mark.parametrize(("name", "change", "message"), [
    ("tables", lambda rows: rows[0].update(has_primary_key="true"),
     "fact 'tables' row 0 field has_primary_key: Input should be a valid boolean"),
    ("slots", lambda rows: rows[1].update(active=1),
     "fact 'slots' row 1 field active: Input should be a valid boolean"),
    ("activity", lambda fact: fact.update(sessions="none"),
     "fact 'activity' field sessions: Input should be a valid array"),
    ("activity", lambda fact: fact["sessions"][0].pop("pid"),
     "fact 'activity' field sessions.0.pid: Field required"),
    ("server", lambda fact: fact.update(in_recovery="false"),
     "fact 'server' field in_recovery: Input should be a valid boolean"),
    ("plugin_probe", lambda fact: fact.update(status="maybe"),
     "fact 'plugin_probe' field status: Input should be 'ok', 'failed' or 'skipped'"),
])
def test_a_snapshot_with_wrong_types_is_one_line_naming_fact_row_and_field(
        tmp_path: Path, name: str, change: Any, message: str) -> None:
    path = _saved(tmp_path, slots=[slot("a"), slot("b")], tables=[table("public", "t")],
                  activity=activity([session(7, 5.0)]),
                  plugin_probe=plugin_probe(ProbeStatus.SKIPPED, PluginProbeKind.NOT_REQUESTED))
    _edit(path, name, change)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    assert str(caught.value) == f"{path}: {message}"


def test_list_facts_names_every_fact_with_its_row_fields() -> None:
    result = CliRunner().invoke(main, ["list-facts"])
    assert result.exit_code == 0, result.output
    for fact in FACTS.values():
        assert f"\n{fact.name}: " in "\n" + result.output
    assert "tables: list[TableRow] (catalog query)" in result.output
    assert "wal_stats: WalStats | None (catalog query)" in result.output
    assert "plugin_probe: PluginProbeResult (probe)" in result.output
    assert result.output.count("    scope: database (read in every database") == sum(
        f.scope is Scope.DATABASE for f in known_facts().values())
    assert "        has_primary_key: bool\n" in result.output
    assert "        blockers: ProbeBlockers | None\n" in result.output
    assert "    ProbeBlockers:\n" in result.output  # nested row models are listed too
    assert "read by: slot_capacity, slot_budget, existing_slots" in result.output.split("\nslots: ")[1].split("\n\n")[0]
    assert "    PluginProbeKind: library_missing, not_allowed," in result.output  # enum values are listed
    assert PLUGIN_PROBE.doc in result.output and SLOTS.doc in result.output


def test_the_cli_refuses_a_mistyped_snapshot_in_one_line(tmp_path: Path) -> None:
    path = _saved(tmp_path, tables=[table("public", "t")])
    _edit(path, "tables", lambda rows: rows[0].update(can_select=["yes"]))
    result = CliRunner().invoke(main, ["check", "--from-snapshot", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].endswith(f"--from-snapshot {path}: fact 'tables' row 0 field can_select: Input should be a valid boolean")


def test_a_follow_up_keeps_its_value_or_becomes_the_facts_failure_scrubbed() -> None:
    def build(ctx: FactContext) -> tuple[str, dict[str, Any]]:
        return "SELECT 1", {}

    def double(conn: Any, value: int, ctx: FactContext) -> int:
        return value * 2

    def broken(conn: Any, value: int, ctx: FactContext) -> int:
        raise ValueError("lost the s3cret connection")

    ctx = FactContext(170000, Options())
    fine = SqlFact.one("fine", "", int, build, scope=Scope.CLUSTER, follow=double)
    failing = SqlFact.one("failing", "", int, build, scope=Scope.CLUSTER, follow=broken)
    facts: dict[str, Any] = {"fine": 2, "failing": 3}
    closed = SimpleNamespace(closed=True)  # a failed follow-up rolls back only a connection still open
    failures = follow_up(closed, [fine, failing], facts, ctx, ["s3cret"])  # type: ignore[arg-type]
    assert facts == {"fine": 4}
    assert failures == {"failing": "lost the *** connection"}
