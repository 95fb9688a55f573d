"""The grants check as a pure function of hand-built snapshots, and the probe's classification."""

from __future__ import annotations

import dataclasses
from typing import Any

import psycopg
import pytest

from preflight import Options, run_checks
from preflight.checks.grants import FEW_TABLES, MAX_TABLE_FINDINGS
from preflight.facts import FactContext, ProbeStatus, ReplicationProbeResult, RoleFact, SchemaRow, Snapshot, TableRow
from preflight.facts.replication_probe import REPLICATION_PROBE, classify_replication_failure
from preflight.models import CheckResult, CheckStatus, Finding, Severity
from tests import snapshots
from tests.snapshots import make_snapshot, replication_probe, role, schema

OK_PROBE = replication_probe()
CONN_SETTINGS = {"max_connections": "100", "superuser_reserved_connections": "3", "reserved_connections": "0"}


def table(schema: str, name: str, can_select: bool = True, **over: Any) -> TableRow:
    return snapshots.table(schema, name, can_select=can_select, **over)


def snap(role_row: RoleFact | None = None, tables: list[TableRow] | None = None,
         schemas: list[SchemaRow] | None = None, probe: ReplicationProbeResult | None = OK_PROBE,
         version_num: int = 150000, settings: dict[str, Any] | None = None) -> Snapshot:
    facts: dict[str, Any] = {
        "role": role_row or role(),
        "schemas": schemas if schemas is not None else [schema("public")],
        "tables": tables if tables is not None else [table("public", "orders")],
    }
    if probe is not None:
        facts["replication_probe"] = probe
    return make_snapshot({**CONN_SETTINGS, **(settings or {})}, version_num=version_num, **facts)


def grants(snapshot: Snapshot, **options: Any) -> CheckResult:
    return run_checks(snapshot, Options(checks=["grants"], **options)).check("grants")


def by_code(result: CheckResult, code: str) -> list[Finding]:
    return [f for f in result.findings if f.code == code]


def test_healthy_role_passes_with_the_probe_as_proof() -> None:
    result = grants(snap())
    assert result.status is CheckStatus.PASS, result.findings
    assert [f.code for f in result.findings] == ["replication_connection_ok"]
    assert "system id 7713" in result.findings[0].message
    assert "SELECT on 1/1 tables" in result.summary and "replication connection proven" in result.summary


def test_missing_replication_fails_with_alter_role() -> None:
    result = grants(snap(role(rolreplication=False), probe=None))
    finding = by_code(result, "no_replication")[0]
    assert result.status is CheckStatus.FAIL
    assert finding.severity is Severity.ERROR
    assert finding.remediation.sql_text() == ['ALTER ROLE "cdc" WITH REPLICATION;']
    assert "superuser" in finding.remediation.steps_text()[0] and "admin role" in finding.remediation.steps_text()[0]


def test_rds_replication_membership_counts_although_rolreplication_is_false() -> None:
    row = role(rolreplication=False, provider_roles=["rds_replication"], replication_via=["rds_replication"])
    result = grants(snap(row, probe=None))
    assert not by_code(result, "no_replication")
    assert "member of rds_replication" in result.summary


def test_on_rds_the_fix_is_grant_rds_replication() -> None:
    row = role(rolreplication=False, provider_roles=["rds_replication"])
    finding = by_code(grants(snap(row, probe=None)), "no_replication")[0]
    assert finding.remediation.sql_text() == ['GRANT "rds_replication" TO "cdc";']
    assert "rds_replication" in finding.message


def test_replication_on_a_group_role_is_not_inherited() -> None:
    finding = by_code(grants(snap(role(rolreplication=False, replication_groups=["replicators"]), probe=None)),
                      "no_replication")[0]
    assert "replicators" in finding.message and "not inherited" in finding.message


