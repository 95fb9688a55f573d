"""--all-databases on a real cluster of three databases: ``postgres``, ``shop`` and ``vault``, which the CDC
role may not CONNECT to. Cluster-wide checks appear once, database-scoped ones per database, and every
format names the database a finding is about."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from preflight import Options, pgserver, run_preflight
from preflight.cluster import database_dsn, run_all_databases
from preflight.connection import parse_dsn
from preflight.facts import (
    DATABASE_ACTIVITY,
    DATABASES,
    REPLICATION_PROBE,
    ROLE_SETTINGS,
    SERVER,
    SESSION_SETTINGS,
    TABLES,
    Scope,
    SqlFact,
)
from preflight.facts.gather import BatchTexts
from preflight.models import Report
from preflight.options import apply_profile
from preflight.registry import known_facts
from preflight.reports import FORMATS
from preflight.runner import take_snapshot, take_snapshot_on_walsender
from preflight.sqltext import psql_connect
from tests.conftest import run_cli
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role
from tests.test_all_databases_equality_servers import comparable


def psql_binary() -> Path:
    """psql beside the local server binaries the suite starts its servers with."""
    bindir = pgserver.find_bindir()
    assert bindir is not None and (bindir / "psql").exists(), "psql is installed with the server binaries"
    return bindir / "psql"


@pytest.fixture(scope="module")
def cluster(servers: Callable[..., Server]) -> tuple[Server, str]:
    server = servers(max_replication_slots="10")
    dsn = add_cdc_role(server)
    server.execute("DROP DATABASE IF EXISTS shop", "DROP DATABASE IF EXISTS vault",
                   "CREATE DATABASE shop", "CREATE DATABASE vault", "REVOKE CONNECT ON DATABASE vault FROM PUBLIC")
    # shop: a keyless table the role may not read (table_keys and grants findings in shop only)
    server.execute("CREATE TABLE public.orders (id int, note text)", dbname="shop")
    server.execute("CREATE TABLE public.settled (id int PRIMARY KEY)", "GRANT SELECT ON public.settled TO cdc")
    return server, dsn


@pytest.fixture(scope="module")
def report(cluster: tuple[Server, str]) -> Report:
    return run_all_databases(Options(dsn=cluster[1], all_databases=True))


def test_every_connectable_database_has_a_section(report: Report) -> None:
    assert report.databases is not None
    by_name = {db.dbname: db for db in report.databases}
    assert sorted(by_name) == ["postgres", "shop", "vault"]  # template0/template1 are not visited
    assert by_name["vault"].status == "no_connect_privilege" and by_name["vault"].verdict.value == "incomplete"
    assert [f.code for c in by_name["vault"].checks for f in c.findings] == ["no_connect_privilege"]
    assert by_name["shop"].status == by_name["postgres"].status == "checked"
    assert [t.name for t in by_name["shop"].tables] == ["orders"]
    assert [t.name for t in by_name["postgres"].tables] == ["settled"]


def test_cluster_checks_once_database_checks_per_database(report: Report) -> None:
    assert report.databases is not None
    cluster_ids = {c.id for c in report.checks}
    assert {"reachability", "logical_replication", "slot_capacity"} <= cluster_ids
    assert "table_keys" not in cluster_ids and "grants" not in cluster_ids
    shop = next(db for db in report.databases if db.dbname == "shop")
    shop_ids = {c.id for c in shop.checks}
    assert {"table_keys", "grants"} <= shop_ids and "slot_capacity" not in shop_ids
    shop_grants = {f.object for f in shop.checks[[c.id for c in shop.checks].index("grants")].findings}
    assert any("orders" in str(o) for o in shop_grants), shop_grants
    # the verdict counts every database's checks
    assert report.status.value == "not_ready"
    assert report.summary.fail == sum(1 for c in report.all_checks() if c.status.value == "fail")


def test_slots_needed_counts_per_connectable_database(report: Report) -> None:
    # the generic profile's consumer: one slot plus two table-sync workers' slots per database
    assert report.options["slots_needed_per_database"] == 3
    assert report.options["slots_needed"] == 6  # postgres and shop; vault cannot be replicated by this role


def test_a_plan_larger_than_the_free_slots_fails_slot_capacity(cluster: tuple[Server, str]) -> None:
    plan = run_all_databases(Options(dsn=cluster[1], all_databases=True, slots_needed=6, checks=["slot_capacity"]))
    finding = plan.check("slot_capacity").findings[0]
    assert finding.code == "no_free_slot" and finding.expected == ">= 12 free"


def test_json_shape_and_single_database_contract(cluster: tuple[Server, str]) -> None:
    many = run_cli("check", cluster[1], "--all-databases", "-f", "json")
    document = json.loads(many.stdout)
    assert [db["dbname"] for db in document["databases"]] == ["postgres", "shop", "vault"]
    assert set(document["databases"][0]) == {"dbname", "status", "verdict", "summary", "checks", "tables"}
    assert CDC_PASSWORD not in many.stdout
    one = run_cli("check", cluster[1], "-f", "json")
    assert "databases" not in json.loads(one.stdout)
    schema = json.loads(run_cli("schema").stdout)
    assert "databases" in schema["properties"] and "databases" not in schema.get("required", [])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_names_the_database(report: Report, fmt: str) -> None:
    text = FORMATS[fmt](report)
    for name in ("shop", "vault"):
        assert name in text, f"{fmt} does not name {name}"
    if fmt in ("table", "markdown", "html"):
        assert text.index("shop") < text.index("orders") < text.index("vault")  # the finding sits in shop's section
    if fmt == "junit":
        assert 'classname="pg-preflight.shop"' in text and 'name="pg-preflight database vault"' in text


def test_sql_script_connects_to_each_database_before_its_statements(cluster: tuple[Server, str], report: Report,
                                                                    tmp_path: Path) -> None:
    script = FORMATS["sql"](report)
    connect = "\\connect -reuse-previous=on 'dbname=''shop'''"
    assert connect in script
    assert script.index(connect) < script.index('"orders"')
    # psql itself reads the meta-command: the connection lands in shop
    server, _ = cluster
    probe = tmp_path / "probe.sql"
    probe.write_text(connect + "\nSELECT current_database();\n")
    psql = psql_binary()
    out = subprocess.run([str(psql), server.dsn(), "-X", "-At", "-f", str(probe)], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "shop"


def test_hostile_database_name_reaches_the_right_database(cluster: tuple[Server, str], tmp_path: Path) -> None:
    server, _ = cluster
    name = "host=nowhere o'hara \\x"
    server.execute('DROP DATABASE IF EXISTS "host=nowhere o\'hara \\x"', 'CREATE DATABASE "host=nowhere o\'hara \\x"')
    psql = psql_binary()
    probe = tmp_path / "probe.sql"
    probe.write_text(psql_connect(name) + "\nSELECT current_database();\n")
    try:
        out = subprocess.run([str(psql), server.dsn(), "-X", "-At", "-f", str(probe)], capture_output=True, text=True,
                             timeout=60, check=True)
        assert out.stdout.strip().splitlines()[-1] == name
        checked = run_all_databases(Options(dsn=server.dsn(), all_databases=True, checks=["table_keys"]))
        assert checked.databases is not None and name in [db.dbname for db in checked.databases]
        assert next(db for db in checked.databases if db.dbname == name).status == "checked"
    finally:
        server.execute('DROP DATABASE IF EXISTS "host=nowhere o\'hara \\x"')


def test_a_database_that_refuses_the_connection_is_reported_not_raised(cluster: tuple[Server, str]) -> None:
    server, dsn = cluster
    server.execute("DROP DATABASE IF EXISTS full_db", "CREATE DATABASE full_db CONNECTION LIMIT 0")
    try:
        report = run_all_databases(Options(dsn=dsn, all_databases=True, checks=["table_keys"]))
        assert report.databases is not None
        full = next(db for db in report.databases if db.dbname == "full_db")
        assert full.status == "connect_failed" and full.verdict.value == "incomplete"
        assert full.checks[0].status.value == "error" and full.checks[0].error
        assert CDC_PASSWORD not in report.to_json()
        assert report.status.value == "not_ready"  # shop's keyless table fails; the refused database adds an error
        assert report.summary.error == 1
    finally:
        server.execute("DROP DATABASE IF EXISTS full_db")


def test_database_patterns_choose_the_sections(cluster: tuple[Server, str]) -> None:
    only_shop = run_all_databases(Options(dsn=cluster[1], all_databases=True, databases=["sh*"]))
    assert only_shop.databases is not None and [db.dbname for db in only_shop.databases] == ["shop"]
    assert only_shop.options["slots_needed"] == 3  # one database's consumer
    rest = run_all_databases(Options(dsn=cluster[1], all_databases=True, exclude_databases=["v?ult", "shop"]))
    assert rest.databases is not None and [db.dbname for db in rest.databases] == ["postgres"]


def test_a_database_pattern_matching_nothing_is_a_finding_with_a_suggestion(cluster: tuple[Server, str]) -> None:
    report = run_all_databases(Options(dsn=cluster[1], all_databases=True, databases=["shopp", "postgres"]))
    access = next(c for c in report.checks if c.id == "database_access")
    [finding] = access.findings
    assert (finding.code, finding.severity.value, finding.object) == ("database_pattern_unmatched", "warning", "shopp")
    assert "did you mean 'shop'?" in finding.message
    assert report.databases is not None and [db.dbname for db in report.databases] == ["postgres"]


def test_database_patterns_need_all_databases(cluster: tuple[Server, str]) -> None:
    result = run_cli("check", cluster[1], "--database", "shop")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1].endswith("--database and --exclude-database choose among the "
                                                           "databases of --all-databases: add it")


def test_a_database_without_tables_to_publish_needs_no_slot(servers: Callable[..., Server]) -> None:
    server = servers(max_replication_slots="10")
    dsn = add_cdc_role(server)
    server.execute("CREATE DATABASE empty_one", "CREATE DATABASE with_view", "CREATE DATABASE with_table")
    server.execute("CREATE VIEW public.v AS SELECT 1 AS one", dbname="with_view")
    server.execute("CREATE TABLE public.t (id int PRIMARY KEY)", dbname="with_table")
    report = run_all_databases(Options(dsn=dsn, all_databases=True))
    assert report.databases is not None
    assert sorted(db.dbname for db in report.databases) == ["empty_one", "postgres", "with_table", "with_view"]
    assert report.options["slots_needed"] == 3  # with_table's consumer alone: 1 slot + 2 for its initial copy


def test_per_database_decisions_apply_in_their_database_only(cluster: tuple[Server, str], tmp_path: Path) -> None:
    """shop.public.orders has no key: decided 'exclude' for shop only, it passes there; the same file applied
    to a run pointed at shop alone says the same, and another database's entry changes nothing in shop."""
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {}, "databases": {"shop": {"public.orders": "exclude"},
                                                                   "postgres": {"public.orders": "add_pk"}}}))
    whole = json.loads(run_cli("check", cluster[1], "--all-databases", "--format", "json",
                               "--decisions", str(decisions)).stdout)
    shop = next(db for db in whole["databases"] if db["dbname"] == "shop")
    keys = next(c for c in shop["checks"] if c["id"] == "table_keys")
    assert keys["status"] == "pass", keys
    assert [(t["name"], t["decision"], t["status"]) for t in shop["tables"]] == [("orders", "exclude", "excluded")]
    shop_dsn = cluster[0].dsn(user=CDC_USER, password=CDC_PASSWORD, dbname="shop")
    alone = json.loads(run_cli("check", shop_dsn, "--format", "json", "--decisions", str(decisions)).stdout)
    assert next(c for c in alone["checks"] if c["id"] == "table_keys")["status"] == "pass"
    undecided = json.loads(run_cli("check", shop_dsn, "--format", "json").stdout)
    assert next(c for c in undecided["checks"] if c["id"] == "table_keys")["status"] == "fail"


