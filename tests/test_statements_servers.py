"""Every shape of statement value, written as the formats write it, runs on a real server and does what
the value says: a setting change's ALTER SYSTEM applies exactly its value (with its unit), a grant gives
exactly its privilege, an ALTER TABLE and a publication change take effect. Version-independent: one
server of the ``local`` backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from psycopg import sql

from preflight.statements import RELOAD, AlterTable, Grant, PublicationChange, SettingChange, Sql, Statement
from tests.servers import Server, wait_for_setting

pytestmark = [pytest.mark.server, pytest.mark.only_on("local")]

@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Iterator[Server]:
    server = servers()
    yield server
    server.destroy()


def test_a_typed_setting_change_runs_as_printed_and_applies_its_value(server: Server) -> None:
    changes = [SettingChange("wal_sender_timeout", 2, "min"), SettingChange("max_slot_wal_keep_size", 3, "GB"),
               SettingChange("logical_decoding_work_mem", 96, "MB"), SettingChange("idle_session_timeout", 0),
               SettingChange("max_standby_streaming_delay", -1)]
    for change in changes:
        assert change.place is None and change.text().startswith('ALTER SYSTEM SET "')
        server.execute(change.text())
    server.execute(RELOAD.text())
    for change in changes:
        wanted = change.magnitude()
        assert wanted is not None
        assert wait_for_setting(server, change.name, wanted) == wanted, change.text()


def test_a_list_and_a_word_are_written_one_literal_per_entry(server: Server) -> None:
    search_path = SettingChange("search_path", ("app", "$user"))
    feedback = SettingChange("hot_standby_feedback", "on")
    server.execute(search_path.text(), feedback.text(), RELOAD.text())
    auto = dict(server.execute("SELECT name, setting FROM pg_catalog.pg_file_settings "
                               "WHERE sourcefile LIKE '%postgresql.auto.conf' AND name IN ('search_path', "
                               "'hot_standby_feedback')"))
    assert auto == {"search_path": 'app, "$user"', "hot_standby_feedback": "on"}


def test_grants_alter_table_and_publication_values_run_as_printed(server: Server) -> None:
    server.execute('CREATE ROLE "CDC Reader"', 'CREATE SCHEMA "Sales EU"',
                   'CREATE TABLE "Sales EU"."a""b" (id int NOT NULL, note text)',
                   'CREATE UNIQUE INDEX "ab key" ON "Sales EU"."a""b" (id)')
    table = ("Sales EU", 'a"b')
    statements: list[Statement] = [Grant("CDC Reader", "LOGIN", "attribute"), Grant("CDC Reader", "REPLICATION", "attribute"),
                  Grant("CDC Reader", "CONNECT", on="DATABASE", object="postgres"),
                  Grant("CDC Reader", "USAGE", on="SCHEMA", object="Sales EU"),
                  Grant("CDC Reader", "SELECT", on="TABLE", object=table),
                  Grant("CDC Reader", "pg_read_all_stats", "membership"),
                  AlterTable(table, "REPLICA IDENTITY USING INDEX", "ab key"),
                  PublicationChange("cdc pub", "create", (table,)),
                  PublicationChange("cdc pub", "set", option="publish", value="insert, update, delete"),
                  Sql(sql.SQL("COMMENT ON TABLE {} IS {};").format(sql.Identifier(*table), sql.Literal("typed")))]
    server.execute(*[s.text() for s in statements])
    role = server.execute("SELECT rolcanlogin, rolreplication, pg_catalog.has_table_privilege(oid, "
                          "'\"Sales EU\".\"a\"\"b\"', 'SELECT'), pg_catalog.pg_has_role(oid, 'pg_read_all_stats', "
                          "'MEMBER') FROM pg_catalog.pg_roles WHERE rolname = 'CDC Reader'")
    assert role == [(True, True, True, True)]
    identity = server.execute("SELECT relreplident FROM pg_catalog.pg_class WHERE oid = '\"Sales EU\".\"a\"\"b\"'::regclass")
    assert identity == [("i",)]
    published = server.execute("SELECT pubinsert, pubupdate, pubdelete, pubtruncate, "
                               "(SELECT count(*) FROM pg_catalog.pg_publication_tables t WHERE t.pubname = p.pubname) "
                               "FROM pg_catalog.pg_publication p WHERE pubname = 'cdc pub'")
    assert published == [(True, True, True, False, 1)]
