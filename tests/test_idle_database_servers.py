"""Class 9: a quiet database on a busy cluster needs a heartbeat, unless the consumer confirms keepalives."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from preflight import Options, run_preflight
from preflight.models import Finding
from tests.conftest import PLUMBING
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role

pytestmark = PLUMBING
BOUND_S = 20.0


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    started = servers()
    add_cdc_role(started)
    started.execute("CREATE DATABASE quiet", "CREATE TABLE public.busy (id int)",
                    "INSERT INTO public.busy SELECT generate_series(1, 20000)")
    started.execute("CREATE TABLE public.t (id int PRIMARY KEY)", dbname="quiet")
    deadline = time.monotonic() + BOUND_S  # the writer's statistics reach pg_stat_database when its session ends
    while started.execute("SELECT tup_inserted FROM pg_stat_database WHERE datname = 'postgres'")[0][0] < 20000:
        assert time.monotonic() < deadline, "pg_stat_database never showed the writes"
        time.sleep(0.05)
    return started


def finding(server: Server, dbname: str, profile: str) -> list[Finding]:
    report = run_preflight(Options(dsn=server.dsn(user=CDC_USER, password=CDC_PASSWORD, dbname=dbname),
                                   checks=["idle_database"], profile=profile))
    return report.check("idle_database").findings


def test_quiet_database_needs_a_heartbeat(server: Server) -> None:
    [found] = finding(server, "quiet", "debezium")
    assert (found.code, found.severity.value, found.object) == ("heartbeat_needed", "warning", "quiet")
    assert "heartbeat.action.query" in " ".join(found.remediation.steps_text())
    assert found.remediation.sql_text()[1] == f'GRANT SELECT, INSERT, UPDATE ON "public"."cdc_heartbeat" TO "{CDC_USER}";'
    for statement in found.remediation.sql_text():  # the printed heartbeat set-up applies as written
        server.execute(statement, dbname="quiet")
    with_grant = server.execute(f"SELECT has_table_privilege('{CDC_USER}', 'public.cdc_heartbeat', 'INSERT')",
                                dbname="quiet")
    assert with_grant == [(True,)]


def test_consumer_that_confirms_keepalives_needs_none(server: Server) -> None:
    assert [f.code for f in finding(server, "quiet", "native")] == ["idle_database_keepalive"]


def test_consumer_that_writes_its_own_heartbeat_needs_none(server: Server, tmp_path: Path) -> None:
    """Issue 19: Datastream documents heartbeat messages of its own (needs_heartbeat off); the same consumer with
    needs_heartbeat on is warned, so the verdict follows the profile's rule."""
    [own] = finding(server, "quiet", "datastream")
    assert (own.code, own.severity.value) == ("idle_database_own_heartbeat", "info")
    assert "logical decoding messages" in own.message
    flipped = tmp_path / "datastream_without_heartbeat.toml"
    flipped.write_text('[consumer]\nneeds_heartbeat = true\n[sessions]\nheartbeat = "its own"\n')
    [needed] = finding(server, "quiet", str(flipped))
    assert (needed.code, needed.severity.value) == ("heartbeat_needed", "warning")


def test_busy_database_is_not_flagged(server: Server) -> None:
    assert finding(server, "postgres", "debezium") == []


def test_quiet_cluster_is_not_flagged(servers: Callable[..., Server]) -> None:
    """A new cluster: only its templates were written (their set-up), which is no workload."""
    fresh = servers()
    report = run_preflight(Options(dsn=fresh.dsn(), checks=["idle_database"], profile="debezium"))
    assert report.check("idle_database").findings == []
