"""Differential suite: pg-preflight's verdict against what PostgreSQL does when a consumer really replicates.

Each scenario builds a source, asks pg-preflight, replicates with a native subscription from a second
server and/or a CDC slot (tests/oracle.py), and asserts agreement: ``ready`` exactly when replication
works, and each failing check naming the failure PostgreSQL raised. Where the report is not ready, the
printed script is applied as printed (psql, superuser), the source re-checked and replicated again.

Where pg-preflight is wrong today the test still asserts the true behaviour and is marked
``xfail(strict=True)`` with the class and what goes wrong: the fix must remove the mark.
docs/oracle.md lists the scenarios.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import oracle
from tests.conftest import run_cli
from tests.oracle import Outcome, failing, native, preflight, run, script
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role
from tests.write_load import WriteLoad, prepare

pytestmark = [pytest.mark.server, pytest.mark.only_on("local", "pg17")]

PUB = "cdc_publication"  # the name pg-preflight's printed CREATE PUBLICATION uses


@pytest.fixture(scope="module")
def subscriber(servers: Callable[..., Server]) -> Server:
    """The second server: one per module, a fresh database per subscription; failed workers retry fast."""
    return servers(wal_retrieve_retry_interval="200ms")


@pytest.fixture()
def source(servers: Callable[..., Server]) -> Iterator[Server]:
    """A fresh source per scenario (cheap: a copied template), prepared transactions allowed."""
    server = servers(max_prepared_transactions="5")
    yield server
    server.destroy()


def healthy(server: Server, *tables: str, publication: str | None = PUB) -> str:
    """Tables with keys, the CDC role allowed to read them, the publication the consumer uses: its DSN."""
    oracle.make_tables(server, *tables)
    dsn = add_cdc_role(server)
    for name in tables:
        run(server, psycopg.sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
            psycopg.sql.Identifier(name.partition(".")[0]), psycopg.sql.Identifier(CDC_USER)))
        run(server, psycopg.sql.SQL("GRANT SELECT ON {} TO {}").format(oracle.qualified(name),
                                                                         psycopg.sql.Identifier(CDC_USER)))
    if publication:
        run(server, psycopg.sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
            psycopg.sql.Identifier(publication), psycopg.sql.SQL(", ").join(oracle.qualified(t) for t in tables)))
    return dsn


def replicate(source: Server, subscriber: Server, dsn: str, tables: list[str], writes: list[str] | None = None,
              publication: str = PUB) -> list[Outcome]:
    """Both consumers with pgoutput and the same publication."""
    writes = writes or tables
    return [native(source, subscriber, dsn, publication, writes),
            oracle.cdc(source, dsn, "pgoutput", tables, writes, publication)]


def agree(report: dict[str, object], outcomes: list[Outcome]) -> None:
    """ready exactly when every consumer's replication works."""
    works = all(o.works for o in outcomes)
    assert (report["status"] == "ready") == works, (report["status"], failing(report), [str(o) for o in outcomes])


def fix(source: Server, subscriber: Server, dsn: str, tables: list[str], *args: str) -> dict[str, object]:
    """Apply the printed script as printed (superuser, psql) while a native subscription and a CDC slot of the
    consumer's publication run across it (``oracle.Watch``); the re-check's report. Table by table, every
    row that reached a consumer before the script must reach it after: a fix never removes what works."""
    return watched_fix(source, subscriber, dsn, tables, *args)[0]


def watched_fix(source: Server, subscriber: Server, dsn: str, tables: list[str],
                *args: str) -> tuple[dict[str, object], dict[str, set[str]], dict[str, set[str]]]:
    """``fix``, also returning what replicated before and after the script (per consumer, the tables)."""
    publication = args[args.index("--publication") + 1] if "--publication" in args else PUB
    text = script(dsn, *args)
    watch = oracle.Watch(source, subscriber, dsn, publication, tables)
    try:
        before = watch.replicating()
        errors = oracle.apply(source, text)
        assert errors == "", errors
        after = watch.replicating(only=before)
    finally:
        watch.stop()
    assert not oracle.lost(before, after), (oracle.lost(before, after), before, after, watch.failures, text)
    return preflight(dsn, *args), before, after


# --------------------------------------------------------------------------------------------- healthy


