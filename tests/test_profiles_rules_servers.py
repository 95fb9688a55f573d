"""Issue 19: a consumer profile's rules change the verdict on a real server, and the printed fix satisfies them.

Replica identity the consumer asks for beyond PostgreSQL (Materialize: FULL; Airbyte: a primary key; ClickPipes: a
key or FULL), operations it expects from the publication, publish_via_partition_root (Estuary, Sequin). One server
for the module, one database per scenario; version-independent, so on the local backend only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight import Options, run_preflight
from preflight.checks.table_keys import template
from preflight.decisions import parse_decisions
from preflight.models import Finding, Severity
from tests.conftest import PLUMBING
from tests.servers import Server

pytestmark = PLUMBING
_counter = itertools.count()


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    return servers()


def database(server: Server, *statements: str) -> str:
    name = f"prof_{next(_counter)}"
    server.execute(f"CREATE DATABASE {name}")
    server.execute(*statements, dbname=name)
    return name


def findings(server: Server, dbname: str, check: str, profile: str, **options: object) -> dict[str, Finding]:
    """The check's findings by object (or code, for a finding without one)."""
    report = run_preflight(Options(dsn=server.dsn(dbname=dbname), checks=[check], profile=profile, **options))
    return {f.object or f.code: f for f in report.check(check).findings}


def errors(server: Server, dbname: str, check: str, profile: str, **options: object) -> dict[str, str]:
    return {key: f.code for key, f in findings(server, dbname, check, profile, **options).items()
            if f.severity is Severity.ERROR}


def test_materialize_fails_a_keyed_table_without_full_and_its_fix_passes(server: Server) -> None:
    db = database(server, "CREATE TABLE public.orders (id int PRIMARY KEY, total int)",
                  "CREATE TABLE public.audit (id int PRIMARY KEY)", "ALTER TABLE public.audit REPLICA IDENTITY FULL")
    assert errors(server, db, "table_keys", "generic") == {}
    found = findings(server, db, "table_keys", "materialize")
    assert {k: (f.code, f.severity) for k, f in found.items() if f.severity is not Severity.INFO} == {
        "public.orders": ("replica_identity_not_full", Severity.ERROR)}
    orders = found["public.orders"]
    assert "REPLICA IDENTITY FULL" in orders.message and "its documentation" in orders.message
    assert orders.remediation.sql_text() == ['ALTER TABLE "public"."orders" REPLICA IDENTITY FULL;']
    server.execute(*orders.remediation.sql_text(), dbname=db)
    assert errors(server, db, "table_keys", "materialize") == {}


def test_a_decision_that_cannot_satisfy_materialize_decides_nothing(server: Server) -> None:
    db = database(server, "CREATE TABLE public.orders (id int PRIMARY KEY)")
    add_pk = parse_decisions({"decisions": {"public.orders": "add_pk"}})
    full = parse_decisions({"decisions": {"public.orders": "replica_identity_full"}})
    undecided = findings(server, db, "table_keys", "materialize", decisions=add_pk)["public.orders"]
    assert (undecided.code, undecided.severity) == ("replica_identity_not_full", Severity.ERROR)
    assert "Decided" not in undecided.message
    decided = findings(server, db, "table_keys", "materialize", decisions=full)["public.orders"]
    assert (decided.code, decided.severity) == ("replica_identity_not_full", Severity.ERROR)
    assert "Decided: replica_identity_full, not carried out yet" in decided.message


def test_airbyte_needs_a_primary_key_whatever_the_identity(server: Server) -> None:
    db = database(server, "CREATE TABLE public.logs (id int NOT NULL, msg text)",
                  "CREATE UNIQUE INDEX logs_id ON public.logs (id)",
                  "ALTER TABLE public.logs REPLICA IDENTITY FULL",
                  "CREATE TABLE public.notes (body text)", "ALTER TABLE public.notes REPLICA IDENTITY FULL")
    assert errors(server, db, "table_keys", "generic") == {}
    found = findings(server, db, "table_keys", "airbyte")
    assert {k: f.code for k, f in found.items() if f.severity is Severity.ERROR} == {
        "public.logs": "primary_key_required", "public.notes": "primary_key_required"}
    logs = found["public.logs"]
    assert logs.remediation.sql_text() == ['ALTER TABLE "public"."logs" ADD PRIMARY KEY USING INDEX "logs_id";']
    assert found["public.notes"].remediation.sql_text() == []  # no unique index on NOT NULL columns: the owner adds a key
    server.execute(*logs.remediation.sql_text(), dbname=db)
    assert errors(server, db, "table_keys", "airbyte") == {"public.notes": "primary_key_required"}


def test_clickpipes_wants_a_key_or_full_not_a_unique_index(server: Server) -> None:
    db = database(server, "CREATE TABLE public.by_index (a int NOT NULL)",
                  "CREATE UNIQUE INDEX by_index_a ON public.by_index (a)",
                  "ALTER TABLE public.by_index REPLICA IDENTITY USING INDEX by_index_a",
                  "CREATE TABLE public.keyed (id int PRIMARY KEY)")
    assert errors(server, db, "table_keys", "generic") == {}
    found = findings(server, db, "table_keys", "peerdb")
    assert errors(server, db, "table_keys", "peerdb") == {"public.by_index": "primary_key_or_full_required"}
    server.execute(*found["public.by_index"].remediation.sql_text(), dbname=db)
    assert errors(server, db, "table_keys", "peerdb") == {}