def test_walsender_refusal_confirms_the_missing_attribute_in_one_finding() -> None:
    probe = replication_probe(ProbeStatus.FAILED, kind="no_replication_privilege",
                              message="the role may not start a walsender", advice="x",
                              detail="FATAL:  must be superuser or replication role to start walsender")
    result = grants(snap(role(rolreplication=False), probe=probe))
    assert [f.code for f in result.findings] == ["no_replication"]
    assert "start walsender" in result.findings[0].message


def test_probe_success_outranks_the_catalog_hint() -> None:
    result = grants(snap(role(rolreplication=False)))
    assert result.status is CheckStatus.PASS
    assert "replication connection accepted" in result.summary


def test_pg_hba_rejection_of_the_replication_connection_is_an_error_with_cause() -> None:
    exc = psycopg.OperationalError('connection failed: FATAL:  pg_hba.conf rejects connection for host "10.0.0.9", '
                                   'user "cdc", database "app", no encryption')
    probe = classify_replication_failure(exc, [])
    result = grants(snap(probe=probe))
    finding = by_code(result, "replication_connection_failed")[0]
    assert result.status is CheckStatus.FAIL and finding.severity is Severity.ERROR
    assert finding.observed == "pg_hba"
    assert "pg_hba.conf rejects connection" in finding.message
    assert "like an ordinary connection" in finding.remediation.steps_text()[0]


@pytest.mark.parametrize(("text", "kind"), [
    ("FATAL:  must be superuser or replication role to start walsender", "no_replication_privilege"),
    ("FATAL:  permission denied to start WAL sender", "no_replication_privilege"),
    ("ERROR:  unsupported startup parameter: replication", "pooler"),
    ("FATAL:  number of requested standby connections exceeds max_wal_senders (currently 0)", "no_walsender"),
    ('FATAL:  too many connections for role "cdc"', "role_connection_limit"),
    ('FATAL:  password authentication failed for user "cdc"', "authentication"),
])
def test_replication_failures_are_classified(text: str, kind: str) -> None:
    assert classify_replication_failure(psycopg.OperationalError(text), []).kind == kind


def test_probe_failure_detail_never_holds_the_password() -> None:
    exc = psycopg.OperationalError("connection to host failed: password=Sup3r-secret-pw rejected")
    probe = classify_replication_failure(exc, ["Sup3r-secret-pw"])
    assert "Sup3r-secret-pw" not in str(probe) and "***" in (probe.detail or "")


def test_probe_is_skipped_for_a_role_audit_without_connecting() -> None:
    out = REPLICATION_PROBE.run(None, FactContext(150000, Options(dsn="host=203.0.113.1 port=1", role="cdc")))
    assert out.status is ProbeStatus.SKIPPED and "cdc" in (out.reason or "")
    result = grants(snap(probe=out), role="cdc")
    assert by_code(result, "replication_not_proven")[0].severity is Severity.INFO
    assert result.status is CheckStatus.PASS


def test_probe_crash_is_an_error_with_its_cause() -> None:
    snapshot = snap(probe=None)
    snapshot.failures["replication_probe"] = "RuntimeError: boom"
    finding = by_code(grants(snapshot), "replication_probe_error")[0]
    assert finding.severity is Severity.ERROR and "boom" in finding.message


def test_unknown_role_is_one_clear_error_even_when_selection_facts_failed() -> None:
    snapshot = snap(role(rolname="Nobody", exists=False))
    del snapshot.facts["schemas"], snapshot.facts["tables"]
    snapshot.failures["tables"] = 'role "Nobody" does not exist'
    result = grants(snapshot, role="Nobody")
    assert result.status is CheckStatus.FAIL
    assert [(f.code, f.object) for f in result.findings] == [("role_not_found", "Nobody")]


def test_nologin_and_no_connect_each_fail_with_their_statement() -> None:
    result = grants(snap(role(rolname="CDC Reader", rolcanlogin=False, can_connect=False, database="app db")))
    assert by_code(result, "no_login")[0].remediation.sql_text() == ['ALTER ROLE "CDC Reader" WITH LOGIN;']
    connect = by_code(result, "no_connect")[0]
    assert connect.object == "app db"
    assert connect.remediation.sql_text() == ['GRANT CONNECT ON DATABASE "app db" TO "CDC Reader";']


