"""Provider detection on real servers whose signals are faked (placeholder GUCs, roles, functions),
and the provider-specific remediation that follows."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from preflight import Options, run_preflight
from preflight.models import CheckStatus
from tests.servers import Server, add_cdc_role

CASES = [
    ("aurora", ["CREATE FUNCTION public.aurora_version() RETURNS text LANGUAGE sql AS $$SELECT '3.0'$$",
                "CREATE ROLE rds_superuser", "ALTER DATABASE postgres SET \"rds.extensions\" = 'plpgsql'"],
     "function aurora_version() exists"),
    ("rds", ["CREATE ROLE rds_superuser", "CREATE ROLE rds_replication"], "role rds_superuser"),
    ("cloudsql", ["ALTER DATABASE postgres SET \"cloudsql.iam_authentication\" = 'on'"], "setting cloudsql.iam_authentication"),
    ("alloydb", ["CREATE ROLE alloydbsuperuser"], "role alloydbsuperuser"),
    ("azure", ["ALTER DATABASE postgres SET \"azure.extensions\" = 'pg_trgm'"], "setting azure.extensions"),
    ("supabase", ["CREATE ROLE supabase_admin"], "role supabase_admin"),
    ("neon", ["CREATE ROLE neon_superuser"], "role neon_superuser"),
    ("aiven", ["CREATE ROLE avnadmin"], "role avnadmin"),
    ("heroku", ["CREATE SCHEMA heroku_ext"], "schema heroku_ext (weak signal)"),
]


@pytest.fixture(scope="module")
def replica_level(servers: Callable[..., Server]) -> Callable[[list[str]], Server]:
    def make(statements: list[str]) -> Server:
        server = servers(wal_level="replica")
        server.execute(*statements)
        server.execute("SELECT pg_reload_conf()")
        return server
    return make


@pytest.mark.parametrize(("name", "statements", "signal"), CASES, ids=[c[0] for c in CASES])
def test_detects_provider_and_adapts_remediation(replica_level: Callable[[list[str]], Server], name: str,
                                                 statements: list[str], signal: str) -> None:
    server = replica_level(statements)
    report = run_preflight(Options(dsn=add_cdc_role(server)))
    assert report.target.provider == name
    assert report.target.provider_signal == signal
    provider_check = report.check("provider")
    assert provider_check.findings[0].observed == name
    wal = next(f for f in report.check("logical_replication").findings if f.code == "wal_level_not_logical")
    assert wal.remediation.sql_text() == [], "managed services never get ALTER SYSTEM"
    assert wal.remediation.steps_text() and wal.remediation.requires_restart
    if name in ("rds", "aurora"):
        assert "rds.logical_replication = 1" in wal.remediation.steps_text()[0]
    if name == "heroku":
        assert provider_check.status is CheckStatus.FAIL
        said = [f for f in provider_check.findings if "does not offer logical replication" in f.message]
        assert [(f.code, f.severity.value) for f in said] == [("provider_unsupported", "error")], "said once, as the error"
        assert wal.remediation.steps_text() == ["Heroku Postgres does not offer logical replication to external consumers."]


def test_self_managed_and_override(logical_server: Server) -> None:
    report = run_preflight(Options(dsn=logical_server.dsn()))
    assert report.target.provider == "self-managed"
    forced = run_preflight(Options(dsn=logical_server.dsn(), provider="cloudsql"))
    assert forced.target.provider == "cloudsql" and forced.target.provider_signal == "--provider option"
