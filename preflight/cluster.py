"""``--all-databases``: every connectable, non-template database of the cluster in one report.

The same pipeline as a single-database run (``runner``), with a database as its unit. The DSN's own
session reads every fact once, plus the list of databases. Each other database the checker may CONNECT
to gets its own bounded read-only session (the DSN with only ``dbname`` replaced: every other parameter,
secrets included, is kept and never shown), a few at a time, reading the facts whose scope is
``database`` (``facts.base.Scope``), probes included. A check that needs a database-scoped fact runs per
database, on the cluster's facts with that database's own over them: the body a run pointed at that
database alone builds. The others run once. A database-scoped fact the same in every database but for a
mark of the current one (``SqlFact.for_database``) is the main session's, marked per database; one that holds
only where the sessions start with the same settings (``same_settings``) is read in a database with settings
of its own. A database the checker may not enter, or cannot reach, is a section saying so. ``runner.assemble`` then makes the report, as it does for one database.

Slot capacity is judged for the whole plan: ``--slots-needed`` and ``--senders-needed`` count per
database (a logical slot belongs to one database, so a consumer of every database needs one each);
the cluster-wide check asks for that many times the databases checked that have a table to publish.
``--database`` / ``--exclude-database`` choose the databases by name (shell patterns), and a decisions
file's ``databases`` section gives one database decisions of its own (``Options.in_database``).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from fnmatch import fnmatchcase
from typing import Any

from psycopg.conninfo import make_conninfo

from preflight.check import Check
from preflight.codes import ACCESS_CODES
from preflight.connection import Dsn, parse_dsn
from preflight.facts import (
    DATABASES,
    PROVIDER_SIGNALS,
    SERVER,
    TABLES,
    DatabaseRow,
    Fact,
    Scope,
    Snapshot,
    SqlFact,
)
from preflight.facts.databases import judges_one_database
from preflight.facts.gather import BatchTexts
from preflight.models import (
    CheckResult,
    CheckStatus,
    DatabaseReport,
    DatabaseStatus,
    Finding,
    Remediation,
    Report,
    Severity,
    TableEntry,
    status_from_findings,
    summarize,
)
from preflight.options import Options, apply_profile
from preflight.registry import declared_facts
from preflight.relations import is_publishable
from preflight.runner import (
    assemble,
    database_of,
    execute_checks,
    run_checks,
    section_verdict,
    selected_checks,
    take_snapshot,
    take_snapshot_on_walsender,
)
from preflight.statements import Grant, Statement
from preflight.suggest import did_you_mean

MAX_SESSIONS = 4  # database sessions open at once, besides the cluster's own
ACCESS_CHECK = ("database_access", "The checker can connect to the database")


def database_dsn(dsn: Dsn, dbname: str) -> Dsn:
    """The same connection with another database: libpq's own conninfo writer quotes the name, so a name
    holding ``=`` or a quote stays a name."""
    return parse_dsn(make_conninfo(dsn.raw or "", dbname=dbname))


def run_all_databases(options: Options) -> Report:
    """The cluster-wide checks once, the database-scoped ones per database. Raises like ``run_preflight``."""
    dsn = parse_dsn(options.dsn)
    resolved = apply_profile(options)
    checks, broken = selected_checks(resolved)
    per_database = [c for c in checks if judges_one_database(c.facts)]
    cluster_wide = [c for c in checks if c not in per_database]
    wanted = [*declared_facts(checks).values(), SERVER, PROVIDER_SIGNALS]
    main = take_snapshot(dsn, resolved, [*wanted, DATABASES])
    if not main.connect.ok:
        return run_checks(main, options, dsn)  # the single-database report explains the connection failure
    listed: list[DatabaseRow] = main.facts.get(DATABASES.name) or []
    rows = [r for r in listed if chosen(r.datname, options)]
    # Each database reads the facts of its checks whose rows depend on it (SERVER and PROVIDER_SIGNALS too: the
    # report's target and every check's provider); what is the cluster's comes from the DSN's session.
    own = [*declared_facts(per_database).values(), SERVER, PROVIDER_SIGNALS]
    database_scoped = list({f.name: f for f in own if f.scope is Scope.DATABASE}.values())
    # Rows the same in every database but for the current one's mark (some only where the sessions start with
    # the same settings): the main session's, marked per database (``_database``).
    marked = [f for f in database_scoped if isinstance(f, SqlFact) and f.for_database is not None
              and f.name in main.facts]
    reachable = [r for r in rows if r.can_connect]
    here = database_of(main)
    home = next((r for r in listed if r.datname == here), None)

    def own_facts(row: DatabaseRow) -> list[Fact]:
        """What ``row``'s session reads: the unmarked facts, and those marked only for databases whose sessions
        start as the main session's (``same_settings``) when this one's do not."""
        shared = home is not None and row.same_settings(home)
        by_mark = {f.name for f in marked if not f.same_settings or shared}
        return [f for f in database_scoped if f.name not in by_mark]

    others = [r for r in reachable if r.datname != here]  # the DSN's own database was read by the main session
    texts: BatchTexts = {}  # the per-database batch, rendered once: the same statements in every database
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_SESSIONS, len(others)))) as pool:
        read = pool.map(lambda r: _database_snapshot(dsn, resolved, r.datname, own_facts(r), texts), others)
        snapshots = {r.datname: s for r, s in zip(others, read, strict=True)}
    snapshots.update({r.datname: main for r in reachable if r.datname == here})
    plan = _plan(resolved, options, max(sum(_consumes(snapshots.get(r.datname)) for r in reachable), 1))
    cluster_results, _ = execute_checks(cluster_wide, main, plan)
    databases = [_database(row, snapshots.get(row.datname), main, per_database, resolved, cluster_results, marked)
                 for row in rows]
    notes = [_unmatched(pattern, [r.datname for r in listed]) for pattern in options.databases
             if listed and not any(fnmatchcase(r.datname, pattern) for r in listed)]
    if main.failures.get(DATABASES.name):
        notes.append(_access_result(Severity.ERROR, "databases_unlisted", None,
                                    f"could not list the databases: {main.failures[DATABASES.name]}"))
    view = {**plan.report_view(), "slots_needed_per_database": resolved.slots_needed,
            "senders_needed_per_database": resolved.senders_needed}
    return assemble(dsn, main, options, view, list(cluster_results.values()), broken, [], databases, notes)


def chosen(dbname: str, options: Options) -> bool:
    """``--database`` / ``--exclude-database``: shell patterns on the name, case-sensitive like the name."""
    if options.databases and not any(fnmatchcase(dbname, p) for p in options.databases):
        return False
    return not any(fnmatchcase(dbname, p) for p in options.exclude_databases)


def _consumes(snapshot: Snapshot | None) -> bool:
    """Whether a consumer of this database needs a slot: a selected table a publication can carry, or the
    tables were not read."""
    if snapshot is None or not snapshot.connect.ok:
        return True  # not checked: it may well need one
    tables = snapshot.facts.get(TABLES.name)
    version = snapshot.server.version_num if snapshot.server else 0
    return tables is None or any(is_publishable(t, version) for t in tables)


def _unmatched(pattern: str, names: list[str]) -> CheckResult:
    return _access_result(Severity.WARNING, "database_pattern_unmatched", pattern,
                          f"--database {pattern!r} matches no database of the cluster{did_you_mean(pattern, names)}: "
                          "nothing was checked for it.")


def _database_snapshot(dsn: Dsn, options: Options, dbname: str, facts: list[Fact], texts: BatchTexts) -> Snapshot:
    """One database's own facts, read as a run pointed at it would read them (probes connect to it too)."""
    there = database_dsn(dsn, dbname)
    return take_snapshot_on_walsender(there, options.model_copy(update={"dsn": there.raw}), facts, texts)


