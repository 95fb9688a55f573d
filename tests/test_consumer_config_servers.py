"""--consumer-config on a real server: each format gives the report of the equivalent hand-written options, the
include lists capture the tables Debezium would, the file's slot is the slot judged, the publication the consumer
creates needs what PostgreSQL demands (ownership, a superuser), no initial copy needs no table-sync slots, the
heartbeat table is judged (and written as the role, PostgreSQL deciding), and no secret of the file is shown."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from preflight.names import format_name
from preflight.reports import FORMATS
from tests.conftest import PLUMBING, run_cli
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role
from tests.write_load import WriteLoad, prepare

pytestmark = [pytest.mark.server, PLUMBING]

SECRET = "Fi1e-Secret-never-shown"
CLASS = "io.debezium.connector.postgresql.PostgresConnector"
TABLES = ["public.orders", "public.customers", '"Sales.EU"."Orders"', 'shop."order.items"', "shop.orderxitems",
          'shop."Q""uote"', "shop.audit_log", "public.dbz_heartbeat"]
ENV = {"PGPASSWORD": CDC_PASSWORD}


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    server = servers(max_replication_slots="4")
    add_cdc_role(server)
    server.execute('CREATE SCHEMA "Sales.EU"', "CREATE SCHEMA shop",
                   *(f"CREATE TABLE {t} (id int PRIMARY KEY, ts timestamptz)" for t in TABLES),
                   f'GRANT USAGE ON SCHEMA public, shop, "Sales.EU" TO {CDC_USER}',
                   f'GRANT SELECT ON ALL TABLES IN SCHEMA public, shop, "Sales.EU" TO {CDC_USER}')
    return server


@pytest.fixture()
def publication(server: Server) -> Iterator[str]:
    server.execute("CREATE PUBLICATION dbz_pub FOR TABLE public.orders, public.customers")
    yield "dbz_pub"
    server.execute("DROP PUBLICATION IF EXISTS dbz_pub")


def debezium(server: Server, **config: str) -> dict[str, str]:
    return {"connector.class": CLASS, "database.hostname": "127.0.0.1", "database.port": str(server.port),  # type: ignore[attr-defined]
            "database.user": CDC_USER, "database.password": SECRET, "database.dbname": "postgres",
            "topic.prefix": "shop", "plugin.name": "pgoutput", **config}


def write(tmp_path: Path, body: object, name: str = "connector.json") -> str:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return str(path)


def report(*args: str) -> dict[str, Any]:
    result = run_cli("check", "--format", "json", *args, env=ENV)
    assert result.exit_code in (0, 1), result.output
    assert SECRET not in result.output
    return dict(json.loads(result.stdout))


def shape(rep: dict[str, Any]) -> tuple[str, list[tuple[str, str, str, str | None]]]:
    """The verdict and every check's status and findings (code, object): what the two runs must share.

    The heartbeat check is left out: no command-line option says what heartbeat the consumer runs, so only a
    configuration file can have it judged (``heartbeat_codes`` looks at it).
    """
    return rep["status"], sorted((c["id"], c["status"], f["code"], f.get("object"))
                                 for c in rep["checks"] if c["id"] != "heartbeat"
                                 for f in c["findings"] or [{"code": "-"}])


def heartbeat_codes(rep: dict[str, Any]) -> list[str]:
    return [f["code"] for c in rep["checks"] if c["id"] == "heartbeat" for f in c["findings"]]


def cdc_dsn(server: Server) -> str:
    return server.dsn(user=CDC_USER, password=CDC_PASSWORD)


# (a) every format gives the report of the same options written by hand --------------------------------------

def test_debezium_json_and_properties_give_the_hand_written_report(tmp_path: Path, server: Server,
                                                                   publication: str) -> None:
    config = debezium(server, **{"slot.name": "dbz_shop", "publication.name": publication,
                                 "publication.autocreate.mode": "disabled",
                                 "table.include.list": r"public\.orders,public\.customers"})
    by_file = report("--consumer-config", write(tmp_path, {"name": "shop", "config": config}))
    properties = "\n".join(f"{k}={v.replace(chr(92), chr(92) * 2)}" for k, v in config.items())
    by_properties = report("--consumer-config", write(tmp_path, properties, "shop.properties"))
    by_hand = report(cdc_dsn(server), "--profile", "debezium", "--slot-name", "dbz_shop", "--publication", publication,
                     "--plugin", "pgoutput", "-t", "public.orders", "-t", "public.customers")
    assert shape(by_file) == shape(by_hand) == shape(by_properties)
    assert heartbeat_codes(by_file) == heartbeat_codes(by_properties) == ["heartbeat_missing"]  # Debezium needs one
    assert heartbeat_codes(by_hand) == []
    assert sorted(by_file["options"]["tables"]) == sorted(by_hand["options"]["tables"]) == [
        "public.customers", "public.orders"]
    sources = by_file["options"]["consumer_config"]["sources"]
    assert sources["slot_name"].endswith("connector.json: config.slot.name")
    assert sources["tables"].endswith("config.table.include.list") and sources["profile"].endswith("debezium format")
    # the command line wins, and says so
    overridden = report("--consumer-config", write(tmp_path, {"name": "shop", "config": config}), "--slot-name", "x")
    assert overridden["options"]["slot_name"] == "x"
    assert overridden["options"]["consumer_config"]["sources"]["slot_name"] == "command line"
    text = run_cli("check", "--consumer-config", str(tmp_path / "connector.json"), env=ENV).stdout
    assert "Consumer configuration:" in text and "slot: dbz_shop  [connector.json: config.slot.name]" in text


def test_dms_airbyte_and_request_give_the_hand_written_report(tmp_path: Path, server: Server,
                                                              publication: str) -> None:
    port = server.port  # type: ignore[attr-defined]
    dms = {"EndpointType": "source", "EngineName": "postgres", "ServerName": "127.0.0.1", "Port": port,
           "DatabaseName": "postgres", "Username": CDC_USER, "Password": SECRET,
           "PostgreSQLSettings": {"SlotName": "dms_slot", "PluginName": "test-decoding"}}
    by_dms = report("--consumer-config", write(tmp_path, dms))
    assert shape(by_dms) == shape(report(
        cdc_dsn(server), "--profile", "aws-dms", "--plugin", "test_decoding", "--slot-name", "dms_slot"))
    assert heartbeat_codes(by_dms) == ["heartbeat_missing"]  # HeartbeatEnable is off, and DMS needs one
    airbyte = {"host": "127.0.0.1", "port": port, "database": "postgres", "username": CDC_USER, "password": SECRET,
               "schemas": ["public"], "replication_method": {"method": "CDC", "replication_slot": "ab_slot",
                                                             "publication": publication, "plugin": "pgoutput"}}
    assert shape(report("--consumer-config", write(tmp_path, airbyte))) == shape(report(
        cdc_dsn(server), "--profile", "airbyte", "--slot-name", "ab_slot", "--publication", publication,
        "--plugin", "pgoutput", "-s", "public"))
    body = {"service_name": "postgresql", "selected_schemas": ["public"],
            "connection_details": {"url": f"postgresql://{CDC_USER}:{SECRET}@127.0.0.1:{port}/postgres"}}
    by_request = report("--request", write(tmp_path, body))
    assert shape(by_request) == shape(report(cdc_dsn(server), "-s", "public"))
    assert by_request["target"]["user"] == CDC_USER  # the URL's password was dropped: PGPASSWORD connected


# (b) the include lists capture exactly the tables Debezium would ---------------------------------------------

@pytest.mark.parametrize(("lists", "captured"), [
    ({"table.include.list": r"PUBLIC\.orders,sales\.eu\.orders,shop\.order.items"},
     [("public", "orders"), ("Sales.EU", "Orders"), ("shop", "order.items"), ("shop", "orderxitems")]),
    ({"table.include.list": r'shop\.order\.items,shop\.q"uote'}, [("shop", "order.items"), ("shop", 'Q"uote')]),
    ({"schema.include.list": "shop", "table.exclude.list": r"shop\.audit.*,shop\.order.*"}, [("shop", 'Q"uote')]),
    ({"schema.exclude.list": "public,shop"}, [("Sales.EU", "Orders")]),
    ({"schema.include.list": "sales.eu", "table.include.list": r".*\.orders"}, [("Sales.EU", "Orders")]),
])
def test_include_lists_capture_what_debezium_captures(tmp_path: Path, server: Server, lists: dict[str, str],
                                                      captured: list[tuple[str, str]]) -> None:
    rep = report("--consumer-config", write(tmp_path, debezium(server, **lists)), "--check", "reachability")
    assert sorted(rep["options"]["tables"]) == sorted(format_name(*name) for name in captured)


def test_an_include_list_capturing_nothing_is_an_error(tmp_path: Path, server: Server) -> None:
    path = write(tmp_path, debezium(server, **{"table.include.list": r"nothing\..*"}))
    result = run_cli("check", "--consumer-config", path, env=ENV)
    assert result.exit_code == 2 and "capture none of the" in result.stderr


# (c) the file's slot is the slot judged -----------------------------------------------------------------------

def test_the_files_slot_is_the_slot_judged(tmp_path: Path, server: Server) -> None:
    server.execute("SELECT pg_create_logical_replication_slot('dbz_orders', 'test_decoding')")
    try:
        mine = report("--consumer-config", write(tmp_path, debezium(server, **{"slot.name": "dbz_orders"})),
                      "--check", "existing_slots")
        slots = next(c for c in mine["checks"] if c["id"] == "existing_slots")
        assert "slot_plugin_mismatch" in {f["code"] for f in slots["findings"] if f["object"] == "dbz_orders"}
        other = report("--consumer-config", write(tmp_path, debezium(server)), "--check", "existing_slots")
        codes = {f["code"] for c in other["checks"] for f in c["findings"] if f["object"] == "dbz_orders"}
        assert "other_slot" in codes and "slot_plugin_mismatch" not in codes
    finally:
        server.execute("SELECT pg_drop_replication_slot('dbz_orders')")


# (d) a publication the consumer creates needs what PostgreSQL demands ----------------------------------------

def publication_codes(rep: dict[str, Any]) -> dict[str, str]:
    check = next(c for c in rep["checks"] if c["id"] == "publication")
    return {f["code"]: f["severity"] for f in check["findings"]}


def create_as_cdc(server: Server, statement: str) -> str | None:
    """What PostgreSQL says when the CDC role runs the connector's CREATE PUBLICATION (None: it worked)."""
    try:
        with psycopg.connect(cdc_dsn(server), autocommit=True) as conn:
            conn.execute(statement)
            conn.execute("DROP PUBLICATION IF EXISTS dbz_publication")
        return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def test_filtered_autocreate_needs_the_tables_ownership(tmp_path: Path, server: Server) -> None:
    path = write(tmp_path, debezium(server, **{"publication.autocreate.mode": "filtered",
                                               "table.include.list": r"public\.orders"}))
    statement = "CREATE PUBLICATION dbz_publication FOR TABLE public.orders"
    server.execute(f"GRANT CREATE ON DATABASE postgres TO {CDC_USER}")
    try:
        denied = report("--consumer-config", path, "--check", "publication")
        assert publication_codes(denied) == {"publication_autocreate_denied": "error"}
        assert "must be owner of table orders" in (create_as_cdc(server, statement) or "")
        server.execute(f"ALTER TABLE public.orders OWNER TO {CDC_USER}")
        allowed = report("--consumer-config", path, "--check", "publication")
        assert publication_codes(allowed) == {"publication_autocreated": "info"} and allowed["status"] == "ready"
        assert create_as_cdc(server, statement) is None
    finally:
        server.execute("ALTER TABLE public.orders OWNER TO postgres", f"REVOKE CREATE ON DATABASE postgres FROM {CDC_USER}")


