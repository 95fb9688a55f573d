"""Is this the writer? Logical slots and publications live on the primary (standby decoding is 16+ only)."""

from __future__ import annotations

from psycopg import sql

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import SERVER, SESSION_SETTINGS, SETTINGS, SettingRow
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import DECODING_ON_STANDBY, supports
from preflight.provider_detection import Provider
from preflight.remediation import change_setting
from preflight.statements import Sql, Statement

CODES = declare(
    Code("standby", Severity.ERROR, "the server is a standby in recovery and cannot be a logical source here",
         explain="Point the consumer at the primary (or at a PostgreSQL 16+ standby prepared for decoding)."),
    Code("default_read_only", Severity.WARNING, "default_transaction_read_only is on for the checked session",
         explain="Reset default_transaction_read_only for the consumer's role or database: it must create objects."),
    Code("standby_decoding", Severity.WARNING, "a PostgreSQL 16+ standby: decoding works, with standby-only risks",
         explain="Create publications on the primary, turn hot_standby_feedback on, and expect slot invalidation on "
                 "recovery conflicts."),
    Code("hot_standby_feedback_off", Severity.ERROR, "hot_standby_feedback is off on a standby used for decoding",
         explain="Set hot_standby_feedback = on on the standby (ALTER SYSTEM, then reload)."),
)

STANDBY_16 = (
    " From PostgreSQL 16 logical decoding also works on a standby, but only with wal_level=logical on "
    "the primary and this standby, hot_standby_feedback=on, and slots there can be invalidated by "
    "recovery conflicts; publications must still be created on the primary."
)
STANDBY_SNAPSHOT = "SELECT pg_catalog.pg_log_standby_snapshot();"
STANDBY_OLD = " Before PostgreSQL 16 a standby cannot create logical slots at all (logical decoding cannot be used while in recovery)."


class WriterStatus(Check):
    id = "writer_status"
    report_order = 40
    title = "Writer (primary), not a standby"
    facts = (SERVER, SETTINGS, SESSION_SETTINGS)  # default_transaction_read_only: a database may set it
    why = (
        "Logical replication slots and publications are created on the writer. A DSN that points at a "
        "read replica or a reader endpoint makes the consumer fail at slot creation."
    )
    remediation = "Point the DSN at the primary (writer / cluster endpoint), not at a replica or reader endpoint."

    def run(self, ctx: CheckContext) -> Outcome:
        server = ctx.fact(SERVER)
        findings: list[Finding] = []
        if server.in_recovery and supports(ctx.version_num, DECODING_ON_STANDBY) and not ctx.profile.writer_required:
            return self._decoding_standby(ctx)
        if server.in_recovery:
            nuance = STANDBY_16 if supports(ctx.version_num, DECODING_ON_STANDBY) else STANDBY_OLD
            if ctx.profile.writer_required:
                nuance += f" Profile '{ctx.profile.name}' requires the writer."
            findings.append(Finding(
                code="standby",
                severity=Severity.ERROR,
                message="The server is a standby in recovery (pg_is_in_recovery() = true)." + nuance,
                observed="standby",
                expected="primary",
                remediation=Remediation(steps=[self.remediation]),
            ))
            return Outcome(findings, "standby (in recovery): not the writer")
        default_ro = server.default_transaction_read_only == "on"
        if default_ro:
            setting = ctx.setting("default_transaction_read_only")
            source = setting.source if setting else "unknown"
            statements = _read_write_sql(source, server.database, server.role)
            findings.append(Finding(
                code="default_read_only",
                severity=Severity.WARNING,
                message=(
                    f"default_transaction_read_only is on (set by: {source}). The server accepts writes, "
                    "but a consumer that writes (creating its publication, heartbeat or signal tables) "
                    "fails unless it overrides the default."
                ),
                object="default_transaction_read_only",
                observed="on",
                expected="off",
                remediation=_read_write_fix(statements, source, ctx.provider, setting),
            ))
        state = "read-only by default" if default_ro else "read-write"
        return Outcome(findings, f"primary (writer), {state}")


    def _decoding_standby(self, ctx: CheckContext) -> Outcome:
        """PG 16+ standby and a profile that allows it: say what decoding there needs, not a flat failure."""
        settings = ctx.settings()
        findings = [Finding(
            code="standby_decoding", severity=Severity.WARNING, observed="standby", expected="primary or a prepared standby",
            message="The server is a standby (PostgreSQL 16+): logical decoding works here, but slots can be "
                    "invalidated by recovery conflicts, publications must be created on the primary, and the "
                    "primary must run with wal_level=logical (not visible from here: check it on the primary).",
            remediation=Remediation(steps=[
                "Prefer the primary for CDC; if you stay on the standby, keep hot_standby_feedback=on and a physical "
                "slot from the standby to the primary.",
                "The standby is read-only: CREATE PUBLICATION, GRANT / ALTER ROLE and ALTER TABLE run on the "
                "primary (the script's steps say which), and wal_level = logical must be set there too.",
                f"If creating the slot on the standby waits (it needs a running-transactions record from the "
                f"primary, which a quiet primary writes rarely), run on the primary: {STANDBY_SNAPSHOT}"]),
        )]
        feedback = settings.get("hot_standby_feedback")
        if feedback is None or feedback.setting != "on":
            findings.append(Finding(
                code="hot_standby_feedback_off", severity=Severity.ERROR, object="hot_standby_feedback",
                observed=feedback.setting if feedback else None, expected="on",
                message="hot_standby_feedback is off: the primary may remove catalog rows the standby's logical "
                        "slots still need, invalidating them.",
                remediation=change_setting(ctx.provider, "hot_standby_feedback", "on", feedback),
            ))
        return Outcome(findings, "standby (16+): logical decoding possible with care")


def _read_write_sql(source: str, database: str, role: str) -> list[Statement]:
    if source == "database":
        return [Sql(sql.SQL("ALTER DATABASE {} SET default_transaction_read_only = off;").format(sql.Identifier(database)))]
    if source in ("user", "database user"):
        return [Sql(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = off;").format(sql.Identifier(role)))]
    return []


def _read_write_fix(statements: list[Statement], source: str, provider: Provider, setting: SettingRow | None) -> Remediation:
    """The database's or role's own setting, else the server setting the provider's way."""
    if statements:
        return Remediation(sql=statements)
    if source == "configuration file":
        return change_setting(provider, "default_transaction_read_only", "off", setting)
    return Remediation(steps=["Turn default_transaction_read_only off where it is set (configuration file or "
                              "provider parameter)."])