def _plan(resolved: Options, options: Options, databases: int) -> Options:
    """The options the cluster-wide checks judge: slots and walsenders for every database checked."""
    plan = resolved.model_copy(update={"slots_needed": resolved.slots_needed * databases,
                                       "senders_needed": resolved.senders_needed * databases})
    explicit = set(options.model_fields_set)
    plan.__pydantic_fields_set__ = explicit  # a profile's default stays marked as the profile's
    return plan


def _database(row: DatabaseRow, snapshot: Snapshot | None, main: Snapshot, checks: list[type[Check]],
              options: Options, cluster: dict[str, CheckResult], marked: list[SqlFact[Any]]) -> DatabaseReport:
    if not row.can_connect or snapshot is None:
        user = main.server.user if main.server else None
        grant: list[Statement] = [Grant(user, "CONNECT", on="DATABASE", object=row.datname)] if user else []
        result = _access_result(Severity.WARNING, "no_connect_privilege", row.datname,
                                f"The checking role has no CONNECT privilege on database {row.datname!r}: it was not "
                                "checked, and a consumer logging in as this role cannot replicate it. GRANT CONNECT "
                                "to check and replicate it, or leave it out of the plan.",
                                Remediation(sql=grant))
        return _section(row.datname, "no_connect_privilege", [result], [])
    if not snapshot.connect.ok:
        result = CheckResult(id=ACCESS_CHECK[0], title=ACCESS_CHECK[1], status=CheckStatus.ERROR,
                             summary=f"could not connect ({snapshot.connect.failure_kind})",
                             error=f"{snapshot.connect.failure_message} {snapshot.connect.advice or ''}".strip())
        return _section(row.datname, "connect_failed", [result], [])
    # The body a run pointed at this database builds for these checks: the cluster's facts, this database's
    # own over them (its read wins over the cluster session's failure of the same fact).
    merged = Snapshot(connect=snapshot.connect, server=snapshot.server,
                      facts={**main.facts, **snapshot.facts}, failures={**main.failures, **snapshot.failures})
    for name in snapshot.facts:
        merged.failures.pop(name, None)
    for fact in marked:  # not read here: the main session's rows, marked for this database
        if fact.for_database is not None and fact.name not in snapshot.facts and fact.name not in snapshot.failures:
            merged.facts[fact.name] = fact.for_database(main.facts[fact.name], row.datname)
    results, tables = execute_checks(checks, merged, options, cluster)
    return _section(row.datname, "checked", list(results.values()), tables)


def _section(dbname: str, status: DatabaseStatus, checks: list[CheckResult], tables: list[TableEntry]) -> DatabaseReport:
    return DatabaseReport(dbname=dbname, status=status, verdict=section_verdict(status, checks),
                          summary=summarize(checks), checks=checks, tables=tables)


def _access_result(severity: Severity, code: str, dbname: str | None, message: str,
                   remediation: Remediation | None = None) -> CheckResult:
    findings = [Finding(code=code, severity=severity, object=dbname, message=message,
                        remediation=remediation or Remediation())]
    ACCESS_CODES.admit(ACCESS_CHECK[0], findings)
    return CheckResult(id=ACCESS_CHECK[0], title=ACCESS_CHECK[1], status=status_from_findings(findings),
                       summary=message.split(":")[0], findings=findings)