def test_without_replication_a_section_still_equals_its_single_run(cluster: tuple[Server, str]) -> None:
    """A role without REPLICATION: the proof fails in every database (an ordinary session reads the rest), and
    each section says so as a run pointed at that database does."""
    server = cluster[0]
    server.execute("DROP ROLE IF EXISTS norep", "CREATE ROLE norep LOGIN NOREPLICATION PASSWORD 'norep-secret'")
    dsn = server.dsn(user="norep", password="norep-secret")
    whole = run_all_databases(Options(dsn=dsn, all_databases=True))
    assert whole.databases is not None
    for name in ("postgres", "shop"):
        section = next(db for db in whole.databases if db.dbname == name)
        single = run_preflight(Options(dsn=database_dsn(parse_dsn(dsn), name).raw or ""))
        assert section.status == "checked"
        grants = next(c for c in section.checks if c.id == "grants")
        assert "no_replication" in [f.code for f in grants.findings]
        by_id = {c.id: c for c in single.checks}
        assert [comparable(c) for c in section.checks] == [comparable(by_id[c.id]) for c in section.checks]
        assert [t.name for t in section.tables] == [t.name for t in single.tables]


def test_a_fact_read_once_is_marked_as_each_database_reads_it(cluster: tuple[Server, str]) -> None:
    """The database-scoped facts ``--all-databases`` reads once (``for_database``): the main session's value,
    marked for shop, is what shop's walsender reads there, as a run of every database reads it (the write
    counters of database_activity move between the two reads: its rows and their mark are compared). Neither
    database has settings stored for it, so the facts that need that are marked too."""
    marked = [f for f in known_facts().values() if isinstance(f, SqlFact) and f.for_database is not None]
    assert sorted(f.name for f in marked) == sorted([DATABASE_ACTIVITY.name, SERVER.name, SESSION_SETTINGS.name,
                                                     ROLE_SETTINGS.name])
    assert all(f.scope is Scope.DATABASE for f in marked)
    dsn = cluster[1]
    main = take_snapshot(parse_dsn(dsn), Options(dsn=dsn), [*marked, DATABASES])
    rows = {r.datname: r for r in main.facts[DATABASES.name]}
    assert rows["shop"].same_settings(rows["postgres"])
    shop_dsn = database_dsn(parse_dsn(dsn), "shop")
    shop = take_snapshot_on_walsender(shop_dsn, Options(dsn=shop_dsn.raw or ""), [*marked, REPLICATION_PROBE], {})
    assert shop.facts[REPLICATION_PROBE.name].status.value == "ok"  # read on the walsender, as --all-databases does

    def comparable(name: str, value: Any) -> Any:
        return [(r.datname, r.is_current) for r in value] if name == DATABASE_ACTIVITY.name else value

    for fact in marked:
        assert fact.for_database is not None
        assert (comparable(fact.name, fact.for_database(main.facts[fact.name], "shop"))
                == comparable(fact.name, shop.facts[fact.name])), fact.name
    assert main.facts[SERVER.name].database == "postgres" and shop.facts[SERVER.name].database == "shop"
    assert [r.is_current for r in shop.facts[DATABASE_ACTIVITY.name]].count(True) == 1


