"""On a standby, statements it refuses become steps naming the primary; what runs there stays in the script.

The router reads the statement values (what each is, ``on_standby``), never their text: a statement whose
text looks like ALTER SYSTEM but is not a setting change is routed by what it is.
"""

from __future__ import annotations

from psycopg import sql

from preflight.models import CheckResult, CheckStatus, Finding, Remediation, Severity
from preflight.standby import route_to_primary
from preflight.statements import (
    ALSO_ON_PRIMARY,
    ON_PRIMARY,
    RELOAD,
    Grant,
    OnPrimary,
    PublicationChange,
    SettingChange,
    Sql,
    Statement,
)


def result(*statements: Statement) -> CheckResult:
    finding = Finding(code="x", severity=Severity.ERROR, message="m",
                      remediation=Remediation(sql=list(statements), steps=["s"]))
    return CheckResult(id="c", title="t", status=CheckStatus.FAIL, findings=[finding])


def test_writes_go_to_the_primary_settings_and_reload_stay() -> None:
    feedback = SettingChange("hot_standby_feedback", "on")
    grant = Grant("cdc", "SELECT", on="TABLE", object=("app", "a"))
    publication = PublicationChange("p", "create", (("app", "a"),))
    checked = result(feedback, RELOAD, grant, publication)
    route_to_primary([checked])
    remediation = checked.findings[0].remediation
    assert remediation.sql == [feedback, RELOAD]
    assert remediation.steps == ["s", OnPrimary(grant), OnPrimary(publication)]
    assert remediation.sql_text() == ['ALTER SYSTEM SET "hot_standby_feedback" = \'on\';',
                                      "SELECT pg_catalog.pg_reload_conf();"]
    assert remediation.steps_text() == ["s", ON_PRIMARY + 'GRANT SELECT ON TABLE "app"."a" TO "cdc";',
                                        ON_PRIMARY + 'CREATE PUBLICATION "p" FOR TABLE "app"."a";']


def test_wal_level_is_set_on_both() -> None:
    wal_level = SettingChange("wal_level", "logical", restart=True)
    checked = result(wal_level)
    route_to_primary([checked])
    remediation = checked.findings[0].remediation
    assert remediation.sql == [wal_level]
    assert remediation.steps_text() == ["s", ALSO_ON_PRIMARY + 'ALTER SYSTEM SET "wal_level" = \'logical\';']


def test_routing_reads_what_a_statement_is_not_its_text() -> None:
    """Hand-made SQL that reads like a setting change is still a database statement to the router: only a
    ``SettingChange`` value (and a reload) stays on the standby."""
    lookalike = Sql(sql.SQL("ALTER SYSTEM SET wal_level = 'logical';"))
    checked = result(lookalike)
    route_to_primary([checked])
    remediation = checked.findings[0].remediation
    assert remediation.sql == []
    assert remediation.steps == ["s", OnPrimary(lookalike)]