def test_healthy_source_is_ready_and_replicates(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", "app.b")
    report = preflight(dsn, "-s", "app", "--publication", PUB)
    outcomes = replicate(source, subscriber, dsn, ["app.a", "app.b"])
    outcomes.append(oracle.cdc(source, dsn, "test_decoding", ["app.a", "app.b"], ["app.a", "app.b"]))
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]
    assert report["status"] == "ready", failing(report)
    assert preflight(dsn, "-s", "app", "--publication", PUB, "--plugin", "test_decoding")["status"] == "ready"


def test_healthy_source_audited_by_a_dba_with_role_is_ready(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    report = preflight(source.dsn(), "-s", "app", "--publication", PUB, "--role", CDC_USER)
    outcomes = replicate(source, subscriber, dsn, ["app.a"])
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]
    agree(report, outcomes)


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server only
def test_healthy_source_with_wal2json(source: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    outcome = oracle.cdc(source, dsn, "wal2json", ["app.a"], ["app.a"])
    assert outcome.works, outcome
    assert preflight(dsn, "-s", "app", "--plugin", "wal2json", "--probe")["status"] == "ready"


# -------------------------------------------------------------------------------- transactions blocking


def test_prepared_transaction_blocks_slot_creation(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    run(source, "CREATE TABLE public.side (i int)")  # the transaction's table is not replicated: its xid blocks
    run(source, "BEGIN; INSERT INTO public.side VALUES (1); PREPARE TRANSACTION 'oracle_prepared'")
    try:
        report = preflight(dsn, "-s", "app", "--publication", PUB)
        outcomes = replicate(source, subscriber, dsn, ["app.a"])
        assert all(o.said("slot creation waits for a transaction") for o in outcomes), [str(o) for o in outcomes]
        agree(report, outcomes)
        assert "long_transactions" in failing(report)
    finally:
        run(source, "ROLLBACK PREPARED 'oracle_prepared'")  # the manual step: no SQL fix can decide it
    assert preflight(dsn, "-s", "app", "--publication", PUB)["status"] == "ready"
    assert all(o.works for o in replicate(source, subscriber, dsn, ["app.a"]))


def test_healthy_source_under_write_load_is_ready_for_the_cdc_role_and_an_admin(
        source: Server, subscriber: Server) -> None:
    """Short transactions from several clients, each statement sent on its own: both consumers create their slots
    and replicate, so the verdict is ready, as the CDC role itself (no pg_read_all_stats) and as an admin."""
    dsn = healthy(source, "app.a")
    prepare(source.dsn())
    with WriteLoad(source.dsn(), clients=4, seconds=120):
        reports = [preflight(dsn, "-s", "app", "--publication", PUB),
                   preflight(source.dsn(), "-s", "app", "--publication", PUB, "--role", CDC_USER)]
        outcomes = replicate(source, subscriber, dsn, ["app.a"])
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]
    for report in reports:
        agree(report, outcomes)
        assert next(c["status"] for c in report["checks"] if c["id"] == "long_transactions") == "pass"


def test_idle_in_transaction_holding_xid_under_write_load_blocks_slot_creation(
        source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    run(source, "CREATE TABLE public.side (i int)")
    prepare(source.dsn())
    args = ("-s", "app", "--publication", PUB, "--max-xact-age", "3")  # a 3 s watch: the load's writes end sooner
    with WriteLoad(source.dsn(), clients=4, seconds=120), \
            psycopg.connect(oracle.local(source).admin_dsn()) as idle:
        idle.execute("INSERT INTO public.side VALUES (1)")  # holds an xid, stays idle in transaction
        reports = [preflight(dsn, *args), preflight(source.dsn(), *args, "--role", CDC_USER)]
        outcome = oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB)
        assert outcome.said("slot creation waits for a transaction"), outcome
        for report in reports:
            agree(report, [outcome])
            assert failing(report) == {"long_transactions": ["blocking_transaction"]}
        idle.rollback()
    assert preflight(dsn, "-s", "app", "--publication", PUB)["status"] == "ready"
    assert oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB).works


def test_a_transaction_in_another_database_blocks_slot_creation(source: Server) -> None:
    """Slot creation waits for every running xid of the cluster, not only its own database's."""
    dsn = healthy(source, "app.a")
    run(source, "CREATE DATABASE other")
    run(source, "CREATE TABLE public.side (i int)", dbname="other")
    with psycopg.connect(oracle.local(source).admin_dsn("other")) as idle:
        idle.execute("INSERT INTO public.side VALUES (1)")
        report = preflight(dsn, "-s", "app", "--publication", PUB, "--max-xact-age", "1")
        outcome = oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB)
        assert outcome.said("slot creation waits for a transaction"), outcome
        agree(report, [outcome])
        assert failing(report) == {"long_transactions": ["blocking_transaction"]}
        idle.rollback()