def test_all_tables_autocreate_needs_a_superuser(tmp_path: Path, server: Server) -> None:
    path = write(tmp_path, debezium(server, **{"table.include.list": r"public\.orders"}))  # all_tables: the default
    server.execute(f"GRANT CREATE ON DATABASE postgres TO {CDC_USER}")
    try:
        assert publication_codes(report("--consumer-config", path, "--check", "publication")) == {
            "publication_autocreate_denied": "error"}
        assert "must be superuser" in (create_as_cdc(server, "CREATE PUBLICATION dbz_publication FOR ALL TABLES") or "")
    finally:
        server.execute(f"REVOKE CREATE ON DATABASE postgres FROM {CDC_USER}")
    as_admin = report("--consumer-config", path, "--check", "publication", "--role", "postgres",
                      server.dsn())  # the DSN argument wins over the file's connection
    assert publication_codes(as_admin) == {"publication_autocreated": "info"}
    assert as_admin["options"]["consumer_config"]["sources"]["dsn"] == "command line"


# (e) no initial copy: no table-sync slots ---------------------------------------------------------------------

def test_snapshot_never_needs_no_sync_slots(tmp_path: Path, server: Server) -> None:
    server.execute("SELECT pg_create_logical_replication_slot('filler_1', 'test_decoding')",
                   "SELECT pg_create_logical_replication_slot('filler_2', 'test_decoding')")
    try:  # 4 slots, 2 used: the generic profile's 1 + 2 table-sync slots do not fit, 1 does
        def capacity(mode: str, *more: str) -> set[str]:
            path = write(tmp_path, debezium(server, **{"snapshot.mode": mode}))
            rep = report("--consumer-config", path, "--profile", "generic", "--check", "slot_capacity", *more)
            return {f["code"] for c in rep["checks"] for f in c["findings"]}

        assert "no_free_slot" in capacity("initial")
        assert "no_free_slot" not in capacity("never") and "no_free_slot" not in capacity("no_data")
        by_hand = report(cdc_dsn(server), "--profile", "generic", "--slots-needed", "1", "--check", "slot_capacity")
        assert {f["code"] for c in by_hand["checks"] for f in c["findings"]} == capacity("never")
    finally:
        server.execute("SELECT pg_drop_replication_slot('filler_1')", "SELECT pg_drop_replication_slot('filler_2')")