def test_missing_schema_and_missing_usage() -> None:
    schemas = [schema("Sales EU", can_use=False, owner="app"), schema("ghost", can_use=None, exists=False, owner=None)]
    result = grants(snap(schemas=schemas, tables=[]))
    usage = by_code(result, "no_schema_usage")[0]
    assert usage.object == "Sales EU" and usage.remediation.sql_text() == ['GRANT USAGE ON SCHEMA "Sales EU" TO "cdc";']
    assert "(app)" in usage.remediation.steps_text()[0]
    assert by_code(result, "schema_missing")[0].object == "ghost"


def test_few_missing_selects_get_one_grant_each_naming_the_table() -> None:
    tables = [table("Sales EU", 'a"b; DROP', can_select=False, owner="Owner A"), table("Sales EU", "fine"),
              table("Sales EU", "v", can_select=False, relkind="v"),
              table("Sales EU", "scratch", can_select=False, relpersistence="u")]
    result = grants(snap(tables=tables))
    [finding] = by_code(result, "no_select")
    assert finding.object == 'Sales EU."a""b; DROP"'
    assert finding.remediation.sql_text() == [
        'GRANT SELECT ON TABLE "Sales EU"."a""b; DROP" TO "cdc";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "Owner A" IN SCHEMA "Sales EU" GRANT SELECT ON TABLES TO "cdc";',
        'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "Sales EU" GRANT SELECT ON TABLES TO "cdc";',
    ]
    # the owners are in the statements; the advice is the same words for every schema, so a report states it once
    assert "FOR ROLE <owner>" in finding.remediation.steps_text()[1] and "Sales EU" not in finding.remediation.steps_text()[1]
    assert "SELECT on 1/2 tables" in result.summary  # the view and the unlogged table are not publishable


def test_many_missing_selects_get_the_schema_wide_grant() -> None:
    tables = [table("app", f"t{i}", can_select=False) for i in range(FEW_TABLES + 1)] + [table("app", "ok")]
    findings = by_code(grants(snap(tables=tables)), "no_select")
    assert len(findings) == FEW_TABLES + 1
    assert {f.remediation.sql_text()[0] for f in findings} == {'GRANT SELECT ON ALL TABLES IN SCHEMA "app" TO "cdc";'}


def test_tables_named_with_t_get_a_grant_each_and_nothing_wider() -> None:
    names = [f"t{i}" for i in range(FEW_TABLES + 1)]
    tables = [table("app", name, can_select=False) for name in names]
    findings = by_code(grants(snap(tables=tables), tables=[f"app.{name}" for name in names]), "no_select")
    assert [f.remediation.sql_text() for f in findings] == [[f'GRANT SELECT ON TABLE "app"."{name}" TO "cdc";'] for name in names]
    assert [len(f.remediation.steps_text()) for f in findings] == [1] * len(names)  # no ALTER DEFAULT PRIVILEGES advice
    # the same tables with their schema selected entirely (-s): the schema-wide grant and default privileges
    widened = by_code(grants(snap(tables=tables), schemas=["app"], tables=["app.t0"]), "no_select")
    assert widened[0].remediation.sql_text() == ['GRANT SELECT ON ALL TABLES IN SCHEMA "app" TO "cdc";',
                                          'ALTER DEFAULT PRIVILEGES FOR ROLE "app" IN SCHEMA "app" GRANT SELECT ON TABLES TO "cdc";']


def test_tables_named_with_t_beyond_the_cap_are_granted_one_by_one() -> None:
    names = [f"t{i:04d}" for i in range(MAX_TABLE_FINDINGS + 2)]
    tables = [table("app", name, can_select=False) for name in names]
    [more] = by_code(grants(snap(tables=tables), tables=[f"app.{name}" for name in names]), "no_select_more")
    assert more.remediation.sql_text() == [f'GRANT SELECT ON TABLE "app"."{name}" TO "cdc";' for name in names[-2:]]


