"""--consumer-config without a server: each format's reading, Debezium's defaults and list semantics, Java regexes
as Python reads them, heartbeat statements, and bad files as one line naming the file and the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.consumers import load_consumer_config
from preflight.consumers.heartbeat_sql import NotUnderstood, target
from preflight.consumers.javaregex import JavaRegexError, compile_java, split_list
from preflight.consumers.model import TableFilter
from preflight.consumers.properties import parse_properties
from preflight.consumers.selection import Matcher
from preflight.pgserver import free_port
from tests.conftest import run_cli

CLOSED = free_port()
BASE = {"connector.class": "io.debezium.connector.postgresql.PostgresConnector", "database.hostname": "127.0.0.1",
        "database.port": str(CLOSED), "database.user": "cdc", "database.dbname": "shop",
        "database.password": "pw-in-file-1", "topic.prefix": "shop"}


def write(tmp_path: Path, body: object, name: str = "connector.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def test_debezium_defaults_are_the_connectors_own(tmp_path: Path) -> None:
    config = load_consumer_config(write(tmp_path, {"name": "shop", "config": BASE}))
    assert (config.slot_name, config.publication, config.plugin, config.profile) == (
        "debezium", "dbz_publication", "decoderbufs", "debezium")
    assert config.settings.autocreate == "disabled"  # decoderbufs: the connector creates no publication
    assert config.settings.initial_copy and config.settings.heartbeat is None
    assert config.connection.dsn() == f"host='127.0.0.1' port='{CLOSED}' dbname='shop' user='cdc' sslmode='prefer'"
    flat = load_consumer_config(write(tmp_path, {**BASE, "plugin.name": "PGOUTPUT"}))
    assert flat.plugin == "pgoutput" and flat.settings.autocreate == "all_tables"
    assert flat.settings.sources["slot_name"] == "default of slot.name (debezium)"


@pytest.mark.parametrize(("mode", "copy"), [("never", False), ("no_data", False), ("NO_DATA", False),
                                             ("initial", True), ("when_needed", True), ("configuration_based", False)])
def test_snapshot_mode_decides_the_initial_copy(tmp_path: Path, mode: str, copy: bool) -> None:
    config = load_consumer_config(write(tmp_path, {**BASE, "snapshot.mode": mode}))
    assert config.settings.initial_copy is copy


def test_properties_file_reads_as_the_json(tmp_path: Path) -> None:
    text = "\n".join([
        "# a standalone worker's connector file", "name=shop",
        *(f"{k}={v}" for k, v in BASE.items()),
        "slot.name = dbz_shop", "table.include.list=public\\\\.orders,\\", "    shop\\\\.items",
        "publication.autocreate.mode: filtered", "plugin.name pgoutput"])
    config = load_consumer_config(write(tmp_path, text, "connector.properties"))
    assert config.slot_name == "dbz_shop" and config.plugin == "pgoutput"
    assert config.settings.autocreate == "filtered"
    assert config.selection.filter is not None
    assert config.selection.filter.table_include == ("public\\.orders", "shop\\.items")
    assert parse_properties("a\\u0041=b\\tc\n! comment\nk:v") == {"aA": "b\tc", "k": "v"}


def test_regex_lists_match_whole_names_ignoring_ascii_case() -> None:
    assert split_list(r"public\.a , b\,c,,d") == [r"public\.a", "b,c", "d"]
    matcher = Matcher(TableFilter(table_include=(r"public\.orders", r"sales\.eu\.orders", r"shop\.order.items")))
    assert matcher.accepts("public", "Orders") and matcher.accepts("Sales.EU", "Orders")
    assert matcher.accepts("shop", "order.items") and matcher.accepts("shop", "orderXitems")  # '.' is any character
    assert not matcher.accepts("public", "orders_old")  # the whole name, not a prefix
    assert not matcher.accepts("xpublic", "orders")
    assert not Matcher(TableFilter(table_include=("straße",))).accepts("STRASSE", "")  # ASCII case folding only
    schemas = Matcher(TableFilter(schema_include=("shop",), table_exclude=(r"shop\.audit.*",)))
    assert schemas.accepts("shop", "items") and not schemas.accepts("shop", "audit_log")
    assert not schemas.accepts("public", "items") and not schemas.accepts("shop", "spatial_ref_sys")


@pytest.mark.parametrize(("java", "fullmatches", "misses"), [
    (r"\Qa.b\E.*", "a.bc", "axbc"),
    (r"(?<s>[a-z]+)\.\k<s>", "ab.ab", "ab.cd"),
    (r"a\z", "a", "a\n"),
    (r"[]a]+", "]a]", "b"),
])
def test_java_forms_python_spells_otherwise(java: str, fullmatches: str, misses: str) -> None:
    pattern = compile_java(java)
    assert pattern.fullmatch(fullmatches) and not pattern.fullmatch(misses)


@pytest.mark.parametrize("java", [r"\p{Lu}+", r"[a-z&&[^b]]", r"[a[b]]", r"a(?i)b", r"\h", r"(unclosed", r"\x{41}"])
def test_java_forms_python_cannot_honour_are_refused(java: str) -> None:
    with pytest.raises(JavaRegexError):
        compile_java(java)


@pytest.mark.parametrize(("query", "schema", "table", "writes"), [
    ("INSERT INTO public.dbz_heartbeat (id, ts) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts;",
     "public", "dbz_heartbeat", ("insert", "update")),
    ('update ONLY "Beat"."x.y" set ts = now() -- the time', "Beat", "x.y", ("update",)),
    ("INSERT INTO Heart (v) VALUES ('a;b'), ($$c;d$$)", None, "heart", ("insert",)),
])
def test_heartbeat_statements_read(query: str, schema: str | None, table: str, writes: tuple[str, ...]) -> None:
    found = target(query)
    assert (found.schema, found.table, found.writes) == (schema, table, writes)


@pytest.mark.parametrize("query", ["SELECT pg_logical_emit_message(false, 'hb', 'x')",
                                   "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x",
                                   "UPDATE t SET a = 1; UPDATE u SET a = 1", "INSERT INTO 'oops'"])
def test_heartbeat_statements_not_understood(query: str) -> None:
    with pytest.raises(NotUnderstood):
        target(query)


def test_dms_endpoint_and_airbyte_source(tmp_path: Path) -> None:
    dms = load_consumer_config(write(tmp_path, {"Endpoint": {
        "EndpointType": "SOURCE", "EngineName": "postgres", "ServerName": "db.example", "Port": 5433,
        "DatabaseName": "shop", "Username": "dms", "Password": "pw-in-file-1", "SslMode": "require",
        "postgreSqlSettings": {"SlotName": "dms_slot", "PluginName": "test-decoding", "HeartbeatEnable": True,
                               "HeartbeatSchema": "ops"}}}))
    assert (dms.profile, dms.slot_name, dms.plugin, dms.connection.port, dms.connection.sslmode) == (
        "aws-dms", "dms_slot", "test_decoding", 5433, "require")
    assert dms.settings.heartbeat is not None and dms.settings.heartbeat.creates_table
    assert (dms.settings.heartbeat.schema_name, dms.settings.heartbeat.table) == ("ops", "awsdms_heartbeat")
    airbyte = load_consumer_config(write(tmp_path, {
        "host": "db.example", "port": 5432, "database": "shop", "username": "airbyte", "password": "pw-in-file-1",
        "schemas": ["public", "Sales"], "ssl_mode": {"mode": "require"},
        "replication_method": {"method": "CDC", "replication_slot": "ab_slot", "publication": "ab_pub"}}))
    assert (airbyte.profile, airbyte.slot_name, airbyte.publication, airbyte.plugin) == (
        "airbyte", "ab_slot", "ab_pub", "pgoutput")
    assert airbyte.selection.schemas == ("public", "Sales")


def test_request_body_drops_the_urls_password(tmp_path: Path) -> None:
    config = load_consumer_config(write(tmp_path, {"service_name": "postgresql", "selected_schemas": ["billing"],
                                                   "connection_details": {"url": "postgresql://u:pw-in-file-1@h:5/d"}}))
    assert "pw-in-file-1" not in (config.connection.dsn() or "") and config.selection.schemas == ("billing",)
    assert config.profile is None


@pytest.mark.parametrize(("body", "key", "reason"), [
    ({**BASE, "table.include.list": r"public\.(orders"}, "table.include.list", "invalid regular expression"),
    ({**BASE, "table.include.list": r"\p{Lu}.*"}, "table.include.list", "no Python equivalent"),
    ({**BASE, "snapshot.mode": "sometimes"}, "snapshot.mode", "3.3+: always, initial"),
    ({k: v for k, v in BASE.items() if k != "database.hostname"}, "database.hostname", "missing"),
    ({**BASE, "database.port": "fifty"}, "database.port", "expected an integer"),
    ({**BASE, "database.port": ["5432"]}, "database.port", "expected a string"),
    ({**BASE, "slot.failover": "yes"}, "slot.failover", "expected true or false"),
    ({**BASE, "publication.autocreate.mode": "some"}, "publication.autocreate.mode", "all_tables"),
    ({**BASE, "table.include.list": "a", "table.exclude.list": "b"}, "table.exclude.list", "cannot be used with"),
    ({**BASE, "slot.name": "${env:SLOT}"}, "slot.name", "config provider reference"),
    ({**BASE, "connector.class": "io.debezium.connector.mysql.MySqlConnector"}, "connector.class", "not the Debezium"),
    ({"PostgreSQLSettings": {"SlotName": "s"}}, "PostgreSQLSettings.servername", "missing"),
    ({"host": "h", "database": "d", "replication_method": {"method": "Xmin"}}, "replication_method.method", "CDC"),
])
def test_bad_configurations_are_one_line_naming_file_and_key(tmp_path: Path, body: dict[str, object], key: str,
                                                             reason: str) -> None:
    path = write(tmp_path, body)
    result = run_cli("check", "--consumer-config", str(path))
    assert result.exit_code == 2 and result.stdout == "" and "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"pg-preflight: error: --consumer-config {path}: "), lines
    assert key.lower() in lines[0].lower() and reason in lines[0], lines[0]
    assert "pw-in-file-1" not in result.output


def test_format_detection_and_explicit_format(tmp_path: Path) -> None:
    unknown = write(tmp_path, {"something": "else"})
    line = run_cli("check", "--consumer-config", str(unknown)).stderr
    assert "not a consumer configuration" in line and "debezium, aws-dms, airbyte, request" in line
    forced = run_cli("check", "--consumer-config", str(write(tmp_path, {"x": 1})), "--consumer-format", "airbyte")
    assert forced.exit_code == 2 and "replication_method: missing" in forced.stderr
    assert "give the file too" in run_cli("check", "--consumer-format", "airbyte").stderr


def test_a_consumer_file_reads_one_database_from_a_server(tmp_path: Path) -> None:
    path = write(tmp_path, BASE)
    for extra in (["--all-databases"], ["--from-snapshot", str(path)]):
        result = run_cli("check", "--consumer-config", str(path), *extra)
        assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.output
        assert ("--all-databases" if extra[0] == "--all-databases" else "--from-snapshot runs without a server") \
            in result.stderr