# (f) the heartbeat table: missing, not published, not writable ----------------------------------------------

UPSERT = "INSERT INTO {} (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts"


def heartbeat(tmp_path: Path, server: Server, table: str, publication: str) -> dict[str, str]:
    rep = report("--consumer-config", write(tmp_path, debezium(server, **{
        "heartbeat.interval.ms": "10000", "heartbeat.action.query": UPSERT.format(table),
        "publication.name": publication, "publication.autocreate.mode": "disabled"})), "--check", "heartbeat")
    check = next(c for c in rep["checks"] if c["id"] == "heartbeat")
    return {f["code"]: f["severity"] for f in check["findings"]}


def beat_as_cdc(server: Server, table: str) -> str | None:
    try:
        with psycopg.connect(cdc_dsn(server), autocommit=True) as conn:
            conn.execute(UPSERT.format(table))
        return None
    except psycopg.Error as exc:
        return str(exc).splitlines()[0]


def test_heartbeat_table_missing_unpublished_or_not_writable_fails(tmp_path: Path, server: Server,
                                                                    publication: str) -> None:
    assert heartbeat(tmp_path, server, "public.no_such_beat", publication) == {"heartbeat_table_missing": "error"}
    assert "does not exist" in (beat_as_cdc(server, "public.no_such_beat") or "")
    assert heartbeat(tmp_path, server, "public.dbz_heartbeat", publication) == {
        "heartbeat_not_writable": "error", "heartbeat_not_published": "error"}
    assert "permission denied" in (beat_as_cdc(server, "public.dbz_heartbeat") or "")
    server.execute(f"GRANT INSERT, UPDATE ON public.dbz_heartbeat TO {CDC_USER}")
    try:
        assert heartbeat(tmp_path, server, "public.dbz_heartbeat", publication) == {"heartbeat_not_published": "error"}
        assert beat_as_cdc(server, "public.dbz_heartbeat") is None
        server.execute(f"ALTER PUBLICATION {publication} ADD TABLE public.dbz_heartbeat")
        assert heartbeat(tmp_path, server, "public.dbz_heartbeat", publication) == {}
    finally:
        server.execute(f"REVOKE INSERT, UPDATE ON public.dbz_heartbeat FROM {CDC_USER}")