def test_settings_stored_for_a_database_tell_it_apart(cluster: tuple[Server, str]) -> None:
    """A database with settings of its own (or another encoding) starts its sessions differently: not marked."""
    server = cluster[0]
    server.execute("DROP DATABASE IF EXISTS tuned", "CREATE DATABASE tuned",
                   "ALTER DATABASE tuned SET default_transaction_read_only = on")
    try:
        main = take_snapshot(parse_dsn(cluster[1]), Options(dsn=cluster[1]), [DATABASES])
        rows = {r.datname: r for r in main.facts[DATABASES.name]}
        assert (rows["tuned"].stored_settings, rows["postgres"].stored_settings) == (True, False)
        assert not rows["tuned"].same_settings(rows["postgres"]) and rows["shop"].same_settings(rows["postgres"])
        report = run_all_databases(Options(dsn=cluster[1], all_databases=True, checks=["writer_status"]))
        assert report.databases is not None
        single = run_preflight(Options(dsn=database_dsn(parse_dsn(cluster[1]), "tuned").raw or "",
                                       checks=["writer_status"]))
        section = next(db for db in report.databases if db.dbname == "tuned")
        writer = [comparable(c) for c in section.checks if c.id == "writer_status"]
        assert writer and writer == [comparable(c) for c in single.checks if c.id == "writer_status"]
        assert "default_read_only" in [f.code for c in section.checks for f in c.findings]
    finally:
        server.execute("DROP DATABASE tuned")