PARTITIONED = ["CREATE TABLE public.events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
               "CREATE TABLE public.events_2025 PARTITION OF public.events "
               "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
               "CREATE PUBLICATION leaves FOR TABLE public.events"]


@pytest.mark.parametrize("profile", ["estuary", "sequin"])
def test_a_consumer_that_needs_the_root_fails_a_leaf_publication(server: Server, profile: str) -> None:
    db = database(server, *PARTITIONED)
    generic = findings(server, db, "publication", "generic", publication="leaves")["leaves"]
    assert (generic.code, generic.severity) == ("publish_via_partition_root_off", Severity.INFO)
    found = findings(server, db, "publication", profile, publication="leaves")["leaves"]
    assert (found.code, found.severity) == ("partition_root_required", Severity.ERROR)
    server.execute(*found.remediation.sql_text(), dbname=db)
    assert errors(server, db, "publication", profile, publication="leaves") == {}


def test_the_profiles_operations_are_what_the_publication_must_publish(server: Server, tmp_path: Path) -> None:
    db = database(server, "CREATE TABLE public.t (id int PRIMARY KEY)",
                  "CREATE PUBLICATION inserts FOR TABLE public.t WITH (publish = 'insert')",
                  "CREATE PUBLICATION no_truncate FOR TABLE public.t WITH (publish = 'insert, update, delete')")
    insert_only = tmp_path / "insert_only.toml"
    insert_only.write_text('[consumer]\noperations = ["insert"]\n')
    with_truncate = tmp_path / "truncates.toml"
    with_truncate.write_text('[consumer]\noperations = ["insert", "update", "delete", "truncate"]\n')
    assert errors(server, db, "publication", "generic", publication="inserts") == {"inserts": "publication_operations"}
    assert errors(server, db, "publication", str(insert_only), publication="inserts") == {}
    assert errors(server, db, "publication", "generic", publication="no_truncate") == {}
    truncating = findings(server, db, "publication", str(with_truncate), publication="no_truncate")["no_truncate"]
    assert (truncating.code, truncating.severity, truncating.expected) == (
        "publication_operations", Severity.ERROR, "insert, update, delete, truncate")
    server.execute(*truncating.remediation.sql_text(), dbname=db)
    assert errors(server, db, "publication", str(with_truncate), publication="no_truncate") == {}


def test_the_decisions_template_suggests_only_what_satisfies_the_consumer(server: Server) -> None:
    db = database(server, "CREATE TABLE public.orders (id int PRIMARY KEY)",
                  "CREATE TABLE public.logs (id int NOT NULL)", "CREATE UNIQUE INDEX logs_id ON public.logs (id)",
                  "ALTER TABLE public.logs REPLICA IDENTITY USING INDEX logs_id")
    dsn = server.dsn(dbname=db)
    document, notes = template(run_preflight(Options(dsn=dsn, checks=["table_keys"], profile="materialize")))
    assert document == {"decisions": {"public.logs": "replica_identity_full", "public.orders": "replica_identity_full"}}
    document, notes = template(run_preflight(Options(dsn=dsn, checks=["table_keys"], profile="airbyte")))
    assert document == {"decisions": {"public.logs": "add_pk"}}
    assert "ADD PRIMARY KEY USING INDEX logs_id" in notes[0]
    decided = parse_decisions(document)
    assert errors(server, db, "table_keys", "airbyte", decisions=decided) == {"public.logs": "primary_key_required"}
    assert "Decided: add_pk" in findings(server, db, "table_keys", "airbyte", decisions=decided)["public.logs"].message


def test_datastream_flags_the_types_its_documentation_does_not_support(server: Server) -> None:
    db = database(server, "CREATE TABLE public.places (id int PRIMARY KEY, spot point, open_hours int4range, name text)")
    assert not [f for f in findings(server, db, "columns", "generic").values() if f.code == "column_type_unsupported"]
    flagged = {f.object: f for f in findings(server, db, "columns", "datastream").values()
               if f.code == "column_type_unsupported"}
    assert set(flagged) == {"public.places.spot", "public.places.open_hours"}
    assert "Known limitations" in flagged["public.places.spot"].message


def test_a_table_without_identity_gets_the_fix_that_satisfies_the_consumer(server: Server) -> None:
    """Airbyte: FULL would give a keyless table an identity but not the key the consumer needs, so the one finding
    is the consumer's, saying that the source breaks too."""
    db = database(server, "CREATE TABLE public.bare (id int NOT NULL, v text)",
                  "CREATE UNIQUE INDEX bare_id ON public.bare (id)")
    assert errors(server, db, "table_keys", "generic") == {"public.bare": "no_replica_identity"}
    bare = findings(server, db, "table_keys", "airbyte")["public.bare"]
    assert (bare.code, bare.severity) == ("primary_key_required", Severity.ERROR)
    assert "fail on the source" in bare.message
    server.execute(*bare.remediation.sql_text(), dbname=db)
    assert errors(server, db, "table_keys", "airbyte") == {}
    assert errors(server, db, "table_keys", "generic") == {}
