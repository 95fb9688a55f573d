"""Tenants cannot steer the verdict: look-alike provider signals created by a tenant are ignored, and
a tenant session named like the tool is still judged (the tool excludes its own sessions by pid)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import CheckStatus
from tests.servers import Server

TENANT, TENANT_PASSWORD = "tenant_steer", "tenant-steer-pw-1"


@pytest.fixture()
def tenant(logical_server: Server) -> Iterator[Server]:
    """A non-superuser tenant that may create schemas and functions in the database."""
    logical_server.execute(f"DROP ROLE IF EXISTS {TENANT}",
                           f"CREATE ROLE {TENANT} LOGIN NOSUPERUSER PASSWORD '{TENANT_PASSWORD}'",
                           f"GRANT CREATE ON DATABASE postgres TO {TENANT}")
    try:
        yield logical_server
    finally:
        logical_server.execute(f"DROP OWNED BY {TENANT} CASCADE", f"DROP ROLE {TENANT}")


def test_tenant_lookalike_objects_do_not_make_a_provider(tenant: Server) -> None:
    tenant.execute(f"SET ROLE {TENANT}",
                   "CREATE SCHEMA heroku_ext",
                   "CREATE SCHEMA tenant",
                   "CREATE FUNCTION tenant.aurora_version() RETURNS text LANGUAGE sql AS $$SELECT '3.0'$$")
    report = run_preflight(Options(dsn=tenant.dsn()))
    assert report.target.provider == "self-managed", report.target.provider_signal
    assert report.check("provider").status is not CheckStatus.FAIL
    assert report.status.value == "ready", [(c.id, c.status) for c in report.checks]


def test_superuser_owned_signal_still_counts(tenant: Server) -> None:
    """The control: the same schema owned by the bootstrap superuser is the (weak) Heroku signal."""
    tenant.execute("CREATE SCHEMA heroku_ext")
    try:
        report = run_preflight(Options(dsn=tenant.dsn()))
        assert report.target.provider == "heroku"
    finally:
        tenant.execute("DROP SCHEMA heroku_ext")


def test_session_named_like_the_tool_is_reported(tenant: Server) -> None:
    dsn = tenant.dsn(user=TENANT, password=TENANT_PASSWORD)
    with psycopg.connect(dsn, application_name="pg-preflight") as impostor:
        impostor.execute("SELECT pg_catalog.txid_current()")  # holds an xid, idle in transaction
        report = run_preflight(Options(dsn=tenant.dsn(), checks=["long_transactions"], max_xact_age=0.001))
        result = report.check("long_transactions")
        assert f"pid {impostor.info.backend_pid}" in [f.object for f in result.findings], result
        impostor.rollback()