# ---------------------------------------------------------------------------- publication beyond selection


def test_for_all_tables_reaches_a_keyless_table_outside_the_selection(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "other.log", keyless=["other.log"])
    run(source, "GRANT USAGE ON SCHEMA other TO cdc", "GRANT SELECT ON other.log TO cdc")
    run(source, "CREATE PUBLICATION allpub FOR ALL TABLES")
    args = ("-s", "app", "--publication", "allpub")
    report = preflight(dsn, *args)
    outcome = native(source, subscriber, dsn, "allpub", ["app.a", "other.log"])
    assert outcome.said('cannot update table "log" because it does not have a replica identity'), outcome
    agree(report, [outcome])
    assert "table_keys" in failing(report)


@pytest.mark.only_on("local", "pg17")
def test_for_tables_in_schema_reaches_a_table_the_role_cannot_read(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "app.secret")  # not granted to the CDC role, outside -t
    run(source, "CREATE PUBLICATION schemapub FOR TABLES IN SCHEMA app")
    args = ("-t", "app.a", "--publication", "schemapub")
    report = preflight(dsn, *args)
    outcome = native(source, subscriber, dsn, "schemapub", ["app.a", "app.secret"])
    assert outcome.said('permission denied for table secret'), outcome
    agree(report, [outcome])
    assert "grants" in failing(report)