def test_heartbeat_statement_not_understood_is_info(tmp_path: Path, server: Server) -> None:
    rep = report("--consumer-config", write(tmp_path, debezium(server, **{
        "heartbeat.interval.ms": "1000", "heartbeat.action.query": "SELECT pg_logical_emit_message(false, 'hb', '')"})),
        "--check", "heartbeat")
    assert [(f["code"], f["severity"]) for c in rep["checks"] if c["id"] == "heartbeat" for f in c["findings"]] == [
        ("heartbeat_not_understood", "info")]


# (g) under write load: the same verdict a run later, as the CDC role and as an admin judging it --------------

def test_the_files_verdicts_hold_under_write_load(tmp_path: Path, server: Server, publication: str) -> None:
    """Sustained short write transactions on other tables: two runs of the same file give the same verdict and
    findings, as the CDC role and as an admin with --role; a published, writable heartbeat passes and a filtered
    autocreate the role cannot do fails in every run."""
    prepare(server.dsn(), CDC_USER)
    server.execute(f"GRANT INSERT, UPDATE ON public.dbz_heartbeat TO {CDC_USER}",
                   f"ALTER PUBLICATION {publication} ADD TABLE public.dbz_heartbeat")
    captured = {"table.include.list": r"public\.orders,public\.dbz_heartbeat"}
    beat = write(tmp_path, debezium(server, **captured, **{
        "heartbeat.interval.ms": "10000", "heartbeat.action.query": UPSERT.format("public.dbz_heartbeat"),
        "publication.name": publication, "publication.autocreate.mode": "disabled"}), "beat.json")
    filtered = write(tmp_path, debezium(server, **captured, **{
        "publication.name": "dbz_new", "publication.autocreate.mode": "filtered"}), "filtered.json")
    try:
        with WriteLoad(server.dsn(), clients=4, seconds=120):
            runs = {(name, who): [report("--consumer-config", path, *args) for _ in range(2)]
                    for name, path in (("beat", beat), ("filtered", filtered))
                    for who, args in (("cdc", ()), ("admin", (server.dsn(), "--role", CDC_USER)))}
        for (name, who), (first, second) in runs.items():
            assert shape(first) == shape(second), (name, who)
            assert heartbeat_codes(first) == heartbeat_codes(second), (name, who)
        for who in ("cdc", "admin"):
            assert heartbeat_codes(runs["beat", who][0]) == [], who
            assert publication_codes(runs["beat", who][0]) == {}, who
            assert publication_codes(runs["filtered", who][0]) == {"publication_autocreate_denied": "error"}, who
            assert runs["filtered", who][0]["status"] == "not_ready", who
    finally:
        server.execute(f"ALTER PUBLICATION {publication} DROP TABLE public.dbz_heartbeat",
                       f"REVOKE INSERT, UPDATE ON public.dbz_heartbeat FROM {CDC_USER}", "DROP SCHEMA load CASCADE")


