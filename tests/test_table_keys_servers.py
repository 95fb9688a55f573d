"""table_keys on real servers: every identity case, decisions, the template command, and remediation SQL
that runs as printed on hostile names (and really prevents the outage on the source)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.decisions import parse_decisions
from preflight.models import CheckStatus, Report
from tests.conftest import PLUMBING, run_cli
from tests.servers import Server

_counter = itertools.count()

SCENARIO = [
    "CREATE TABLE public.nokey (a int, b text)",
    "CREATE TABLE public.cand (a int NOT NULL, b text)",
    "CREATE UNIQUE INDEX cand_a_key ON public.cand (a)",
    "CREATE TABLE public.full_t (a int)",
    "ALTER TABLE public.full_t REPLICA IDENTITY FULL",
    "CREATE TABLE public.pk_nothing (id int PRIMARY KEY)",
    "ALTER TABLE public.pk_nothing REPLICA IDENTITY NOTHING",
    "CREATE TABLE public.by_index (a int NOT NULL)",
    "CREATE UNIQUE INDEX by_index_a ON public.by_index (a)",
    "ALTER TABLE public.by_index REPLICA IDENTITY USING INDEX by_index_a",
    "CREATE TABLE public.gone (a int NOT NULL)",
    "CREATE UNIQUE INDEX gone_a ON public.gone (a)",
    "ALTER TABLE public.gone REPLICA IDENTITY USING INDEX gone_a",
    "DROP INDEX public.gone_a",
    "CREATE TABLE public.pk (id int PRIMARY KEY, x int, doubled int GENERATED ALWAYS AS (x * 2) STORED)",
    "CREATE UNLOGGED TABLE public.scratch (a int)",
    "CREATE VIEW public.v AS SELECT 1 AS x",
    "CREATE TABLE public.events (id int, at date NOT NULL) PARTITION BY RANGE (at)",
    "CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE TABLE public.events_2025 PARTITION OF public.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
    "CREATE TABLE public.keyed (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
    "CREATE TABLE public.keyed_2024 PARTITION OF public.keyed FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')",
    "CREATE SEQUENCE public.counter",
    "SELECT pg_catalog.lo_create(0)",
]
EXPECTED = {"nokey": "needs_decision", "cand": "needs_decision", "full_t": "ok", "pk_nothing": "needs_decision",
            "by_index": "ok", "gone": "needs_decision", "pk": "ok", "scratch": "not_publishable",
            "v": "not_publishable", "events": "needs_decision", "events_2024": "needs_decision",
            "events_2025": "needs_decision", "keyed": "ok", "keyed_2024": "ok"}


def fresh_db(server: Server, *statements: str) -> str:
    """A new database on ``server`` with ``statements`` run in it; returns its name."""
    name = f"tk_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name}")
    server.execute(*statements, dbname=name)
    return name


@pytest.fixture(scope="module")
def scenario(logical_server: Server) -> str:
    return logical_server.dsn(dbname=fresh_db(logical_server, *SCENARIO))


def check_json(*args: str) -> tuple[dict[str, Any], int]:
    result = run_cli("check", *args, "--check", "table_keys", "--format", "json")
    return json.loads(result.stdout), result.exit_code


def table_keys(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["id"] == "table_keys")


def test_every_identity_case_is_judged(scenario: str) -> None:
    report, code = check_json(scenario)
    assert code == 1 and report["status"] == "not_ready"
    assert {t["name"]: t["status"] for t in report["tables"]} == EXPECTED
    result = table_keys(report)
    assert result["status"] == "fail"
    errors = {f["object"]: f for f in result["findings"] if f["severity"] == "error"}
    # the root too: the printed CREATE PUBLICATION publishes via the root, whose identity the subscriber applies with
    assert set(errors) == {"public.nokey", "public.cand", "public.pk_nothing", "public.gone", "public.events",
                           "public.events_2024", "public.events_2025"}
    assert errors["public.cand"]["remediation"]["sql"] == ['ALTER TABLE "public"."cand" REPLICA IDENTITY USING INDEX "cand_a_key";']
    assert errors["public.pk_nothing"]["remediation"]["sql"] == ['ALTER TABLE "public"."pk_nothing" REPLICA IDENTITY DEFAULT;']
    assert errors["public.gone"]["code"] == "replica_identity_index_missing"
    assert "FAILS ON THE SOURCE" in errors["public.nokey"]["message"]
    by_name = {t["name"]: t for t in report["tables"]}
    assert by_name["cand"]["candidate_index"] == "cand_a_key"
    assert by_name["by_index"]["replica_identity"] == "index" and by_name["by_index"]["identity_index"] == "by_index_a"
    assert by_name["pk_nothing"]["has_primary_key"] is True and by_name["pk_nothing"]["replica_identity"] == "nothing"
    assert by_name["scratch"]["persistence"] == "unlogged" and by_name["v"]["kind"] == "view"
    assert by_name["events"]["kind"] == "partitioned_table"
    codes = {f["code"] for f in result["findings"] if f["severity"] == "info"}
    assert {"partitioned_table", "not_publishable", "sequences_not_replicated", "large_objects_not_replicated",
            "generated_columns_not_replicated", "ddl_not_replicated"} <= codes
    toast = [f["observed"] for f in result["findings"] if f["code"] == "unchanged_toast_not_sent"]
    assert toast == [2]  # nokey and cand: a text column, so a TOAST table (read by the tables query)


def test_decisions_file_settles_every_table(scenario: str, tmp_path: Path) -> None:
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps({"decisions": {
        "public.nokey": "replica_identity_full", "public.cand": "add_pk", "public.pk_nothing": "add_pk",
        "public.gone": "exclude", '"public"."events"': "replica_identity_full", "public.ghost": "exclude"}}))
    report, code = check_json(scenario, "--decisions", str(path))
    assert code == 1 and report["status"] == "not_ready"  # every decision is a promise not kept yet
    result = table_keys(report)
    errors = {f["object"]: f["code"] for f in result["findings"] if f["severity"] == "error"}
    assert errors == {"public.nokey": "decided_replica_identity_full", "public.cand": "decided_add_pk",
                      "public.pk_nothing": "decided_add_pk", "public.events": "decided_replica_identity_full",
                      "public.events_2024": "decided_replica_identity_full",
                      "public.events_2025": "decided_replica_identity_full"}
    statuses = {t["name"]: t["status"] for t in report["tables"]}
    assert statuses["nokey"] == statuses["cand"] == statuses["pk_nothing"] == statuses["events_2024"] == "decided"
    assert statuses["gone"] == "excluded" and statuses["full_t"] == "ok"
    ghost = next(f for f in result["findings"] if f["object"] == "public.ghost")
    assert ghost["severity"] == "warning" and ghost["code"] == "decision_matches_no_table"
    assert report["options"]["decisions"]["public.events"] == "replica_identity_full"
    # a consumer that applies FULL itself during its setup: those decisions are its job, add_pk still fails
    applied_by_consumer, code = check_json(scenario, "--decisions", str(path), "--profile", "ardent")
    result = table_keys(applied_by_consumer)
    assert code == 1 and {f["object"] for f in result["findings"] if f["severity"] == "error"} == {
        "public.cand", "public.pk_nothing"}
    assert {f["object"] for f in result["findings"] if f["code"] == "decided_replica_identity_full"
            and f["severity"] == "warning"} == {"public.nokey", "public.events_2024",
                                                 "public.events_2025"}  # wal2json: no root to publish through


@PLUMBING
def test_decisions_command_writes_a_template_that_check_accepts(scenario: str, tmp_path: Path) -> None:
    path = tmp_path / "template.json"
    result = run_cli("decisions", scenario, "-o", str(path))
    assert result.exit_code == 0, result.stderr
    document = json.loads(path.read_text())
    assert document == {"decisions": {"public.cand": "add_pk", "public.events": "replica_identity_full",
                                      "public.events_2024": "replica_identity_full",
                                      "public.events_2025": "replica_identity_full", "public.gone": "replica_identity_full",
                                      "public.nokey": "replica_identity_full", "public.pk_nothing": "add_pk"}}
    assert "# public.cand: add_pk" in result.stderr
    report, code = check_json(scenario, "--decisions", str(path))  # accepted; each decision still to carry out
    assert code == 1 and {f["code"] for f in table_keys(report)["findings"] if f["severity"] == "error"} == {
        "decided_add_pk", "decided_replica_identity_full"}
    to_stdout = run_cli("decisions", scenario, "-s", "public", "-t", "public.nokey")
    assert json.loads(to_stdout.stdout)["decisions"]["public.nokey"] == "replica_identity_full"


@PLUMBING
def test_decisions_command_follows_the_profile(scenario: str, tmp_path: Path) -> None:
    """Airbyte requires a primary key: the template decides every table short of one (a unique index is not
    enough) and suggests no REPLICA IDENTITY FULL; check with the same profile finds nothing left undecided."""
    path = tmp_path / "airbyte.json"
    result = run_cli("decisions", scenario, "--profile", "airbyte", "-o", str(path))
    assert result.exit_code == 0, result.stderr
    suggested = json.loads(path.read_text())["decisions"]
    assert set(suggested.values()) == {"add_pk"}, suggested
    assert {"public.nokey", "public.cand", "public.pk_nothing"} <= set(suggested)
    report, _ = check_json(scenario, "--profile", "airbyte", "--decisions", str(path))  # accepted: every table decided
    statuses = {f"{t['schema']}.{t['name']}": t["status"] for t in report["tables"]}
    assert {name: statuses[name] for name in suggested} == dict.fromkeys(suggested, "decided")
    assert "needs_decision" not in statuses.values(), statuses
    generic = json.loads(run_cli("decisions", scenario).stdout)["decisions"]
    assert generic["public.nokey"] == "replica_identity_full" and "public.by_index" not in generic
    unknown = run_cli("decisions", scenario, "--profile", "no-such-consumer")
    assert unknown.exit_code == 2 and unknown.stderr.count("\n") == 1, unknown.stderr


HOSTILE = [
    'CREATE SCHEMA "Sales EU"',
    'CREATE SCHEMA "my.schema"',
    'CREATE SCHEMA "MixedCase"',
    'CREATE TABLE "Sales EU"."a""b; DROP" (v text)',
    'CREATE TABLE "Sales EU"."Ünïcode Tæble" (k int NOT NULL, v text)',
    'CREATE UNIQUE INDEX "Ünï idx; --" ON "Sales EU"."Ünïcode Tæble" (k)',
    'CREATE TABLE "my.schema"."select" (id int PRIMARY KEY)',
    'ALTER TABLE "my.schema"."select" REPLICA IDENTITY NOTHING',
    'CREATE TABLE "MixedCase"."MixedTable" (Id int NOT NULL)',
    'CREATE UNIQUE INDEX "Weird""Idx" ON "MixedCase"."MixedTable" (Id)',
    'CREATE TABLE "my.schema"."Part" (at date NOT NULL, v text) PARTITION BY RANGE (at)',
    'CREATE TABLE "my.schema"."Part.2024" PARTITION OF "my.schema"."Part" FOR VALUES FROM (\'2024-01-01\') TO (\'2025-01-01\')',
]
HOSTILE_DECISIONS = {'Sales EU."a""b; DROP"': "replica_identity_full", "MixedCase.MixedTable": "add_pk",
                     '"my.schema".Part': "replica_identity_full"}
UPDATES = ['UPDATE "Sales EU"."a""b; DROP" SET v = v', 'UPDATE "Sales EU"."Ünïcode Tæble" SET v = v',
           'DELETE FROM "my.schema"."select"', 'UPDATE "MixedCase"."MixedTable" SET id = id',
           'UPDATE "my.schema"."Part" SET v = v']


def run_keys(dsn: str, decisions: dict[str, Any]) -> Report:
    """The API path: decision keys in the name syntax, canonicalised by the loader's parser."""
    return run_preflight(Options(dsn=dsn, checks=["table_keys"], decisions=parse_decisions({"decisions": decisions})))