def test_named_publication_that_does_not_exist(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    args = ("-s", "app", "--publication", "nope")
    report = preflight(dsn, *args)
    outcomes = replicate(source, subscriber, dsn, ["app.a"], publication="nope")
    assert all(o.said('publication "nope" does not exist') for o in outcomes), [str(o) for o in outcomes]
    agree(report, outcomes)
    assert "publication" in failing(report)
    again = fix(source, subscriber, dsn, ["app.a"], *args)
    assert again["status"] == "ready", failing(again)
    assert all(o.works for o in replicate(source, subscriber, dsn, ["app.a"], publication="nope"))


def test_insert_only_publication_drops_updates_and_deletes(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    run(source, "CREATE PUBLICATION inserts FOR TABLE app.a WITH (publish = 'insert')")
    report = preflight(dsn, "-s", "app", "--publication", "inserts")
    outcomes = replicate(source, subscriber, dsn, ["app.a"], publication="inserts")
    assert all(o.said("changes not delivered") for o in outcomes), [str(o) for o in outcomes]
    agree(report, outcomes)
    assert "publication" in failing(report)
    again, before, after = watched_fix(source, subscriber, dsn, ["app.a"], "-s", "app", "--publication", "inserts")
    assert before == after == {oracle.NATIVE: {"app.a"}, oracle.SLOT: {"app.a"}}
    assert again["status"] == "ready", failing(again)
    assert all(o.works for o in replicate(source, subscriber, dsn, ["app.a"], publication="inserts"))


# ------------------------------------------------------------------------------- slots, senders, settings


def test_slots_and_senders_at_used_plus_one_starve_table_sync(servers: Callable[..., Server],
                                                              subscriber: Server) -> None:
    source = servers(max_replication_slots="2", max_wal_senders="1")
    try:
        dsn = healthy(source, "app.a", "app.b")
        run(source, "SELECT pg_catalog.pg_create_logical_replication_slot('someone_else', 'pgoutput')")
        args = ("-s", "app", "--publication", PUB)
        report = preflight(dsn, *args)
        outcome = native(source, subscriber, dsn, PUB, ["app.a", "app.b"])
        assert not outcome.works, outcome  # each table sync worker needs its own slot and walsender
        agree(report, [outcome])
        assert "slot_capacity" in failing(report)
        again = fix(source, subscriber, dsn, ["app.a", "app.b"], *args)
        assert again["status"] == "ready", failing(again)
        assert native(source, subscriber, dsn, PUB, ["app.a", "app.b"]).works
    finally:
        source.destroy()


def test_the_consumers_own_inactive_slot_at_capacity_is_resumed(servers: Callable[..., Server]) -> None:
    """max_replication_slots exactly full, the consumer's own slot included: it resumes that slot, creates none."""
    source = servers(max_replication_slots="2")
    try:
        dsn = healthy(source, "app.a", publication=None)
        run(source, "SELECT pg_catalog.pg_create_logical_replication_slot('debezium_shop', 'test_decoding')",
            "SELECT pg_catalog.pg_create_logical_replication_slot('someone_else', 'test_decoding')")
        args = ("-s", "app", "--plugin", "test_decoding")
        resuming = preflight(dsn, *args, "--slot-name", "debezium_shop")
        creating = preflight(dsn, *args)  # a consumer that creates its slot: none free
        assert "slot_capacity" not in failing(resuming), failing(resuming)
        assert failing(creating).get("slot_capacity") == ["no_free_slot"], failing(creating)
        new_slot = oracle.cdc(source, dsn, "test_decoding", ["app.a"], ["app.a"])
        assert new_slot.said("all replication slots are in use"), new_slot
        agree(creating, [new_slot])
        resumed = oracle.resume(source, dsn, "debezium_shop", ["app.a"], ["app.a"])
        assert resumed.works, resumed
        agree(resuming, [resumed])
        assert run(source, "SELECT count(*) FROM pg_catalog.pg_replication_slots") == [(2,)]
    finally:
        source.destroy()


def exhausted_source(servers: Callable[..., Server]) -> tuple[Server, str]:
    """Every replication slot in use (by someone else's slot); the CDC role's DSN."""
    source = servers(max_replication_slots="1", max_wal_senders="2")
    dsn = healthy(source, "app.a")
    run(source, "SELECT pg_catalog.pg_create_logical_replication_slot('someone_else', 'pgoutput')")
    return source, dsn


def test_exhausted_slots_script_sets_each_setting_once_and_a_slot_then_works(servers: Callable[..., Server],
                                                                             subscriber: Server) -> None:
    source, dsn = exhausted_source(servers)
    try:
        args = ("-s", "app", "--publication", PUB)
        report = preflight(dsn, *args)
        outcome = oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB)
        assert outcome.said("all replication slots are in use"), outcome
        agree(report, [outcome])
        assert "slot_capacity" in failing(report)
        printed = oracle.statements(script(dsn, *args))
        settings = [s.split("=")[0] for s in printed if s.startswith("ALTER SYSTEM SET")]
        assert settings and len(settings) == len(set(settings)), printed
        again = fix(source, subscriber, dsn, ["app.a"], *args)
        assert again["status"] == "ready", failing(again)
        assert oracle.cdc(source, dsn, "pgoutput", ["app.a"], ["app.a"], PUB).works
    finally:
        source.destroy()


def test_exhausted_slots_fixed_as_printed_then_a_native_subscription_works(servers: Callable[..., Server],
                                                                           subscriber: Server) -> None:
    source, dsn = exhausted_source(servers)
    try:
        args = ("-s", "app", "--publication", PUB)
        again = fix(source, subscriber, dsn, ["app.a"], *args)
        assert again["status"] == "ready", failing(again)
        outcome = native(source, subscriber, dsn, PUB, ["app.a"])
        assert outcome.works, outcome
    finally:
        source.destroy()


# ------------------------------------------------------------------------------------ replica identity


def test_partitioned_table_without_key_fixed_on_every_leaf(source: Server, subscriber: Server,
                                                           tmp_path: Path) -> None:
    dsn = add_cdc_role(source)
    run(source, "CREATE SCHEMA app", "GRANT USAGE ON SCHEMA app TO cdc")
    run(source, "CREATE TABLE app.m (id int, v text) PARTITION BY RANGE (id)")
    run(source, "CREATE TABLE app.m1 PARTITION OF app.m FOR VALUES FROM (0) TO (1000)")
    run(source, "CREATE TABLE app.m2 PARTITION OF app.m FOR VALUES FROM (1000) TO (2000)")
    run(source, "GRANT SELECT ON ALL TABLES IN SCHEMA app TO cdc")
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"app.m": "replica_identity_full"}}))
    args = ("-s", "app", "--decisions", str(decisions))
    again = fix(source, subscriber, dsn, ["app.m"], *args)  # no publication yet: the printed script creates it
    outcome = native(source, subscriber, dsn, PUB, ["app.m"], expect=["app.m"])
    assert not outcome.said("does not have a replica identity"), outcome
    assert outcome.works, outcome
    assert again["status"] == "ready", failing(again)