def test_a_database_of_another_encoding_reads_its_own_names(servers: Callable[..., Server]) -> None:
    """The per-database batch is rendered once per run and encoding: a LATIN1 database beside UTF8 ones,
    all holding a schema named with a non-ASCII letter, each finds its table under ``-s`` (bytes rendered for
    UTF8 would name another schema in LATIN1)."""
    server = servers()
    dsn = add_cdc_role(server)
    server.execute("CREATE DATABASE latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0",
                   "CREATE DATABASE utf_one", "CREATE DATABASE utf_two")
    for name in ("latin", "utf_one", "utf_two"):
        server.execute('CREATE SCHEMA "caf\u00e9"', 'CREATE TABLE "caf\u00e9".t (id int PRIMARY KEY)',
                       'GRANT USAGE ON SCHEMA "caf\u00e9" TO cdc', 'GRANT SELECT ON "caf\u00e9".t TO cdc', dbname=name)
    texts: BatchTexts = {}  # a UTF8 database renders first, as a run's first database may: the LATIN1 one after it
    for name in ("utf_one", "latin"):
        there = database_dsn(parse_dsn(dsn), name)
        options = apply_profile(Options(dsn=there.raw or "", schemas=["caf\u00e9"]))
        read = take_snapshot_on_walsender(there, options, [TABLES, REPLICATION_PROBE], texts)
        assert [(t.schema, t.name) for t in read.facts[TABLES.name]] == [("caf\u00e9", "t")], name
    assert len(texts) == 2  # one batch per encoding
    report = run_all_databases(Options(dsn=dsn, all_databases=True, schemas=["caf\u00e9"]))
    assert report.databases is not None
    tables = {db.dbname: [(t.schema_, t.name) for t in db.tables] for db in report.databases}
    assert tables == {"postgres": [], **{name: [("caf\u00e9", "t")] for name in ("latin", "utf_one", "utf_two")}}
