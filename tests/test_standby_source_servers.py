"""A 16+ standby as the source: the printed script holds only what runs on the standby; the rest says
"Run on the primary", and applied there (and the script on the standby) the re-check passes."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from preflight.statements import ON_PRIMARY
from tests import oracle
from tests.oracle import failing, preflight, script
from tests.servers import CDC_PASSWORD, CDC_USER, Backend, Server, add_cdc_role

pytestmark = [pytest.mark.server, pytest.mark.only_on("pg16", "pg17")]

PRIMARY_STEP = "-- step: " + ON_PRIMARY
DEADLINE_S = 30.0


def replayed(standby: Server, query: str) -> None:
    """Poll until the standby has replayed what makes ``query`` true."""
    deadline = time.monotonic() + DEADLINE_S
    while not standby.execute(query)[0][0]:
        assert time.monotonic() < deadline, (f"never replayed: {query}", standby.execute(
            "SELECT pg_catalog.pg_is_in_recovery(), pg_catalog.pg_last_wal_replay_lsn(), "
            "(SELECT status FROM pg_catalog.pg_stat_wal_receiver)"))
        time.sleep(0.05)


def test_standby_script_runs_on_the_standby_and_names_what_runs_on_the_primary(
        servers: Callable[..., Server], backend: Backend) -> None:
    primary = servers()
    standby: Server | None = None
    try:
        oracle.make_tables(primary, "app.a")
        add_cdc_role(primary)  # REPLICATION, but no USAGE / SELECT: the fix is GRANTs, which a standby refuses
        standby = backend.standby_of(primary)
        replayed(standby, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cdc')")
        dsn = standby.dsn(user=CDC_USER, password=CDC_PASSWORD)
        args = ("-s", "app")
        report = preflight(dsn, *args)
        assert report["target"]["in_recovery"] is True
        assert {"grants", "writer_status"} <= set(failing(report)), failing(report)
        text = script(dsn, *args)
        on_primary = [line.removeprefix(PRIMARY_STEP) for line in text.splitlines() if line.startswith(PRIMARY_STEP)]
        assert any(s.startswith("GRANT SELECT") for s in on_primary), text
        pasted = oracle.statements(text)
        assert pasted and all(s.startswith(("ALTER SYSTEM", "SELECT pg_catalog.pg_reload_conf()")) for s in pasted), text
        assert oracle.apply(standby, text) == ""  # nothing in it fails with "read-only transaction"
        assert oracle.apply(primary, "\n".join(on_primary)) == "", on_primary
        replayed(standby, "SELECT pg_catalog.has_table_privilege('cdc', 'app.a', 'SELECT')")
        again = preflight(dsn, *args)
        assert not {"grants", "writer_status"} & set(failing(again)), failing(again)
        assert again["status"] == "ready", failing(again)
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()


@pytest.mark.only_on("pg16")
def test_all_databases_on_a_standby_routes_every_database_s_statements_to_the_primary(
        servers: Callable[..., Server], backend: Backend) -> None:
    """--all-databases is assembled by the same pipeline: each database's GRANTs are steps for the primary."""
    primary = servers()
    standby: Server | None = None
    try:
        primary.execute("CREATE DATABASE shop")
        oracle.make_tables(primary, "app.a")
        primary.execute("CREATE SCHEMA app", "CREATE TABLE app.b (id int PRIMARY KEY)", dbname="shop")
        add_cdc_role(primary)
        standby = backend.standby_of(primary)
        replayed(standby, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = 'shop')")
        replayed(standby, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'cdc')")
        dsn = standby.dsn(user=CDC_USER, password=CDC_PASSWORD)
        report = preflight(dsn, "--all-databases", "-s", "app")
        sections = {db["dbname"]: db for db in report["databases"]}
        assert {"postgres", "shop"} <= set(sections)
        for name in ("postgres", "shop"):
            grants = next(c for c in sections[name]["checks"] if c["id"] == "grants")
            steps = [s for f in grants["findings"] for s in f["remediation"]["steps"] if s.startswith(ON_PRIMARY)]
            pasted = [s for f in grants["findings"] for s in f["remediation"]["sql"]]
            assert any(s.removeprefix(ON_PRIMARY).startswith("GRANT") for s in steps), (name, grants)
            assert not [s for s in pasted if s.startswith("GRANT")], (name, pasted)
        text = script(dsn, "--all-databases", "-s", "app")
        pasted = [s for s in oracle.statements(text) if not s.startswith("\\connect")]
        assert pasted and all(s.startswith(("ALTER SYSTEM", "SELECT pg_catalog.pg_reload_conf()")) for s in pasted), text
    finally:
        if standby is not None:
            standby.destroy()
        primary.destroy()