# secrets -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_no_secret_of_the_file_reaches_any_output(tmp_path: Path, server: Server, fmt: str) -> None:
    config = debezium(server, **{"database.sslpassword": SECRET, "database.sslkey": f"/keys/{SECRET}.pem",
                                 "sasl.jaas.config": f'... required username="u" password="{SECRET}";',
                                 "heartbeat.interval.ms": "1000",
                                 "heartbeat.action.query": "SELECT pg_logical_emit_message(false, 'hb', '')"})
    path = write(tmp_path, {"name": "shop", "config": config})
    out = tmp_path / f"out.{fmt}"
    result = run_cli("check", "--consumer-config", path, "--format", fmt, "--verbose", "-o", f"{fmt}:{out}", env=ENV)
    assert result.exit_code in (0, 1), result.output
    assert SECRET not in result.output and SECRET not in out.read_text()
    assert "Traceback" not in result.output


def test_filtered_on_an_existing_publication(tmp_path: Path, server: Server) -> None:
    """filtered meets FOR ALL TABLES: the connector refuses to start; a FOR TABLE one lacking a captured table is
    the connector's to update when its role owns the publication and the tables, else the table is missing."""
    path = write(tmp_path, debezium(server, **{"publication.autocreate.mode": "filtered", "publication.name": "dbz_f",
                                               "table.include.list": r"public\.orders,public\.customers"}))
    server.execute("CREATE PUBLICATION dbz_f FOR ALL TABLES")
    try:
        assert publication_codes(report("--consumer-config", path, "--check", "publication")) == {
            "publication_autocreate_conflict": "error"}
        server.execute("DROP PUBLICATION dbz_f", "CREATE PUBLICATION dbz_f FOR TABLE public.orders")
        missing = publication_codes(report("--consumer-config", path, "--check", "publication"))
        assert missing["table_not_in_publication"] == "error" and "publication_autocreate_updates" not in missing
        server.execute(f"ALTER PUBLICATION dbz_f OWNER TO {CDC_USER}",
                       f"ALTER TABLE public.orders OWNER TO {CDC_USER}", f"ALTER TABLE public.customers OWNER TO {CDC_USER}")
        updated = publication_codes(report("--consumer-config", path, "--check", "publication"))
        assert "table_not_in_publication" not in updated and updated["publication_autocreate_updates"] == "info"
        with psycopg.connect(cdc_dsn(server), autocommit=True) as conn:  # what the connector then runs
            conn.execute("ALTER PUBLICATION dbz_f SET TABLE public.orders, public.customers")
    finally:
        server.execute("DROP PUBLICATION IF EXISTS dbz_f", "ALTER TABLE public.orders OWNER TO postgres",
                       "ALTER TABLE public.customers OWNER TO postgres")