def test_findings_per_schema_are_capped_and_the_rest_counted() -> None:
    tables = [table("app", f"t{i:04d}", can_select=False) for i in range(MAX_TABLE_FINDINGS + 7)]
    result = grants(snap(tables=tables))
    assert len(by_code(result, "no_select")) == MAX_TABLE_FINDINGS
    assert "7 more tables" in by_code(result, "no_select_more")[0].message


def test_no_connection_headroom_is_an_error_and_says_could_not_see() -> None:
    row = role(client_backends=91, hidden_sessions=7)
    finding = by_code(grants(snap(row)), "no_connection_headroom")[0]
    assert finding.severity is Severity.ERROR
    assert "could not see the type of 7 other session(s)" in finding.message
    assert finding.observed == "0 free"
    assert finding.remediation.requires_restart


def test_low_headroom_is_a_warning_and_superusers_may_use_reserved_slots() -> None:
    result = grants(snap(role(client_backends=96, checker_sees_all=True)))
    finding = by_code(result, "low_connection_headroom")[0]
    assert result.status is CheckStatus.WARN and finding.observed == "2 free"
    assert "could not see" not in finding.message
    assert not by_code(grants(snap(role(client_backends=96, rolsuper=True))), "low_connection_headroom")


def test_reserved_connections_count_from_16_only() -> None:
    row = role(client_backends=91, checker_sees_all=True)
    assert not by_code(grants(snap(row, settings={"reserved_connections": "5"})), "low_connection_headroom")
    late = grants(snap(row, settings={"reserved_connections": "5"}, version_num=160000))
    assert by_code(late, "low_connection_headroom")[0].observed == "2 free"
    row = dataclasses.replace(row, memberships={**row.memberships, "pg_use_reserved_connections": True})
    assert not by_code(grants(snap(row, settings={"reserved_connections": "5"}, version_num=160000)),
                       "low_connection_headroom")


def test_role_and_database_connection_limits() -> None:
    row = role(rolname="CDC Reader", rolconnlimit=1, role_connections=2, datconnlimit=4, database_connections=4)
    result = grants(snap(row))
    by_role = by_code(result, "role_connection_limit")[0]
    assert by_role.severity is Severity.ERROR and "own session" in by_role.message
    assert by_role.remediation.sql_text() == ['ALTER ROLE "CDC Reader" WITH CONNECTION LIMIT 6;']  # 1 used + 4 needed (generic) + 1
    by_db = by_code(result, "database_connection_limit")[0]
    assert by_db.severity is Severity.WARNING
    assert by_db.remediation.sql_text() == ['ALTER DATABASE "app" WITH CONNECTION LIMIT 8;']  # 3 used + 4 needed + 1


def test_tables_the_publication_reaches_outside_the_selection_need_select_and_usage() -> None:
    base = snap(tables=[table("app", "a")], schemas=[schema("app")])
    base.facts["published_tables"] = [table("app", "secret", can_select=False),
                                      table("other", "log", can_use_schema=False)]
    result = grants(base)
    assert result.status is CheckStatus.FAIL
    assert [f.object for f in by_code(result, "no_select")] == ["app.secret"]
    usage = by_code(result, "no_schema_usage")
    assert [f.object for f in usage] == ["other"] and "publishes" in usage[0].message
    assert "SELECT on 2/3 tables" in result.summary


def test_tables_decided_exclude_need_no_select() -> None:
    tables = [table("public", "orders"), table("public", "secret", can_select=False),
              table("public", "m", relkind="p", can_select=False),
              table("public", "m_1", can_select=False, is_partition=True, parent_schema="public", parent_name="m")]
    missing = {f.object for f in grants(snap(tables=tables)).findings if f.code == "no_select"}
    assert missing == {"public.secret", "public.m", "public.m_1"}
    excluded = grants(snap(tables=tables), decisions={"public.secret": "exclude", "public.m": "exclude"})
    assert not [f for f in excluded.findings if f.code == "no_select"]
