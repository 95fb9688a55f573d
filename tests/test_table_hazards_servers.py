"""row_security, columns, identifiers and sequences on real servers: each finding code produced, its printed fix
run as printed, and the re-check clean. Version-independent scenarios run on Debian's 15 only; generated columns,
whose publishing changes in 18, on 15 and 18."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import CheckResult, Severity
from tests.servers import CDC_USER, Server, add_cdc_role

pytestmark = [pytest.mark.server]

_counter = itertools.count()


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    """One server per module (and backend), a fresh database per scenario."""
    srv = servers()
    add_cdc_role(srv)
    return srv


def fresh_db(server: Server, *statements: str) -> str:
    name = f"th_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name}")
    server.execute(*statements, dbname=name)
    return name


def check(server: Server, dbname: str, check_id: str, profile: str = "generic", **kw: object) -> CheckResult:
    report = run_preflight(Options(dsn=server.dsn(dbname=dbname), checks=[check_id], role=CDC_USER, profile=profile,
                                   **kw))
    return report.check(check_id)


def found(result: CheckResult, code: str) -> dict[str | None, Severity]:
    return {f.object: f.severity for f in result.findings if f.code == code}


def run_printed(server: Server, dbname: str, result: CheckResult) -> None:
    """Every printed statement, as printed, as the superuser."""
    statements = [s for f in result.findings for s in f.remediation.sql_text()]
    assert statements
    server.execute(*statements, dbname=dbname)


# ------------------------------------------------------------------------------------------------ row_security

RLS = [
    "CREATE TABLE public.no_policy (id int PRIMARY KEY)",
    "CREATE TABLE public.filtered (id int PRIMARY KEY, tenant int)",
    "CREATE TABLE public.open_to_cdc (id int PRIMARY KEY)",
    "CREATE TABLE public.\"Own Forced\" (id int PRIMARY KEY)",
    "CREATE TABLE public.own_plain (id int PRIMARY KEY)",
    "CREATE TABLE public.no_rls (id int PRIMARY KEY)",
    "ALTER TABLE public.no_policy ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE public.filtered ENABLE ROW LEVEL SECURITY",
    "CREATE POLICY tenant_one ON public.filtered FOR SELECT USING (tenant = 1)",
    "ALTER TABLE public.open_to_cdc ENABLE ROW LEVEL SECURITY",
    f"CREATE POLICY all_rows ON public.open_to_cdc FOR SELECT TO {CDC_USER} USING (true)",
    "ALTER TABLE public.\"Own Forced\" ENABLE ROW LEVEL SECURITY",
    "ALTER TABLE public.\"Own Forced\" FORCE ROW LEVEL SECURITY",
    f"ALTER TABLE public.\"Own Forced\" OWNER TO {CDC_USER}",
    "ALTER TABLE public.own_plain ENABLE ROW LEVEL SECURITY",
    f"ALTER TABLE public.own_plain OWNER TO {CDC_USER}",
    f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CDC_USER}",
]


@pytest.mark.only_on("local")
def test_row_security_fails_where_the_role_reads_through_policies_and_the_printed_policy_fixes_it(
        server: Server) -> None:
    db = fresh_db(server, *RLS)
    result = check(server, db, "row_security")
    assert found(result, "row_security_filters_copy") == {
        "public.no_policy": Severity.ERROR, "public.filtered": Severity.ERROR, 'public.Own Forced': Severity.ERROR}
    assert result.status.value == "fail"
    # the same verdict for the CDC role's own session
    own = run_preflight(Options(dsn=server.dsn(user=CDC_USER, password="cdc-Secret-pw-42", dbname=db),
                                checks=["row_security"])).check("row_security")
    assert found(own, "row_security_filters_copy") == found(result, "row_security_filters_copy")
    run_printed(server, db, result)
    assert check(server, db, "row_security").findings == []


@pytest.mark.only_on("local")
def test_row_security_passes_for_a_role_with_bypassrls(server: Server) -> None:
    db = fresh_db(server, *RLS)
    server.execute(f"CREATE ROLE rls_bypass LOGIN BYPASSRLS IN ROLE {CDC_USER}")
    try:
        report = run_preflight(Options(dsn=server.dsn(dbname=db), checks=["row_security"], role="rls_bypass"))
        assert report.check("row_security").findings == []
    finally:
        server.execute("DROP ROLE rls_bypass")


# ------------------------------------------------------------------------------------------------------ columns


@pytest.mark.only_on("local")
def test_unlogged_and_temporary_selected_tables_warn_and_set_logged_runs_as_printed(server: Server) -> None:
    db = fresh_db(server, "CREATE UNLOGGED TABLE public.scratch (id int PRIMARY KEY)",
                  "CREATE TABLE public.kept (id int PRIMARY KEY)")
    result = check(server, db, "columns")
    assert found(result, "table_never_published") == {"public.scratch": Severity.WARNING}
    assert result.status.value == "warn"
    run_printed(server, db, result)
    assert server.execute("SELECT relpersistence FROM pg_class WHERE relname = 'scratch'", dbname=db) == [("p",)]
    assert found(check(server, db, "columns"), "table_never_published") == {}


COLUMN_TYPES = [
    "CREATE TYPE public.pair AS (x int, y int)",
    "CREATE TABLE public.typed (id int PRIMARY KEY, amount numeric, price numeric(10,2), tags text[], p public.pair, "
    "cash money, span int4range)",
]


@pytest.mark.only_on("local")
@pytest.mark.parametrize(("profile", "flagged"), [
    ("generic", set()),
    ("debezium", {"public.typed.p"}),
    ("aws-dms", {"public.typed.amount", "public.typed.tags", "public.typed.p"}),
])
def test_column_types_the_profile_documents_as_unsupported(server: Server, profile: str, flagged: set[str]) -> None:
    db = fresh_db(server, *COLUMN_TYPES)
    result = check(server, db, "columns", profile)
    assert set(found(result, "column_type_unsupported")) == flagged


@pytest.mark.only_on("local")
def test_a_profile_file_can_add_column_rules(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "lake.toml"
    path.write_text('[[column_rules]]\nmatch = "money"\nseverity = "error"\nsays = "money arrives as text"\n'
                    '[[column_rules]]\nmatch = "range"\nsays = "ranges arrive as text"\n', encoding="utf-8")
    db = fresh_db(server, *COLUMN_TYPES)
    result = check(server, db, "columns", str(path))
    assert found(result, "column_type_unsupported") == {"public.typed.cash": Severity.ERROR,
                                                         "public.typed.span": Severity.WARNING}
    assert result.status.value == "fail"


GENERATED = [
    "CREATE TABLE public.gen (id int PRIMARY KEY, x int, doubled int GENERATED ALWAYS AS (x * 2) STORED)",
    "CREATE TABLE public.plain (id int PRIMARY KEY, x int)",
]


@pytest.mark.only_on("local", "pg18")
def test_generated_columns_are_not_published_unless_18_publishes_stored_ones(server: Server) -> None:
    db = fresh_db(server, *GENERATED, "CREATE PUBLICATION cdc_publication FOR TABLE public.gen, public.plain")
    result = check(server, db, "columns")
    assert found(result, "generated_columns_not_published") == {"public.gen": Severity.WARNING}
    assert found(check(server, db, "columns", "native"), "generated_columns_not_published") == {
        "public.gen": Severity.INFO}
    fixes = [s for f in result.findings for s in f.remediation.sql_text()]
    if server.version < 18:
        assert fixes == []
        return
    assert fixes == ['ALTER PUBLICATION "cdc_publication" SET (publish_generated_columns = stored);']
    server.execute(*fixes, dbname=db)
    assert found(check(server, db, "columns"), "generated_columns_not_published") == {}
    server.execute("ALTER TABLE public.plain ADD COLUMN tripled int GENERATED ALWAYS AS (x * 3) VIRTUAL", dbname=db)
    virtual = check(server, db, "columns")
    assert found(virtual, "generated_columns_not_published") == {"public.plain": Severity.WARNING}
    assert [s for f in virtual.findings for s in f.remediation.sql_text()] == []


# -------------------------------------------------------------------------------------------------- identifiers


@pytest.mark.only_on("local")
def test_debezium_topic_names_collide_after_replacing_characters(server: Server) -> None:
    db = fresh_db(server, 'CREATE TABLE public."a b" (id int PRIMARY KEY)', "CREATE TABLE public.a_b (id int PRIMARY KEY)",
                  'CREATE SCHEMA "x.y"', 'CREATE TABLE "x.y".z (id int PRIMARY KEY)', "CREATE SCHEMA x",
                  'CREATE TABLE x."y.z" (id int PRIMARY KEY)', 'CREATE TABLE public."naïve" (id int PRIMARY KEY)')
    result = check(server, db, "identifiers", "debezium")
    collided = sorted(str(f.observed) for f in result.findings if f.code == "identifier_collision")
    assert collided == ['public.a b, public.a_b', 'x."y.z", "x.y".z']
    assert result.status.value == "fail"
    rewritten = [f for f in result.findings if f.code == "identifier_rewritten"]
    assert len(rewritten) == 1 and rewritten[0].observed == 2  # "a b" and "naïve"
    assert check(server, db, "identifiers", "generic").findings == []


@pytest.mark.only_on("local")
def test_a_case_folding_sink_that_refuses_characters(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "lake.toml"
    path.write_text('[naming]\ntarget = "lakehouse table"\ntemplate = "{schema}_{table}"\nallowed = "a-z0-9_"\n'
                    'reject = true\nfold = "lower"\ncollision = "warning"\n', encoding="utf-8")
    db = fresh_db(server, 'CREATE TABLE public."Orders" (id int PRIMARY KEY)', "CREATE TABLE public.orders (id int)",
                  'CREATE TABLE public."line-items" (id int PRIMARY KEY)')
    result = check(server, db, "identifiers", str(path))
    assert {f.code: f.severity for f in result.findings} == {"identifier_collision": Severity.WARNING,
                                                             "identifier_rejected": Severity.ERROR,
                                                             "identifier_rewritten": Severity.INFO}
    assert found(result, "identifier_rejected") == {"public.line-items": Severity.ERROR}
    assert [str(f.observed) for f in result.findings if f.code == "identifier_collision"] == [
        "public.Orders, public.orders"]


# ---------------------------------------------------------------------------------------------------- sequences


@pytest.mark.only_on("local")
def test_sequences_need_setting_at_a_migration_cutover_and_the_printed_query_sets_them(server: Server) -> None:
    schema = ['CREATE SCHEMA "Shop"', 'CREATE TABLE "Shop"."Orders" (id serial PRIMARY KEY, v text)',
              "CREATE TABLE public.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY)",
              "CREATE TABLE public.unused (id serial PRIMARY KEY)", "CREATE SEQUENCE public.loose"]
    db = fresh_db(server, *schema, 'INSERT INTO "Shop"."Orders" (v) SELECT \'x\' FROM generate_series(1, 41)',
                  "INSERT INTO public.items DEFAULT VALUES")
    target = fresh_db(server, *schema)
    assert check(server, db, "sequences").findings == []  # generic: no migration
    result = check(server, db, "sequences", "native")
    assert [(f.code, f.severity, f.observed) for f in result.findings] == [
        ("sequences_not_synced", Severity.WARNING, 3)]
    assert "loose" not in result.findings[0].message
    query = result.findings[0].remediation.steps_text()[0].partition("on the target: ")[2]
    statements = [str(row[0]) for row in server.execute(query, dbname=db)]
    assert len(statements) == 3
    server.execute(*statements, dbname=target)
    with psycopg.connect(server.dsn(dbname=target), autocommit=True) as conn:
        assert conn.execute('SELECT nextval(\'"Shop"."Orders_id_seq"\')').fetchone() == (42,)
        assert conn.execute("SELECT nextval('public.items_id_seq')").fetchone() == (2,)
        assert conn.execute("SELECT nextval('public.unused_id_seq')").fetchone() == (1,)