def test_add_pk_pending_is_not_ready_until_the_owner_adds_the_key(source: Server, subscriber: Server,
                                                                    tmp_path: Path) -> None:
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "app.log", "app.cand", keyless=["app.log", "app.cand"])
    run(source, "ALTER TABLE app.cand ALTER COLUMN id SET NOT NULL", "CREATE UNIQUE INDEX cand_id ON app.cand (id)",
        "GRANT SELECT ON app.log, app.cand TO cdc")
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"app.log": "add_pk", "app.cand": "add_pk"}}))
    args = ("-s", "app", "--decisions", str(decisions))
    pending = run_cli("check", dsn, "--format", "json", *args)
    report = json.loads(pending.stdout)
    assert pending.exit_code == 1 and failing(report)["table_keys"] == ["decided_add_pk", "decided_add_pk"]
    promised = {f["object"]: f["message"] for c in report["checks"] if c["id"] == "table_keys" for f in c["findings"]
                if f["code"] == "decided_add_pk"}
    assert set(promised) == {"app.log", "app.cand"} and "before retrying" in promised["app.log"]
    assert "cand_id" in promised["app.cand"]  # the unique index exists: it must become the identity
    # what the consumer's set-up does next: publish them. PostgreSQL then refuses UPDATE/DELETE on the source.
    run(source, f"CREATE PUBLICATION {PUB} FOR TABLE app.a, app.log, app.cand")
    outcome = native(source, subscriber, dsn, PUB, ["app.a", "app.log", "app.cand"])
    assert outcome.said('cannot update table "log" because it does not have a replica identity'), outcome
    agree(report, [outcome])
    run(source, "ALTER TABLE app.log ADD PRIMARY KEY (id)")  # the owner keeps the promise for app.log
    half = preflight(dsn, *args)
    assert failing(half) == {"table_keys": ["decided_add_pk"]}, failing(half)  # app.cand: the index is not the identity
    done = fix(source, subscriber, dsn, ["app.a", "app.log", "app.cand"], *args)  # REPLICA IDENTITY USING INDEX cand_id, as printed
    assert done["status"] == "ready", failing(done)
    outcomes = replicate(source, subscriber, dsn, ["app.a", "app.log", "app.cand"])
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]


@pytest.mark.parametrize("profile", ["debezium", "native"])
def test_replica_identity_full_recorded_but_not_applied(source: Server, subscriber: Server, tmp_path: Path,
                                                        profile: str) -> None:
    """Debezium, native subscriptions (and AWS DMS) do not apply a recorded FULL themselves."""
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "app.t", keyless=["app.t"])
    run(source, "CREATE TABLE app.m (id int, v text) PARTITION BY RANGE (id)",
        "CREATE TABLE app.m1 PARTITION OF app.m FOR VALUES FROM (0) TO (1000)",
        "CREATE TABLE app.m2 PARTITION OF app.m FOR VALUES FROM (1000) TO (2000)",
        "ALTER TABLE app.m REPLICA IDENTITY FULL",  # the parent's FULL reaches none of its existing leaves
        "GRANT SELECT ON ALL TABLES IN SCHEMA app TO cdc",
        f"CREATE PUBLICATION {PUB} FOR TABLE app.a, app.t, app.m")
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"app.t": "replica_identity_full", "app.m": "replica_identity_full"}}))
    args = ("-s", "app", "--publication", PUB, "--decisions", str(decisions), "--profile", profile)
    report = preflight(dsn, *args)
    findings = [f for c in report["checks"] if c["id"] == "table_keys" for f in c["findings"] if f["severity"] == "error"]
    assert {(f["object"], f["code"]) for f in findings} == {(t, "decided_replica_identity_full")
                                                            for t in ("app.t", "app.m1", "app.m2")}
    errors = oracle.write(source, ["app.t", "app.m", "app.m2"])  # app.m's rows are in m1, app.m2 written directly
    for table in ("t", "m1", "m2"):
        assert any(f'cannot update table "{table}"' in e for e in errors), errors
    agree(report, [Outcome("source writes", errors)])
    again = fix(source, subscriber, dsn, ["app.t", "app.m"], *args)
    assert again["status"] == "ready", failing(again)
    assert oracle.write(source, ["app.t", "app.m", "app.m2"]) == []
    outcome = native(source, subscriber, dsn, PUB, ["app.t", "app.m"])
    assert outcome.works, outcome


def test_replica_identity_full_recorded_is_the_hosted_connectors_job(source: Server, tmp_path: Path) -> None:
    """The hosted connector API applies a recorded FULL itself during its set-up, before it publishes."""
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "app.t", keyless=["app.t"])
    run(source, "GRANT SELECT ON app.t TO cdc")
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"app.t": "replica_identity_full"}}))
    report = preflight(dsn, "-s", "app", "--decisions", str(decisions), "--profile", "ardent")
    keys = next(c for c in report["checks"] if c["id"] == "table_keys")
    assert keys["status"] == "warn" and "table_keys" not in failing(report)
    run(source, "ALTER TABLE app.t REPLICA IDENTITY FULL")  # what its set-up runs; then it replicates (wal2json)
    if source.version == 15:  # wal2json is installed for Debian's server only
        outcome = oracle.cdc(source, dsn, "wal2json", ["app.t"], ["app.t"])
        assert outcome.works, outcome