def test_printed_remediation_runs_on_hostile_names_and_prevents_the_outage(servers: Any) -> None:
    server = servers()
    db = fresh_db(server, *HOSTILE, "CREATE PUBLICATION everything FOR ALL TABLES")
    server.execute(*[f"INSERT INTO {t} VALUES ({v})" for t, v in [
        ('"Sales EU"."a""b; DROP"', "'x'"), ('"Sales EU"."Ünïcode Tæble"', "1, 'x'"), ('"my.schema"."select"', "1"),
        ('"MixedCase"."MixedTable"', "1"), ('"my.schema"."Part"', "'2024-05-01', 'x'")]], dbname=db)
    for statement in UPDATES:  # the outage the check exists to prevent, observed
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="does not have a replica identity"):
            server.execute(statement, dbname=db)

    before = run_keys(server.dsn(dbname=db), HOSTILE_DECISIONS)
    result = before.check("table_keys")
    assert result.status is CheckStatus.FAIL
    assert {f.object for f in result.findings if f.severity.value == "error"} == {
        "Sales EU.Ünïcode Tæble", '"my.schema".select', 'Sales EU."a""b; DROP"', "MixedCase.MixedTable",
        '"my.schema".Part', '"my.schema"."Part.2024"'}  # decided, not carried out: errors too
    statements = [s for f in result.findings for s in f.remediation.sql_text()]
    assert len(statements) == 6, statements  # five tables and the partitioned root "Part"
    server.execute(*statements, dbname=db)  # exactly as printed

    after = run_keys(server.dsn(dbname=db), HOSTILE_DECISIONS)
    assert after.check("table_keys").status is CheckStatus.PASS, after.check("table_keys").findings
    assert {t.status for t in after.tables} == {"ok"}
    server.execute(*UPDATES, dbname=db)  # and the source now takes UPDATE/DELETE


