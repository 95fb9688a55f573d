"""The grants check and the replication probe on real servers: every privilege path, and hostile names."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from preflight import Options, pgserver, run_preflight
from preflight.facts import ProbeStatus
from preflight.facts.replication_probe import identify_system
from preflight.models import CheckResult, CheckStatus, Report
from tests.servers import CDC_PASSWORD, Server, add_cdc_role

APP_TABLES = ("CREATE SCHEMA app", "CREATE TABLE app.orders (id int PRIMARY KEY)",
              "CREATE TABLE app.items (id int PRIMARY KEY)")


@pytest.fixture
def server(servers: Callable[..., Server]) -> Iterator[Server]:
    """A server of its own: these scenarios grant and revoke, and roles are cluster-wide."""
    fresh = servers()
    yield fresh
    fresh.destroy()


def grants(dsn: str, **options: object) -> CheckResult:
    return report(dsn, **options).check("grants")


def report(dsn: str, **options: object) -> Report:
    return run_preflight(Options(dsn=dsn, checks=["grants"], **options))


def codes(result: CheckResult) -> set[str]:
    return {f.code for f in result.findings}


def readable_app(server: Server, grantee: str = "cdc") -> None:
    server.execute(*APP_TABLES, f"GRANT USAGE ON SCHEMA app TO {grantee}",
                   f"GRANT SELECT ON ALL TABLES IN SCHEMA app TO {grantee}")


def test_role_without_replication_fails_and_the_fix_works(server: Server) -> None:
    dsn = add_cdc_role(server, replication=False)
    result = grants(dsn)
    assert result.status is CheckStatus.FAIL
    finding = next(f for f in result.findings if f.code == "no_replication")
    assert finding.remediation.sql_text() == ['ALTER ROLE "cdc" WITH REPLICATION;']
    wording = ("permission denied to start WAL sender" if int(server.execute("SHOW server_version_num")[0][0]) >= 160000
               else "must be superuser or replication role to start walsender")  # the server's words, by version
    assert "Confirmed by a replication connection: " in finding.message
    assert f"FATAL:  {wording}" in finding.message
    assert CDC_PASSWORD not in report(dsn).to_json()
    server.execute(*finding.remediation.sql_text())
    again = grants(dsn)
    assert again.status is CheckStatus.PASS, again.findings
    assert "replication_connection_ok" in codes(again)


def test_revoked_select_names_the_table(server: Server) -> None:
    dsn = add_cdc_role(server)
    readable_app(server)
    server.execute("REVOKE SELECT ON app.orders FROM cdc")
    result = grants(dsn, schemas=["app"])
    assert result.status is CheckStatus.FAIL
    [finding] = [f for f in result.findings if f.code == "no_select"]
    assert finding.object == "app.orders"
    assert finding.remediation.sql_text()[0] == 'GRANT SELECT ON TABLE "app"."orders" TO "cdc";'
    assert "SELECT on 1/2 tables" in result.summary


def test_missing_schema_usage_fails_on_the_schema(server: Server) -> None:
    dsn = add_cdc_role(server)
    readable_app(server)
    server.execute("REVOKE USAGE ON SCHEMA app FROM cdc")
    result = grants(dsn, schemas=["app", "nowhere"])
    by_code = {f.code: f for f in result.findings}
    assert by_code["no_schema_usage"].object == "app"
    assert by_code["no_schema_usage"].remediation.sql_text() == ['GRANT USAGE ON SCHEMA "app" TO "cdc";']
    assert by_code["schema_missing"].object == "nowhere"


def test_grants_through_a_group_role_count_only_with_inheritance(server: Server) -> None:
    dsn = add_cdc_role(server)
    server.execute("CREATE ROLE readers NOLOGIN", *APP_TABLES, "GRANT USAGE ON SCHEMA app TO readers",
                   "GRANT SELECT ON ALL TABLES IN SCHEMA app TO readers", "GRANT readers TO cdc")
    assert grants(dsn, schemas=["app"]).status is CheckStatus.PASS
    if int(server.execute("SHOW server_version_num")[0][0]) >= 160000:
        # 16+: inheritance is a property of each grant; ALTER ROLE ... NOINHERIT only sets the default
        server.execute("REVOKE readers FROM cdc", "GRANT readers TO cdc WITH INHERIT FALSE")
    else:
        server.execute("ALTER ROLE cdc NOINHERIT")
    assert {"no_schema_usage", "no_select"} <= codes(grants(dsn, schemas=["app"]))


def test_replication_on_a_group_role_is_not_inherited(server: Server) -> None:
    dsn = add_cdc_role(server, replication=False)
    server.execute("CREATE ROLE replicators NOLOGIN REPLICATION", "GRANT replicators TO cdc")
    finding = next(f for f in grants(dsn).findings if f.code == "no_replication")
    assert "replicators" in finding.message and "not inherited" in finding.message


def test_pg_read_all_data_member_reads_everything(server: Server) -> None:
    if server.version < 14:
        pytest.skip("pg_read_all_data exists from PostgreSQL 14")
    dsn = add_cdc_role(server)
    server.execute(*APP_TABLES, "CREATE SCHEMA locked", "CREATE TABLE locked.secrets (id int)",
                   "REVOKE ALL ON SCHEMA public FROM PUBLIC", "GRANT pg_read_all_data TO cdc")
    result = grants(dsn)
    assert result.status is CheckStatus.PASS, result.findings
    assert "SELECT on 3/3 tables" in result.summary


def test_role_audit_as_superuser_judges_the_role_without_probing(server: Server) -> None:
    add_cdc_role(server, replication=False)
    server.execute(*APP_TABLES)
    result = grants(server.dsn(), role="cdc", schemas=["app"])
    # a superuser reads pg_hba_file_rules: the lines that take the role's connections replace "not proven"
    assert {"no_replication", "no_schema_usage", "no_select", "hba_lines"} <= codes(result)
    assert not {"replication_connection_ok", "replication_not_proven"} & codes(result)
    assert all(f.object != "postgres" for f in result.findings)
    missing = grants(server.dsn(), role="Nobody Here")
    assert [(f.code, f.object) for f in missing.findings] == [("role_not_found", "Nobody Here")]


def test_superuser_itself_passes(server: Server) -> None:
    server.execute(*APP_TABLES)
    result = grants(server.dsn())
    assert result.status is CheckStatus.PASS, result.findings
    assert "superuser" in result.summary


def test_pg_hba_rejection_of_the_replication_connection_is_classified(server: Server) -> None:
    if not isinstance(server, pgserver.LocalServer):
        pytest.skip("edits pg_hba.conf of a local server")
    dsn = add_cdc_role(server)
    hba = server.data / "pg_hba.conf"
    hba.write_text("host all cdc 127.0.0.1/32 reject\n" + hba.read_text())
    server.reload()
    probe = identify_system(dsn, 5, 5, 5)
    assert probe.status is ProbeStatus.FAILED and probe.kind == "pg_hba", probe
    assert "replication=database" in (probe.advice or "")
    assert CDC_PASSWORD not in str(probe)
    whole = report(dsn)
    assert whole.check("grants").status is CheckStatus.SKIP  # the main session is refused first


def test_role_connection_limit_below_what_a_consumer_needs_warns(server: Server) -> None:
    dsn = add_cdc_role(server)
    server.execute("ALTER ROLE cdc CONNECTION LIMIT 1")
    result = grants(dsn)
    finding = next(f for f in result.findings if f.code == "role_connection_limit")
    assert finding.observed == "0/1 used" and finding.severity.value == "warning"
    assert finding.remediation.sql_text() == ['ALTER ROLE "cdc" WITH CONNECTION LIMIT 5;']  # 4 needed (generic) + 1
    assert result.status is CheckStatus.WARN


def test_low_server_headroom_warns_saying_could_not_see(servers: Callable[..., Server]) -> None:
    small = servers(max_connections="5")
    try:
        dsn = add_cdc_role(small)
        result = grants(dsn)
        finding = next(f for f in result.findings if f.code == "low_connection_headroom")
        assert finding.observed == "2 free" and "could not see" in finding.message
        assert result.status is CheckStatus.WARN
    finally:
        small.destroy()


def test_remediation_runs_as_printed_on_hostile_names(server: Server) -> None:
    role, owner, db = "CDC Reader", "App Owner", "app db"
    server.execute(f"CREATE DATABASE \"{db}\"", f"REVOKE CONNECT ON DATABASE \"{db}\" FROM PUBLIC",
                   f"CREATE ROLE \"{role}\" NOLOGIN NOREPLICATION PASSWORD '{CDC_PASSWORD}'",
                   f"CREATE ROLE \"{owner}\" NOLOGIN")
    server.execute(f"CREATE SCHEMA \"Sales EU\" AUTHORIZATION \"{owner}\"", f"SET ROLE \"{owner}\"",
                   'CREATE TABLE "Sales EU"."a""b; DROP" (id int PRIMARY KEY)',
                   'CREATE TABLE "Sales EU"."Ünïcode Tæble" (id int PRIMARY KEY)', dbname=db)
    audit = grants(server.dsn(dbname=db), role=role)
    assert {"no_login", "no_replication", "no_connect", "no_schema_usage", "no_select"} <= codes(audit)
    assert 'Sales EU."a""b; DROP"' in {f.object for f in audit.findings}
    statements = list(dict.fromkeys(s for f in audit.findings for s in f.remediation.sql_text()))
    assert any(s.startswith(f'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}"') for s in statements)
    server.execute(*statements, dbname=db)
    as_role = server.dsn(user=role, password=CDC_PASSWORD, dbname=db)
    again = grants(as_role)
    assert again.status is CheckStatus.PASS, again.findings
    assert "replication_connection_ok" in codes(again)
    server.execute(f"SET ROLE \"{owner}\"", 'CREATE TABLE "Sales EU"."later" (id int)', dbname=db)
    assert grants(as_role).status is CheckStatus.PASS  # default privileges cover tables created later


def test_role_audit_reads_pg_hba_instead_of_not_proven(server: Server) -> None:
    """A superuser auditing --role learns which pg_hba.conf lines take that role's TCP connections."""
    assert isinstance(server, pgserver.LocalServer) or pytest.skip("needs the local server's pg_hba.conf")
    add_cdc_role(server)
    audit = grants(server.dsn(), role="cdc")
    assert "replication_not_proven" not in codes(audit)
    lines = [f for f in audit.findings if f.code == "hba_lines"]
    assert lines and all(f.severity.value == "info" for f in lines), audit.findings
    assert "127.0.0.1/32" in lines[0].message and "scram-sha-256" in lines[0].message
    # an unprivileged checker cannot read the view: it still says "not proven", and nothing fails
    unprivileged = grants(add_cdc_role(server), role="cdc")
    assert "replication_not_proven" in codes(unprivileged) and not codes(unprivileged) & {"hba_lines", "hba_no_line"}


def test_role_audit_sees_a_reject_line_that_refuses_the_role(server: Server) -> None:
    assert isinstance(server, pgserver.LocalServer) or pytest.skip("needs the local server's pg_hba.conf")
    dsn = add_cdc_role(server)
    hba = server.data / "pg_hba.conf"
    hba.write_text("host all cdc all reject\n" + hba.read_text())
    audit = grants(server.dsn(), role="cdc")
    rejects = [f for f in audit.findings if f.code == "hba_rejects"]
    assert len(rejects) == 2 and all(f.severity.value == "error" for f in rejects), audit.findings
    assert audit.status is CheckStatus.FAIL
    server.reload()  # PostgreSQL agrees: the role's TCP connections, replication=database included, are refused
    for conninfo in (dsn, f"{dsn} replication=database"):
        with pytest.raises(psycopg.OperationalError, match="rejects connection"):
            psycopg.connect(conninfo, connect_timeout=10).close()