def test_full_with_a_json_column_stops_a_native_subscription(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    run(source, """CREATE TABLE app.j (id int, v text, doc json DEFAULT '{"k": 1}')""",
        "ALTER TABLE app.j REPLICA IDENTITY FULL", "GRANT SELECT ON app.j TO cdc",
        f"CREATE PUBLICATION {PUB} FOR TABLE app.a, app.j")
    args = ("-s", "app", "--publication", PUB)
    native_report = preflight(dsn, *args, "--profile", "native")
    assert failing(native_report).get("table_keys") == ["full_identity_without_equality"], failing(native_report)
    outcome = native(source, subscriber, dsn, PUB, ["app.a", "app.j"])
    assert outcome.said("could not identify an equality operator for type json"), outcome
    agree(native_report, [outcome])
    cdc_report = preflight(dsn, *args, "--profile", "debezium")
    cdc_outcome = oracle.cdc(source, dsn, "pgoutput", ["app.a", "app.j"], ["app.a", "app.j"], PUB)
    assert cdc_outcome.works, cdc_outcome
    assert "table_keys" not in failing(cdc_report)
    agree(cdc_report, [cdc_outcome])


def test_partitions_published_through_their_leaves_keep_replicating_after_the_script(source: Server,
                                                                                   subscriber: Server) -> None:
    """publish_via_partition_root = false is reported (info) with the switch as a choice, never as a statement:
    switched under a running subscription, the partitioned table's changes stop reaching it."""
    dsn = add_cdc_role(source)
    run(source, "CREATE SCHEMA app", "GRANT USAGE ON SCHEMA app TO cdc",
        "CREATE TABLE app.m (id int PRIMARY KEY, v text) PARTITION BY RANGE (id)",
        "CREATE TABLE app.m1 PARTITION OF app.m FOR VALUES FROM (0) TO (2000000)",
        "CREATE TABLE app.b (id int PRIMARY KEY, v text)", "GRANT SELECT ON ALL TABLES IN SCHEMA app TO cdc",
        "CREATE PUBLICATION leaves FOR TABLE app.m, app.b")
    args = ("-s", "app", "--publication", "leaves")
    report = preflight(dsn, *args)
    assert "publish_via_partition_root_off" in [f["code"] for c in report["checks"] for f in c["findings"]]
    again, before, after = watched_fix(source, subscriber, dsn, ["app.m", "app.b"], *args)
    assert before == after == {oracle.NATIVE: {"app.m", "app.b"}, oracle.SLOT: {"app.m", "app.b"}}
    assert again["status"] == report["status"] == "ready", failing(report)


def test_replica_identity_nothing_breaks_updates(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a")
    run(source, "ALTER TABLE app.a REPLICA IDENTITY NOTHING")
    args = ("-s", "app", "--publication", PUB)
    report = preflight(dsn, *args)
    outcome = native(source, subscriber, dsn, PUB, ["app.a"])
    assert outcome.said('cannot update table "a" because it does not have a replica identity'), outcome
    agree(report, [outcome])
    assert "table_keys" in failing(report)


@pytest.mark.only_on("local", "pg17")  # column lists and row filters exist from PostgreSQL 15
def test_column_list_and_row_filter_leaving_the_key_out_break_updates(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", "app.b", publication=None)
    run(source, "CREATE PUBLICATION partial FOR TABLE app.a (v), app.b WHERE (v <> 'skip')")
    report = preflight(dsn, "-s", "app", "--publication", "partial")
    errors = oracle.write(source, ["app.a", "app.b"])
    assert any("cannot update table \"a\"" in e for e in errors) and any("cannot update table \"b\"" in e for e in errors), errors
    agree(report, [Outcome("source writes", errors)])
    assert "publication" in failing(report)


@pytest.mark.only_on("local", "pg17")  # column lists and row filters exist from PostgreSQL 15
def test_column_list_fix_changes_that_member_only_and_every_other_member_keeps_replicating(
        source: Server, subscriber: Server) -> None:
    """The fix of one member's column list must not replace the publication's other members (SET TABLE
    would: t2 and t3 would stop replicating), and must keep that member's row filter and the others'."""
    tables = ["app.t1", "app.t2", "app.t3"]
    dsn = healthy(source, *tables, publication=None)
    run(source, "CREATE PUBLICATION cdc_pub FOR TABLE app.t1 (v) WHERE (id > 0), app.t2, app.t3 WHERE (id < 1000000)")
    members = "SELECT tablename, attnames, rowfilter FROM pg_catalog.pg_publication_tables WHERE pubname = 'cdc_pub' ORDER BY 1"
    filters_before = [(name, rowfilter) for name, _, rowfilter in run(source, members)]
    args = ("-s", "app", "--publication", "cdc_pub")
    report = preflight(dsn, *args)
    assert failing(report) == {"publication": ["column_list_omits_key"]}, failing(report)
    errors = oracle.write(source, ["app.t1"])
    assert any('cannot update table "t1"' in e for e in errors), errors  # what the finding says PostgreSQL does
    again, before, after = watched_fix(source, subscriber, dsn, tables, *args)
    # t1's initial copy (its key left out, so NULL into the subscriber's primary key) fails before the fix; the
    # fixed member copies and replicates with no REFRESH PUBLICATION; t2 and t3 never stop
    assert before == {oracle.NATIVE: {"app.t2", "app.t3"}, oracle.SLOT: set(tables)}, before
    assert after == {oracle.NATIVE: set(tables), oracle.SLOT: set(tables)}, after
    assert [(name, rowfilter) for name, _, rowfilter in run(source, members)] == filters_before
    assert again["status"] == "ready", failing(again)
    assert all(o.works for o in replicate(source, subscriber, dsn, tables, publication="cdc_pub"))


def test_table_keys_failing_script_must_not_publish_the_keyless_table(source: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    oracle.make_tables(source, "app.log", keyless=["app.log"])
    run(source, "GRANT SELECT ON app.log TO cdc")
    args = ("-s", "app")
    report = preflight(dsn, *args)
    assert "table_keys" in failing(report)
    assert oracle.apply(source, script(dsn, *args)) == ""
    errors = oracle.write(source, ["app.a", "app.log"])
    assert errors == [], errors  # pasting the script must not break the application's UPDATE/DELETE


# ----------------------------------------------------------------------------------------- selection


def test_extension_members_are_not_application_tables(source: Server, subscriber: Server) -> None:
    share = oracle.extension_dir(source)
    (share / "oracle_ext.control").write_text("default_version = '1.0'\nrelocatable = false\nschema = oracle_ext\n")
    (share / "oracle_ext--1.0.sql").write_text("CREATE TABLE oracle_ext.journal (entry text);\n")
    dsn = healthy(source, "app.a")
    run(source, "CREATE EXTENSION oracle_ext")
    report = preflight(dsn, "--publication", PUB)  # default selection: every non-system schema
    outcomes = replicate(source, subscriber, dsn, ["app.a"])
    assert all(o.works for o in outcomes), [str(o) for o in outcomes]
    agree(report, outcomes)


def test_table_that_does_not_exist_is_not_ready(source: Server) -> None:
    dsn = healthy(source, "app.a")
    report = preflight(dsn, "-t", "app.nope", "--publication", PUB)
    with pytest.raises(psycopg.errors.UndefinedTable):
        run(source, "CREATE PUBLICATION for_nope FOR TABLE app.nope")  # what the consumer's set-up runs into
    assert report["status"] == "not_ready", failing(report)


def test_role_with_table_grants_exactly_the_selected_tables(source: Server, subscriber: Server) -> None:
    oracle.make_tables(source, "app.a", "app.b")
    dsn = add_cdc_role(source)
    admin = source.dsn()
    args = ("-t", "app.a", "--role", CDC_USER)
    report = preflight(admin, *args)
    assert "grants" in failing(report)
    assert oracle.apply(source, script(admin, *args)) == ""
    granted = run(source, "SELECT has_table_privilege('cdc', 'app.a', 'SELECT'), has_table_privilege('cdc', 'app.b', 'SELECT')")
    assert granted == [(True, False)]
    assert preflight(admin, *args)["status"] == "ready"
    assert native(source, subscriber, dsn, PUB, ["app.a"]).works


def test_role_with_several_tables_grants_exactly_those_tables(source: Server, subscriber: Server) -> None:
    """Every selected table of a schema lacking SELECT must not widen the GRANT to the whole schema."""
    oracle.make_tables(source, "app.a", "app.b", "app.c")
    dsn = add_cdc_role(source)
    admin = source.dsn()
    args = ("-t", "app.a", "-t", "app.b", "--role", CDC_USER)
    assert "grants" in failing(preflight(admin, *args))
    assert oracle.apply(source, script(admin, *args)) == ""
    granted = run(source, "SELECT has_table_privilege('cdc', 'app.a', 'SELECT'), "
                          "has_table_privilege('cdc', 'app.b', 'SELECT'), has_table_privilege('cdc', 'app.c', 'SELECT')")
    assert granted == [(True, True, False)]
    assert preflight(admin, *args)["status"] == "ready"
    assert native(source, subscriber, dsn, PUB, ["app.a", "app.b"]).works


def test_printed_publication_is_recognised_on_the_next_run(source: Server, subscriber: Server) -> None:
    dsn = healthy(source, "app.a", publication=None)
    first = script(dsn, "-s", "app")
    creates = [s for s in oracle.statements(first) if s.startswith("CREATE PUBLICATION")]
    assert creates, first
    assert oracle.apply(source, first) == ""
    second = preflight(dsn, "-s", "app")
    assert not [s for s in oracle.statements(script(dsn, "-s", "app")) if s.startswith("CREATE PUBLICATION")]
    assert second["status"] == "ready", failing(second)
    assert all(o.works for o in replicate(source, subscriber, dsn, ["app.a"]))


def test_debezium_file_replicates_with_the_slot_publication_and_plugin_it_implies(source: Server,
                                                                                   tmp_path: Path) -> None:
    """A Debezium configuration (publication.autocreate.mode=filtered, an include list): not ready while the CDC
    role cannot create the publication the connector creates, and PostgreSQL refuses it that CREATE PUBLICATION;
    ready once the role owns the captured tables, and then the connector's own statement works and a slot of the
    file's name, plugin and publication receives every change."""
    oracle.make_tables(source, "app.orders", "app.items", "app.audit")
    add_cdc_role(source)
    run(source, f"GRANT USAGE ON SCHEMA app TO {CDC_USER}", f"GRANT SELECT ON ALL TABLES IN SCHEMA app TO {CDC_USER}",
        f"GRANT CREATE ON DATABASE postgres TO {CDC_USER}")
    config = {"connector.class": "io.debezium.connector.postgresql.PostgresConnector",
              "database.hostname": "127.0.0.1", "database.port": str(source.port),  # type: ignore[attr-defined]
              "database.user": CDC_USER, "database.password": "not-read", "database.dbname": "postgres",
              "topic.prefix": "app", "plugin.name": "pgoutput", "slot.name": "dbz_app", "publication.name": "dbz_app_pub",
              "publication.autocreate.mode": "filtered", "table.include.list": r"app\.orders,app\.ITEMS"}
    path = tmp_path / "connector.json"
    path.write_text(json.dumps({"name": "app", "config": config}))

    def judged() -> dict[str, Any]:
        result = run_cli("check", "--consumer-config", str(path), "--format", "json", env={"PGPASSWORD": CDC_PASSWORD})
        assert result.exit_code in (0, 1), result.output
        return dict(json.loads(result.stdout))

    def connector_creates(report: dict[str, Any]) -> str | None:
        """The connector's filtered CREATE PUBLICATION for the tables it captures, as the CDC role."""
        names = psycopg.sql.SQL(", ").join(oracle.qualified(t) for t in report["options"]["tables"])
        try:
            with psycopg.connect(cdc, autocommit=True) as conn:
                conn.execute(psycopg.sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(
                    psycopg.sql.Identifier(report["options"]["publication"]), names))
            return None
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]

    cdc = source.dsn(user=CDC_USER, password=CDC_PASSWORD)
    before = judged()
    assert sorted(before["options"]["tables"]) == ["app.items", "app.orders"]
    assert before["status"] != "ready" and "publication" in failing(before)
    assert "must be owner of table" in (connector_creates(before) or "")
    run(source, f"ALTER TABLE app.orders OWNER TO {CDC_USER}", f"ALTER TABLE app.items OWNER TO {CDC_USER}")
    after = judged()
    assert after["status"] == "ready", failing(after)
    assert connector_creates(after) is None
    options = after["options"]
    outcome = oracle.cdc(source, cdc, options["plugin"], options["tables"], options["tables"],
                         options["publication"], slot=options["slot_name"])
    assert outcome.works, str(outcome)
    assert (options["slot_name"], options["publication"], options["plugin"]) == ("dbz_app", "dbz_app_pub", "pgoutput")
