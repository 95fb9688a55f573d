"""The relation rules (``preflight.relations``) against PostgreSQL itself: a table has a usable replica
identity exactly when the server lets a publication publishing UPDATE carry its UPDATEs, and the rule's
SQL form, its Python form and the ``table_keys`` check agree on every identity setting."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.relations import has_usable_identity, is_publishable, no_usable_identity_sql, publishable_rows
from tests.servers import Server

pytestmark = [pytest.mark.server, pytest.mark.only_on("local")]

DATABASE = "relation_rules"
# table -> statements after CREATE TABLE (each table has columns id int NOT NULL, v text)
TABLES = {
    "pk_default": ["ALTER TABLE rel.pk_default ADD PRIMARY KEY (id)"],
    "no_key_default": [],
    "pk_nothing": ["ALTER TABLE rel.pk_nothing ADD PRIMARY KEY (id)", "ALTER TABLE rel.pk_nothing REPLICA IDENTITY NOTHING"],
    "full": ["ALTER TABLE rel.full REPLICA IDENTITY FULL"],
    "by_index": ["CREATE UNIQUE INDEX by_index_id ON rel.by_index (id)",
                 "ALTER TABLE rel.by_index REPLICA IDENTITY USING INDEX by_index_id"],
    "index_dropped": ["CREATE UNIQUE INDEX index_dropped_id ON rel.index_dropped (id)",
                      "ALTER TABLE rel.index_dropped REPLICA IDENTITY USING INDEX index_dropped_id",
                      "DROP INDEX rel.index_dropped_id"],
}


@pytest.fixture(scope="module")
def database(logical_server: Server) -> Callable[[str], list[tuple[object, ...]]]:
    """A database of its own on the shared server: the tables, one row each, and a publication of them all."""
    logical_server.execute(f"DROP DATABASE IF EXISTS {DATABASE}", f"CREATE DATABASE {DATABASE}")
    statements = ["CREATE SCHEMA rel"]
    for name, more in TABLES.items():
        statements += [f"CREATE TABLE rel.{name} (id int NOT NULL, v text)", *more,
                       f"INSERT INTO rel.{name} VALUES (1, 'a')"]
    statements.append(f"CREATE PUBLICATION rel_pub FOR TABLE {', '.join(f'rel.{n}' for n in TABLES)}")
    logical_server.execute(*statements, dbname=DATABASE)
    return lambda sql: logical_server.execute(sql, dbname=DATABASE)


def server_accepts(server: Server, statement: str, refusal: type[psycopg.Error] = psycopg.Error) -> bool:
    """PostgreSQL's own verdict on ``statement`` (rolled back): False when it refuses it with ``refusal``."""
    with psycopg.connect(server.dsn(dbname=DATABASE)) as conn:
        try:
            conn.execute(statement)
        except refusal:
            return False
        finally:
            conn.rollback()
    return True


def test_usable_identity_is_what_the_server_allows_in_python_and_in_sql(
        database: Callable[[str], list[tuple[object, ...]]], logical_server: Server) -> None:
    rows = database(f"""
        SELECT c.relname, c.relreplident::text,
               EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i WHERE i.indrelid = c.oid AND i.indisprimary),
               EXISTS (SELECT 1 FROM pg_catalog.pg_index AS i WHERE i.indrelid = c.oid AND i.indisreplident),
               {no_usable_identity_sql("c")}
          FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'rel' AND c.relkind = 'r'""")
    assert {r[0] for r in rows} == set(TABLES)
    # an UPDATE of a table a publication publishes updates of: refused without a usable replica identity
    allowed = {name: server_accepts(logical_server, f"UPDATE rel.{name} SET v = 'b'",
                                    psycopg.errors.ObjectNotInPrerequisiteState) for name in TABLES}
    assert allowed == {"pk_default": True, "no_key_default": False, "pk_nothing": False, "full": True,
                       "by_index": True, "index_dropped": False}
    python = {str(name): has_usable_identity(str(ident), bool(pk), bool(ri)) for name, ident, pk, ri, _ in rows}
    sql = {str(name): not none for name, _, _, _, none in rows}
    assert python == allowed and sql == allowed


def test_the_table_keys_check_and_the_publishable_rule_agree(
        database: Callable[[str], list[tuple[object, ...]]], logical_server: Server) -> None:
    report = run_preflight(Options(dsn=logical_server.dsn(dbname=DATABASE), schemas=["rel"], checks=["table_keys"]))
    without = {f.object for c in report.checks for f in c.findings
               if f.code in ("no_replica_identity", "replica_identity_nothing", "replica_identity_index_missing")}
    assert without == {"rel.no_key_default", "rel.pk_nothing", "rel.index_dropped"}
    assert {t.status for t in report.tables if t.name in ("pk_default", "full", "by_index")} == {"ok"}


KINDS = ["CREATE TABLE rel_kinds.plain (id int)", "CREATE UNLOGGED TABLE rel_kinds.unlogged (id int)",
         "CREATE TABLE rel_kinds.parted (id int) PARTITION BY RANGE (id)",
         "CREATE VIEW rel_kinds.a_view AS SELECT 1 AS id",
         "CREATE MATERIALIZED VIEW rel_kinds.a_matview AS SELECT 1 AS id"]


def test_publishable_is_what_a_publication_accepts(
        database: Callable[[str], list[tuple[object, ...]]], logical_server: Server) -> None:
    database("CREATE SCHEMA IF NOT EXISTS rel_kinds")
    for statement in KINDS:
        database(statement)
    version = int(str(database("SHOW server_version_num")[0][0]))
    rows = database("""SELECT c.relname, c.relkind::text, c.relpersistence::text FROM pg_catalog.pg_class AS c
                        JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'rel_kinds'""")
    assert len(rows) == len(KINDS)
    ours = {str(name): is_publishable(SimpleNamespace(relkind=kind, relpersistence=persistence), version)
            for name, kind, persistence in rows}
    accepted = {str(name): server_accepts(logical_server, f"CREATE PUBLICATION rel_probe FOR TABLE rel_kinds.{name}")
                for name, _, _ in rows}
    assert ours == accepted
    assert ours["plain"] and not ours["unlogged"] and not ours["a_view"]
    relations = [SimpleNamespace(name=str(name), relkind=kind, relpersistence=persistence) for name, kind, persistence in rows]
    assert [r.name for r in publishable_rows(relations, version)] == [name for name, ok in ours.items() if ok]