def test_publication_reach_is_judged_and_other_publications_warn(logical_server: Server) -> None:
    db = fresh_db(logical_server, "CREATE SCHEMA app", "CREATE TABLE app.a (id int PRIMARY KEY)",
                  "CREATE SCHEMA other", "CREATE TABLE other.log (v text)",
                  "CREATE TABLE other.m (id int, v text) PARTITION BY RANGE (id)",
                  "CREATE TABLE other.m1 PARTITION OF other.m FOR VALUES FROM (0) TO (10)",
                  "CREATE PUBLICATION allpub FOR ALL TABLES WITH (publish_via_partition_root = true)")
    dsn = logical_server.dsn(dbname=db)
    unused, _ = check_json(dsn, "-s", "app")  # the consumer's own publication: cdc_publication, still to be created
    warned = {f["object"]: f for f in table_keys(unused)["findings"] if f["code"] == "unkeyed_in_other_publication"}
    assert set(warned) == {"other.log", "other.m1"} and warned["other.log"]["severity"] == "warning"
    assert table_keys(unused)["status"] == "warn"
    used, code = check_json(dsn, "-s", "app", "--publication", "allpub")
    errors = {f["object"] for f in table_keys(used)["findings"] if f["severity"] == "error"}
    assert code == 1 and errors == {"other.log", "other.m", "other.m1"}  # the root too: published via the root
    assert {t["name"] for t in used["tables"]} == {"a", "log", "m", "m1"}