def test_no_tables_autocreate_publishes_nothing(tmp_path: Path, server: Server) -> None:
    path = write(tmp_path, debezium(server, **{"publication.autocreate.mode": "no_tables",
                                               "table.include.list": r"public\.orders"}))
    assert publication_codes(report("--consumer-config", path, "--check", "publication", "--role", "postgres",
                                    server.dsn())) == {"publication_autocreate_empty": "error"}


def test_heartbeat_needed_missing_or_without_a_write(tmp_path: Path, server: Server) -> None:
    profile = tmp_path / "needs.toml"
    profile.write_text('name = "needs"\n[consumer]\nneeds_heartbeat = true\n')

    def codes(**config: str) -> dict[str, str]:
        rep = report("--consumer-config", write(tmp_path, debezium(server, **config)), "--profile", str(profile),
                     "--check", "heartbeat")
        return {f["code"]: f["severity"] for c in rep["checks"] if c["id"] == "heartbeat" for f in c["findings"]}

    assert codes() == {"heartbeat_missing": "warning"}
    assert codes(**{"heartbeat.interval.ms": "5000"}) == {"heartbeat_no_write": "warning"}
    assert codes(**{"heartbeat.action.query": "UPDATE public.dbz_heartbeat SET ts = now()"}) == {
        "heartbeat_missing": "warning"}  # no interval: the connector never runs the statement


def test_unqualified_heartbeat_table_in_two_schemas_is_not_guessed(tmp_path: Path, server: Server) -> None:
    server.execute("CREATE TABLE shop.dbz_heartbeat (id int PRIMARY KEY, ts timestamptz)")
    try:
        assert heartbeat(tmp_path, server, "dbz_heartbeat", "dbz_publication") == {"heartbeat_table_ambiguous": "info"}
    finally:
        server.execute("DROP TABLE shop.dbz_heartbeat")


def test_dms_creates_its_heartbeat_table_where_the_role_may(tmp_path: Path, server: Server) -> None:
    def codes(schema: str) -> dict[str, str]:
        dms = {"ServerName": "127.0.0.1", "Port": server.port, "DatabaseName": "postgres",  # type: ignore[attr-defined]
               "Username": CDC_USER, "Password": SECRET, "PostgreSQLSettings": {
                   "PluginName": "test-decoding", "HeartbeatEnable": True, "HeartbeatSchema": schema}}
        rep = report("--consumer-config", write(tmp_path, dms), "--check", "heartbeat")
        return {f["code"]: f["severity"] for c in rep["checks"] if c["id"] == "heartbeat" for f in c["findings"]}

    assert codes("shop") == {"heartbeat_table_cannot_create": "error"}
    server.execute(f"GRANT CREATE ON SCHEMA shop TO {CDC_USER}")
    try:
        assert codes("shop") == {"heartbeat_table_created": "info"}
        with psycopg.connect(cdc_dsn(server), autocommit=True) as conn:  # what DMS then does
            conn.execute("CREATE TABLE shop.awsdms_heartbeat (hb_id int PRIMARY KEY, hb_ts timestamptz)")
            conn.execute("INSERT INTO shop.awsdms_heartbeat VALUES (1, now())")
        assert codes("shop") == {}  # its own table: it may write it
    finally:
        server.execute("DROP TABLE IF EXISTS shop.awsdms_heartbeat", f"REVOKE CREATE ON SCHEMA shop FROM {CDC_USER}")
    assert codes("no_such_schema") == {"heartbeat_table_cannot_create": "error"}
