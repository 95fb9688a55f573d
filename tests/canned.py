"""One canned report exercising every part of the formats: golden files are rendered from it."""

from __future__ import annotations

from datetime import UTC, datetime

from psycopg import sql

from preflight.models import (
    CheckResult,
    CheckStatus,
    Finding,
    Remediation,
    Report,
    Severity,
    TableEntry,
    Target,
    ToolInfo,
    summarize,
    verdict,
)
from preflight.statements import RELOAD, Restart, SettingChange, Sql


def canned_report() -> Report:
    checks = [
        CheckResult(id="reachability", title="Server reachable", status=CheckStatus.PASS,
                    summary="PostgreSQL 15.18, connected in 4 ms, no TLS", duration_ms=4.2,
                    findings=[Finding(code="connected", severity=Severity.INFO, message="Connected to PostgreSQL 15.18 in 4 ms")]),
        CheckResult(id="writer_status", title="Writer (primary), not a standby", status=CheckStatus.PASS,
                    summary="primary (writer), read-write"),
        CheckResult(
            id="logical_replication", title="Logical replication settings", status=CheckStatus.FAIL,
            summary="wal_level=replica, max_replication_slots=2",
            findings=[
                Finding(code="wal_level_not_logical", severity=Severity.ERROR, object="wal_level", observed="replica",
                        expected="logical", message="wal_level is 'replica'; logical decoding needs 'logical'.",
                        remediation=Remediation(sql=[SettingChange("wal_level", "logical", restart=True)],
                                                steps=[Restart(".")], requires_restart=True)),
                Finding(code="wal_sender_timeout_disabled", severity=Severity.WARNING, object="wal_sender_timeout",
                        observed="0", expected=">= 10s", message="wal_sender_timeout is 0 (disabled).\n-- not SQL",
                        remediation=Remediation(sql=[SettingChange("wal_sender_timeout", 60, "s"), RELOAD])),
            ],
        ),
        CheckResult(
            id="existing_slots", title="Existing slots", status=CheckStatus.WARN, summary="1 stale slot",
            findings=[Finding(code="slot_inactive", severity=Severity.WARNING, object="old_cdc",
                              message="Slot old_cdc is inactive and retains 1.2GB of WAL.",
                              remediation=Remediation(sql=[Sql(sql.SQL("SELECT pg_catalog.pg_drop_replication_slot({});").format(
                                  sql.Literal("old_cdc")))],
                                                      destructive=True))],
        ),
        CheckResult(id="grants", title="Privileges", status=CheckStatus.ERROR, summary="could not read tables",
                    error="needed fact 'tables' could not be gathered: 55P03: canceling statement due to lock timeout"),
        CheckResult(id="publication", title="Publication", status=CheckStatus.SKIP, summary="skipped",
                    skip_reason="requires grants, which was skipped"),
    ]
    tables = [
        TableEntry(schema="public", name="orders", kind="table", persistence="permanent", has_primary_key=True,
                   replica_identity="default", status="ok", size_bytes=8192),
        TableEntry(schema="Sales EU", name='a"b; DROP', kind="table", persistence="permanent", has_primary_key=False,
                   replica_identity="default", candidate_index="ab_key", status="needs_decision", size_bytes=0),
    ]
    return Report(
        tool=ToolInfo(version="0.1.0"),
        generated_at=datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC),
        target=Target(dsn="postgresql://cdc:***@db.example.com:5432/app", host="db.example.com", port=5432, dbname="app",
                      user="cdc", server_version="15.18", server_version_num=150018, provider=None, in_recovery=False),
        options={"schemas": ["public"], "tables": [], "plugin": "pgoutput", "slot_name": None, "publication": None,
                 "profile": "generic"},
        status=verdict(checks), summary=summarize(checks), checks=checks, tables=tables,
    )