EQUALITY = [
    "CREATE DOMAIN public.doc AS json",
    "CREATE TYPE public.pair AS (k int, v json)",
    "CREATE TABLE public.j (id int, v json)",
    "CREATE TABLE public.x (id int, v xml)",
    "CREATE TABLE public.p (id int, v point)",
    "CREATE TABLE public.d (id int, v public.doc[])",
    "CREATE TABLE public.c (id int, v public.pair)",
    "CREATE TABLE public.fine (id int, b jsonb, s varchar(5), r regclass, n cidr, t int4range)",
    "CREATE TABLE public.pk_json (id int PRIMARY KEY, v json)",
    "CREATE TABLE public.undecided (id int, v json)",
    *[f"ALTER TABLE public.{t} REPLICA IDENTITY FULL" for t in ("j", "x", "p", "d", "c", "fine", "pk_json")],
]


def test_full_over_a_type_without_equality_fails_for_a_native_subscriber_only(logical_server: Server,
                                                                               tmp_path: Path) -> None:
    """The column types come from the catalog of each version: json, xml, point, a domain array, a composite."""
    dsn = logical_server.dsn(dbname=fresh_db(logical_server, *EQUALITY))
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps({"decisions": {"public.undecided": "replica_identity_full"}}))
    native, code = check_json(dsn, "--profile", "native", "--decisions", str(path))
    errors = {f["object"]: f for f in table_keys(native)["findings"] if f["severity"] == "error"}
    assert code == 1 and set(errors) == {"public.j", "public.x", "public.p", "public.d", "public.c", "public.pk_json",
                                         "public.undecided"}
    assert {f["code"] for f in errors.values()} == {"full_identity_without_equality"}
    assert "type json" in errors["public.j"]["message"] and "type xml" in errors["public.x"]["message"]
    assert "type public.doc[]" in errors["public.d"]["message"]
    assert errors["public.pk_json"]["remediation"]["sql"] == ['ALTER TABLE "public"."pk_json" REPLICA IDENTITY DEFAULT;']
    assert errors["public.undecided"]["remediation"]["sql"] == []  # never the FULL that cannot work
    template = run_cli("decisions", dsn, "-t", "public.undecided")  # the template never suggests the FULL that fails
    assert json.loads(template.stdout) == {"decisions": {"public.undecided": "add_pk"}}, template.stderr
    debezium, code = check_json(dsn, "--profile", "debezium", "--decisions", str(path))
    assert [(f["object"], f["code"]) for f in table_keys(debezium)["findings"] if f["severity"] == "error"] == [
        ("public.undecided", "decided_replica_identity_full")]  # FULL works for a CDC connector; not applied yet


@PLUMBING
def test_exclude_of_a_table_the_publication_carries_fails(logical_server: Server, tmp_path: Path) -> None:
    db = fresh_db(logical_server, "CREATE TABLE public.a (id int PRIMARY KEY)", "CREATE TABLE public.log (v text)",
                  "CREATE PUBLICATION cdc_pub FOR TABLE public.a, public.log")
    dsn = logical_server.dsn(dbname=db)
    path = tmp_path / "decisions.json"
    path.write_text(json.dumps({"decisions": {"public.log": "exclude"}}))
    report, code = check_json(dsn, "--publication", "cdc_pub", "--decisions", str(path))
    errors = {(f["object"], f["code"]) for f in table_keys(report)["findings"] if f["severity"] == "error"}
    assert code == 1 and errors == {("public.log", "exclusion_not_applied"), ("public.log", "no_replica_identity")}
    logical_server.execute("ALTER PUBLICATION cdc_pub DROP TABLE public.log", dbname=db)
    report, code = check_json(dsn, "--publication", "cdc_pub", "--decisions", str(path))
    assert code == 0 and {t["name"]: t["status"] for t in report["tables"]} == {"a": "ok", "log": "excluded"}
