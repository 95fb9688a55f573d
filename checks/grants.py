"""Can the CDC role log in, replicate, connect, and read every table it receives, with connections to spare?

The tables it receives are the selection plus whatever the consumer's existing publication publishes
outside it (FOR ALL TABLES, FOR TABLES IN SCHEMA): the initial copy reads every one of them. Judged for ``current_user`` or for ``--role`` (a DBA auditing the CDC role as an admin). Privileges
come from ``has_*_privilege`` / ``pg_has_role``, which see group grants, PUBLIC and
``pg_read_all_data``; the replication path is proven by the ``replication_probe`` (skipped with ``--role``).
"""

from __future__ import annotations

from collections import defaultdict

from preflight.check import Check, CheckContext, Outcome
from preflight.checks import grants_hba, grants_headroom, grants_sql
from preflight.checks.grants_hba import hba_findings
from preflight.checks.grants_headroom import limit_findings, server_headroom
from preflight.checks.table_keys import kept
from preflight.codes import Code, declare
from preflight.facts import (
    HBA_RULES,
    PUBLISHED_TABLES,
    REPLICATION_PROBE,
    ROLE,
    SCHEMAS,
    SETTINGS,
    TABLES,
    ProbeStatus,
    ReplicationProbeResult,
    RoleFact,
    SchemaRow,
    TableRow,
)
from preflight.facts.spelling import NAMES_NEARBY
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.provider_detection import Provider
from preflight.relations import publishable_rows
from preflight.remediation import grant_replication
from preflight.suggest import hinted, near_schemas

CODES = declare(
    Code("role_not_found", Severity.ERROR, "the role given with --role does not exist",
         explain="Fix the role name (case-sensitive) or create the consumer's role."),
    Code("no_login", Severity.ERROR, "the consumer's role cannot log in (NOLOGIN)",
         explain="ALTER ROLE ... LOGIN."),
    Code("no_connect", Severity.ERROR, "the consumer's role has no CONNECT privilege on the database",
         explain="GRANT CONNECT ON DATABASE ... TO the role."),
    Code("no_replication", Severity.ERROR, "the consumer's role may not open replication connections",
         explain="ALTER ROLE ... REPLICATION, or the provider's way of granting it (rds_replication, flags, ...)."),
    Code("schema_missing", Severity.ERROR, "a selected schema does not exist in this database",
         explain="Fix the schema name (case-sensitive) in the selection."),
    Code("no_schema_usage", Severity.ERROR, "the consumer's role has no USAGE on a schema it must read",
         explain="GRANT USAGE ON SCHEMA ... TO the role."),
    Code("no_select", Severity.ERROR, "the consumer's role cannot SELECT a selected table: its initial copy fails",
         explain="GRANT SELECT on the table (or on all tables in its schema) TO the role."),
    Code("no_select_more", Severity.ERROR, "more tables the role cannot SELECT than the report lists one by one",
         explain="GRANT SELECT ON ALL TABLES IN SCHEMA ... TO the role."),
    Code("replication_probe_error", Severity.ERROR, "the replication connection probe could not run",
         explain="Read the probe's error; re-run once the cause (timeouts, permissions) is fixed."),
    Code("replication_not_proven", Severity.INFO, "no replication connection was tried: only the catalog was read",
         explain="Run without --role (the probe connects as the DSN's user) to prove the replication path."),
    Code("replication_connection_ok", Severity.INFO, "a replication=database connection was accepted",
         explain="Nothing to do."),
    Code("replication_connection_failed", Severity.ERROR, "the replication=database connection was refused",
         explain="Fix what the server said: pg_hba.conf's replication lines, the REPLICATION attribute, walsenders."),
    grants_hba.CODES,
    grants_headroom.CODES,
)

FEW_TABLES = 5  # up to this many tables missing SELECT in a schema get one GRANT each
MAX_TABLE_FINDINGS = 100  # per schema; the rest are counted in one finding
ADMIN = "a superuser or, on managed services, the provider's admin role"


