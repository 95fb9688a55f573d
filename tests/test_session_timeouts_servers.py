"""Class 3: timeouts stored for the CDC role or the database, judged and shown to cancel a real initial copy."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import CheckStatus, Finding, Report
from tests.conftest import PLUMBING
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role

pytestmark = PLUMBING


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    started = servers()
    add_cdc_role(started)
    started.execute("CREATE TABLE public.big (id int PRIMARY KEY, filler text)",
                    "INSERT INTO public.big SELECT g, repeat('x', 60) FROM generate_series(1, 120000) AS g",
                    f"GRANT SELECT ON public.big TO {CDC_USER}", "ANALYZE public.big")
    return started


def judged(server: Server) -> Report:
    return run_preflight(Options(dsn=server.dsn(user=CDC_USER, password=CDC_PASSWORD), checks=["session_timeouts"]))


def by_object(report: Report) -> dict[str, Finding]:
    return {str(f.object): f for f in report.check("session_timeouts").findings}


def initial_copy(server: Server) -> str | None:
    """What a consumer's table sync does on its replication connection: a slot with its snapshot, then COPY."""
    with psycopg.connect(server.dsn(user=CDC_USER, password=CDC_PASSWORD), replication="database",
                         autocommit=True) as conn:
        try:
            conn.execute("BEGIN READ ONLY ISOLATION LEVEL REPEATABLE READ")
            conn.execute("CREATE_REPLICATION_SLOT timeout_probe TEMPORARY LOGICAL pgoutput USE_SNAPSHOT")
            with conn.cursor().copy("COPY public.big TO STDOUT") as copy:
                for _ in copy:
                    pass
        except psycopg.Error as exc:
            return str(exc)
    return None


def test_nothing_stored_passes(server: Server) -> None:
    report = judged(server)
    assert report.check("session_timeouts").status is CheckStatus.PASS
    assert report.check("session_timeouts").findings == []


def test_role_statement_timeout_cancels_the_copy_and_the_fix_lets_it_through(server: Server) -> None:
    server.execute(f"ALTER ROLE {CDC_USER} IN DATABASE postgres SET statement_timeout = '5ms'")
    try:
        finding = by_object(judged(server))["statement_timeout"]
        assert finding.code == "stored_timeout_breaks_copy"
        assert finding.remediation.sql_text() == [f'ALTER ROLE "{CDC_USER}" IN DATABASE "postgres" RESET statement_timeout;']
        said = initial_copy(server)  # the judge: PostgreSQL cancels the consumer's copy
        assert said is not None and "statement timeout" in said
        server.execute(*finding.remediation.sql_text())
        assert initial_copy(server) is None
        assert judged(server).check("session_timeouts").findings == []
    finally:
        server.execute(f"ALTER ROLE {CDC_USER} IN DATABASE postgres RESET statement_timeout")


def test_database_timeouts_are_overridden_for_the_role_only(server: Server) -> None:
    server.execute("ALTER DATABASE postgres SET lock_timeout = '2s'",
                   "ALTER DATABASE postgres SET idle_in_transaction_session_timeout = '30s'",
                   f"ALTER ROLE {CDC_USER} SET wal_sender_timeout = '2s'")
    try:
        found = by_object(judged(server))
        assert {k: f.code for k, f in found.items()} == {
            "lock_timeout": "stored_timeout", "idle_in_transaction_session_timeout": "stored_timeout",
            "wal_sender_timeout": "stored_wal_sender_timeout"}
        assert found["lock_timeout"].severity.value == "warning"
        assert found["wal_sender_timeout"].severity.value == "error"
        for finding in found.values():
            server.execute(*finding.remediation.sql_text())
        assert all(f.severity.value == "info" for f in judged(server).check("session_timeouts").findings)
        # the database's values stay for everyone else: nothing was removed
        kept = server.execute("SELECT s.setconfig FROM pg_db_role_setting AS s JOIN pg_database AS d "
                              "ON d.oid = s.setdatabase WHERE d.datname = 'postgres' AND s.setrole = 0")
        assert sorted(kept[0][0]) == ["idle_in_transaction_session_timeout=30s", "lock_timeout=2s"]
    finally:
        server.execute("ALTER DATABASE postgres RESET ALL", f"ALTER ROLE {CDC_USER} RESET ALL",
                       f"ALTER ROLE {CDC_USER} IN DATABASE postgres RESET ALL")


@pytest.mark.only_on("pg17", "pg18")
def test_transaction_timeout_ends_the_copy_on_17(server: Server) -> None:
    server.execute(f"ALTER ROLE {CDC_USER} SET transaction_timeout = '5ms'")
    try:
        finding = by_object(judged(server))["transaction_timeout"]
        assert (finding.code, finding.severity.value) == ("stored_timeout_breaks_copy", "error")
        assert finding.remediation.sql_text() == [
            f'ALTER ROLE "{CDC_USER}" IN DATABASE "postgres" SET transaction_timeout = \'0\';']
        said = initial_copy(server)
        assert said is not None and "transaction timeout" in said
        server.execute(*finding.remediation.sql_text())
        assert initial_copy(server) is None
        assert [f.observed for f in judged(server).check("session_timeouts").findings] == []
    finally:
        server.execute(f"ALTER ROLE {CDC_USER} RESET ALL", f"ALTER ROLE {CDC_USER} IN DATABASE postgres RESET ALL")
