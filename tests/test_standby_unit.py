"""On a standby, statements it refuses become steps naming the primary; what runs there stays in the script."""

from __future__ import annotations

from preflight.models import CheckResult, CheckStatus, Finding, Remediation, Severity
from preflight.standby import ALSO_ON_PRIMARY, ON_PRIMARY, route_to_primary


def result(*sql: str) -> CheckResult:
    finding = Finding(code="x", severity=Severity.ERROR, message="m", remediation=Remediation(sql=list(sql), steps=["s"]))
    return CheckResult(id="c", title="t", status=CheckStatus.FAIL, findings=[finding])


def test_writes_go_to_the_primary_settings_and_reload_stay() -> None:
    checked = result('ALTER SYSTEM SET "hot_standby_feedback" = \'on\';', "SELECT pg_catalog.pg_reload_conf();",
                     'GRANT SELECT ON "app"."a" TO "cdc";', 'CREATE PUBLICATION "p" FOR TABLE "app"."a";')
    route_to_primary([checked])
    remediation = checked.findings[0].remediation
    assert remediation.sql == ['ALTER SYSTEM SET "hot_standby_feedback" = \'on\';', "SELECT pg_catalog.pg_reload_conf();"]
    assert remediation.steps == ["s", ON_PRIMARY + 'GRANT SELECT ON "app"."a" TO "cdc";',
                                 ON_PRIMARY + 'CREATE PUBLICATION "p" FOR TABLE "app"."a";']


def test_wal_level_is_set_on_both() -> None:
    checked = result('ALTER SYSTEM SET "wal_level" = \'logical\';')
    route_to_primary([checked])
    remediation = checked.findings[0].remediation
    assert remediation.sql == ['ALTER SYSTEM SET "wal_level" = \'logical\';']
    assert remediation.steps == ["s", ALSO_ON_PRIMARY + 'ALTER SYSTEM SET "wal_level" = \'logical\';']