class Grants(Check):
    id = "grants"
    report_order = 80
    title = "Privileges of the CDC role"
    facts = (ROLE, SCHEMAS, TABLES, SETTINGS)
    optional_facts = (REPLICATION_PROBE, HBA_RULES, PUBLISHED_TABLES, NAMES_NEARBY)  # the last for "did you mean"
    why = (
        "The consumer logs in, opens a replication connection (REPLICATION attribute, or the provider's "
        "replication role), connects to the database, and reads every published table for its initial "
        "snapshot (USAGE on the schema, SELECT on the table). Any one missing fails the connector at setup."
    )
    remediation = "Run the printed GRANT / ALTER ROLE statements as a superuser, the provider's admin role or the owners."

    def run(self, ctx: CheckContext) -> Outcome:
        role = ctx.fact(ROLE)
        name = role.rolname
        if not role.exists:
            return Outcome([Finding(
                code="role_not_found", severity=Severity.ERROR, object=name, observed="absent", expected="a role",
                message=f"The role {name!r} given with --role does not exist on this server (role names are "
                        "case-sensitive).",
                remediation=Remediation(steps=["Check the spelling and case of --role, or create the role first."]),
            )], f"role {name} does not exist")
        probe = ctx.optional_fact(REPLICATION_PROBE)
        probe_failure = ctx.failure(REPLICATION_PROBE)
        findings = _attributes(role, probe, ctx.provider)
        findings += _schemas(name, ctx.fact(SCHEMAS), near_schemas(ctx.optional_fact(NAMES_NEARBY)))
        received = kept([*ctx.fact(TABLES), *(ctx.optional_fact(PUBLISHED_TABLES) or [])],  # the publication's reach too
                        ctx.options.decisions)  # but not what the decisions exclude
        tables = publishable_rows(received, ctx.version_num)
        opts = ctx.options
        whole = None if not opts.schemas and not opts.tables else set(opts.schemas)
        findings += _outside_schemas(name, ctx.fact(SCHEMAS), tables)
        findings += _selects(name, tables, whole)
        findings += _probe(role, probe, probe_failure, ctx.provider)
        findings = hba_findings(ctx.optional_fact(HBA_RULES), findings)  # --role: pg_hba.conf instead of "not proven"
        headroom, headroom_summary = server_headroom(role, ctx.settings(), ctx.version_num, ctx.provider)
        consumer = ctx.profile.consumer
        findings += headroom + limit_findings(role, consumer.connections_needed, f"a {consumer.kind} consumer",
                                              probe.backend_pid if probe else None)
        readable = sum(1 for t in tables if t.can_select)
        summary = (f"role {name}: {_replication_source(role, probe) or 'no REPLICATION'}; "
                   f"SELECT on {readable}/{len(tables)} tables; {_probe_words(probe, probe_failure)}; "
                   f"{headroom_summary}")
        return Outcome(findings, summary)


def _replication_source(role: RoleFact, probe: ReplicationProbeResult | None) -> str | None:
    """Why the role may replicate, or None: the probe's proof outranks the catalog's hints."""
    if role.rolsuper:
        return "superuser"
    if role.rolreplication:
        return "REPLICATION attribute"
    if role.replication_via:
        return "member of " + ", ".join(role.replication_via)
    if probe and probe.status is ProbeStatus.OK:
        return "replication connection accepted"
    return None


def _attributes(role: RoleFact, probe: ReplicationProbeResult | None, provider: Provider) -> list[Finding]:
    name, database = role.rolname, role.database
    out: list[Finding] = []
    if not role.rolcanlogin:
        out.append(Finding(
            code="no_login", severity=Severity.ERROR, object=name, observed="NOLOGIN", expected="LOGIN",
            message=f"Role {name} cannot log in (NOLOGIN): the consumer could not connect as it.",
            remediation=Remediation(sql=[grants_sql.alter_role(name, "LOGIN")], steps=[f"Run as {ADMIN}."]),
        ))
    if _replication_source(role, probe) is None:
        out.append(_no_replication(role, provider, probe))
    if role.can_connect is False:
        out.append(Finding(
            code="no_connect", severity=Severity.ERROR, object=database, observed="no CONNECT", expected="CONNECT",
            message=f"Role {name} has no CONNECT privilege on database {database} (neither directly, through a "
                    "group role, nor through PUBLIC).",
            remediation=Remediation(sql=[grants_sql.grant_connect(database, name)],
                                    steps=["Run as the database owner or a superuser."]),
        ))
    return out


def _no_replication(role: RoleFact, provider: Provider, probe: ReplicationProbeResult | None) -> Finding:
    """The missing attribute, confirmed in the same finding when the replication connection was refused for it."""
    name = role.rolname
    message = f"Role {name} is not a superuser and has no REPLICATION attribute"
    if role.provider_roles:
        message += f" and is not a member of {', '.join(role.provider_roles)}"
    message += ": it cannot open a replication connection nor create a replication slot."
    if role.replication_groups:
        message += (f" Its group role(s) {', '.join(role.replication_groups)} have REPLICATION, but role "
                    "attributes are not inherited by members.")
    if probe is not None and _refused_for_privilege(probe):
        message += f" Confirmed by a replication connection: {_probe_said(probe)}"
    return Finding(code="no_replication", severity=Severity.ERROR, object=name, observed="NOREPLICATION",
                   expected="REPLICATION", message=message,
                   remediation=grant_replication(provider, name, role.provider_roles or []))


def _schemas(name: str, schemas: list[SchemaRow], nearby: list[str]) -> list[Finding]:
    """USAGE on each selected schema; a missing one says which existing schema it may have meant (``nearby``)."""
    out: list[Finding] = []
    for schema in schemas:
        obj = format_name(schema.name)
        if not schema.exists:
            out.append(Finding(
                code="schema_missing", severity=Severity.ERROR, object=obj, observed="absent", expected="exists",
                message=hinted(f"The selected schema {obj} does not exist in this database (names are "
                               "case-sensitive).", obj, nearby),
                remediation=Remediation(steps=["Fix the --schema / --table selection, or create the schema."]),
            ))
        elif not schema.can_use:
            out.append(Finding(
                code="no_schema_usage", severity=Severity.ERROR, object=obj, observed="no USAGE", expected="USAGE",
                message=f"Role {name} has no USAGE on schema {obj}: it cannot read any table in it.",
                remediation=Remediation(sql=[grants_sql.grant_usage(schema.name, name)],
                                        steps=[f"Run as the schema owner ({schema.owner}) or a superuser."]),
            ))
    return out


def _outside_schemas(name: str, schemas: list[SchemaRow], tables: list[TableRow]) -> list[Finding]:
    """USAGE on the schemas of published tables outside the selection (the selected ones are judged above)."""
    judged = {s.name for s in schemas}
    missing = sorted({t.schema for t in tables if t.can_use_schema is False and t.schema not in judged})
    return [Finding(
        code="no_schema_usage", severity=Severity.ERROR, object=format_name(schema), observed="no USAGE",
        expected="USAGE",
        message=f"Role {name} has no USAGE on schema {format_name(schema)}, whose tables the consumer's publication "
                "publishes: the initial copy cannot read them.",
        remediation=Remediation(sql=[grants_sql.grant_usage(schema, name)],
                                steps=["Run as the schema owner or a superuser."]),
    ) for schema in missing]


def _selects(name: str, tables: list[TableRow], whole: set[str] | None) -> list[Finding]:
    """One finding per table missing SELECT; the schema-wide GRANT when many in a schema miss it.

    ``whole``: the schemas selected entirely (None: all of them, the default selection). A schema only
    some of whose tables were named with -t gets a GRANT per named table and no default privileges:
    nothing wider than the selection.
    """
    by_schema: dict[str, list[TableRow]] = defaultdict(list)
    for table in tables:
        by_schema[table.schema].append(table)
    out: list[Finding] = []
    for schema, members in sorted(by_schema.items()):
        missing = [t for t in members if not t.can_select]
        if not missing:
            continue
        owners = sorted({t.owner for t in members})
        entire = whole is None or schema in whole
        many = entire and (len(missing) > FEW_TABLES or (len(missing) == len(members) and len(missing) > 1))
        later = [grants_sql.default_select(owner, schema, name) for owner in owners] if entire else []
        steps = [f"Run the GRANT as the owner of the tables ({', '.join(owners)}) or a superuser."]
        if entire:
            steps.append(
                # The same words for every schema and table, so that a report states them once: the
                # statements themselves name the schema and each owner.
                "ALTER DEFAULT PRIVILEGES FOR ROLE <owner> covers only the tables that role creates later in "
                "that schema: run one per role that creates tables there, as that role or a superuser. Without "
                "FOR ROLE it would apply only to tables created by the role that runs it.")
        for table in missing[:MAX_TABLE_FINDINGS]:
            obj = format_name(schema, table.name)
            grant = (grants_sql.grant_select_schema(schema, name) if many
                     else grants_sql.grant_select_table(schema, table.name, name))
            out.append(Finding(
                code="no_select", severity=Severity.ERROR, object=obj, observed="no SELECT", expected="SELECT",
                message=f"Role {name} cannot SELECT {obj} (owner {table.owner}): its initial snapshot would fail.",
                remediation=Remediation(sql=[grant, *later], steps=[*steps]),
            ))
        if len(missing) > MAX_TABLE_FINDINGS:
            out.append(Finding(
                code="no_select_more", severity=Severity.ERROR, object=format_name(schema),
                observed=f"{len(missing)} tables without SELECT", count=len(missing),
                expected="SELECT on every table",
                message=f"... and {len(missing) - MAX_TABLE_FINDINGS} more tables in {format_name(schema)} that "
                        f"role {name} cannot SELECT.",
                remediation=Remediation(sql=[grants_sql.grant_select_schema(schema, name), *later] if entire else
                                        [grants_sql.grant_select_table(schema, t.name, name)
                                         for t in missing[MAX_TABLE_FINDINGS:]], steps=[*steps]),
            ))
    return out


def _refused_for_privilege(probe: ReplicationProbeResult) -> bool:
    return probe.status is ProbeStatus.FAILED and probe.kind == "no_replication_privilege"


def _probe_said(probe: ReplicationProbeResult) -> str:
    return f"{probe.message}. Server said: {probe.detail}"


def _probe(role: RoleFact, probe: ReplicationProbeResult | None, failure: str | None,
           provider: Provider) -> list[Finding]:
    """The replication connection: proven, skipped (--role), or failed with its cause and fix (a refusal for the
    missing REPLICATION attribute is said by the ``no_replication`` finding already)."""
    if probe is None:
        if failure:
            return [Finding(code="replication_probe_error", severity=Severity.ERROR, object=role.rolname,
                            message=f"The replication connection probe could not run: {failure}")]
        return [Finding(code="replication_not_proven", severity=Severity.INFO, object=role.rolname,
                        message="The replication connection was not probed (no probe result in this snapshot).")]
    status = probe.status
    if status is ProbeStatus.SKIPPED:
        return [Finding(
            code="replication_not_proven", severity=Severity.INFO, object=role.rolname,
            message=f"Replication connection not probed: {probe.reason}. The catalog says what the role "
                    "may do; pg_hba.conf and poolers are proven only by connecting as it.",
            remediation=Remediation(steps=["Re-run pg-preflight with the CDC role's own DSN to prove the path."]),
        )]
    if status is ProbeStatus.OK:
        return [Finding(
            code="replication_connection_ok", severity=Severity.INFO, object=role.rolname,
            message=f"A replication=database connection was accepted; IDENTIFY_SYSTEM: system id "
                    f"{probe.systemid}, timeline {probe.timeline}, WAL position {probe.xlogpos}, "
                    f"database {probe.dbname}.",
        )]
    if _refused_for_privilege(probe) and _replication_source(role, probe) is None:
        return []
    said = _probe_said(probe)
    grant = grant_replication(provider, role.rolname, role.provider_roles or [])
    sql = grant.sql if probe.kind == "no_replication_privilege" else []
    return [Finding(
        code="replication_connection_failed", severity=Severity.ERROR, object=role.rolname,
        observed=str(probe.kind), expected="IDENTIFY_SYSTEM answered",
        message=f"The replication connection (same DSN with replication=database) failed: {said}",
        remediation=Remediation(sql=sql, steps=[str(probe.advice), *(grant.steps if sql else [])]),
    )]


def _probe_words(probe: ReplicationProbeResult | None, failure: str | None) -> str:
    if probe is None:
        return "replication probe error" if failure else "replication not probed"
    return {ProbeStatus.OK: "replication connection proven", ProbeStatus.SKIPPED: "replication not probed (--role)"}.get(
        probe.status, f"replication connection failed ({probe.kind})")
