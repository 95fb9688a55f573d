"""facts -> checks -> Report. Never prints. Every selected check yields exactly one result.

One pipeline for one database and for a cluster (``preflight.cluster``): ``execute_checks`` builds a
database's body (its checks' results and its tables) and ``assemble`` turns bodies into a report: the
standby's statements routed to the primary, secrets scrubbed, waivers applied, verdicts and summaries. A
single-database run is the one-database case: every selected check in one body, no ``databases``.
"""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import psycopg

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import UndeclaredCode
from preflight.connection import Dsn, classify, open_session, parse_dsn, scrub
from preflight.connection.session import tolerate_undecodable_text
from preflight.facts import (
    HBA_RULES,
    PROVIDER_SIGNALS,
    REPLICATION_PROBE,
    SERVER,
    ConnectOutcome,
    Fact,
    FactContext,
    FactUnavailable,
    ProbeFact,
    ServerFact,
    ServerInfo,
    Snapshot,
    SqlFact,
)
from preflight.facts.alongside import ProbesAlongside
from preflight.facts.gather import BatchTexts, gather, gather_probes, gather_simple
from preflight.facts.replication_probe import prove_replication
from preflight.models import (
    CheckResult,
    CheckStatus,
    DatabaseReport,
    DatabaseStatus,
    Report,
    TableEntry,
    Target,
    ToolInfo,
    Verdict,
    status_from_findings,
    summarize,
    verdict,
)
from preflight.options import Options, apply_profile
from preflight.provider_detection import resolve
from preflight.registry import BrokenPlugin, all_checks, codes_of, declared_facts, select
from preflight.standby import route_to_primary
from preflight.waivers import apply_waivers


def tool_version() -> str:
    try:
        return version("pg-preflight")
    except PackageNotFoundError:
        return "0+unknown"


def selected_checks(options: Options) -> tuple[list[type[Check]], list[BrokenPlugin]]:
    """The checks this run executes, in dependency order, and plugins that failed to load."""
    checks, broken = all_checks()
    return select(checks, options.checks, options.skip), [b for b in broken if not options.checks or b.id in options.checks]


def take_snapshot(dsn: Dsn, options: Options, facts_to_read: list[Fact]) -> Snapshot:
    """Connect (timed, classified), then gather the facts in one pipeline. Never raises for I/O.

    The replication-path proof connects on its own thread meanwhile (see ``facts.alongside``).
    """
    secrets = dsn.secrets()
    to_read = sorted({f.name: f for f in facts_to_read}.values(), key=lambda f: f.name)
    alongside = ProbesAlongside([f for f in to_read if isinstance(f, ProbeFact)], dsn, options).start()
    started = time.perf_counter()
    try:
        conn = open_session(dsn, options.connect_timeout, options.statement_timeout, options.lock_timeout)
    except (psycopg.Error, OSError) as exc:
        failure = classify(exc, secrets, dsn)
        alongside.finish()  # wait for the proof to close its connection; without a session it is not reported
        return Snapshot(connect=ConnectOutcome(ok=False, failure_kind=failure.kind, failure_message=failure.message,
                                               advice=failure.advice, detail=failure.detail))
    latency = (time.perf_counter() - started) * 1000
    try:
        server = server_info(conn)
        here = [f for f in to_read if f.name not in alongside.names]
        facts, failures = gather(conn, here, FactContext(server.version_num, options), secrets)
    finally:
        conn.close()
    more, more_failures = alongside.finish()
    facts.update(more)
    failures.update(more_failures)
    return Snapshot(connect=ConnectOutcome(ok=True, latency_ms=round(latency, 1)), server=server, facts=facts,
                    failures=failures)


def server_info(conn: psycopg.Connection[Any]) -> ServerInfo:
    """What the connection itself told us, before any query."""
    info = conn.info
    return ServerInfo(
        version_num=info.server_version, version=info.parameter_status("server_version") or str(info.server_version),
        host=info.host, port=int(info.port) if info.port else None, dbname=info.dbname, user=info.user,
        ssl=bool(info.pgconn.ssl_in_use),
    )


# Probes that may ride on the replication proof's connection: they do not touch it without --role, and a
# run with --role proves no replication path (see ``take_snapshot_on_walsender``).
WALSENDER_PROBES = frozenset({REPLICATION_PROBE.name, HBA_RULES.name})


def take_snapshot_on_walsender(dsn: Dsn, options: Options, facts_to_read: list[Fact],
                               texts: BatchTexts | None = None) -> Snapshot:
    """``take_snapshot`` on one backend instead of two, for ``--all-databases``' per-database reads.

    The replication proof's ``replication=database`` connection, once IDENTIFY_SYSTEM answered, reads the
    catalog facts too: a walsender of a database runs SQL in the simple query protocol, so every statement
    goes in one query string (``gather_simple``: one read-only transaction, rolled back; the same statements,
    session settings and timeouts as the catalog session). The facts are the catalog session's: same
    database, role and settings; the walsender is counted once among the connections, as the catalog session
    is (the proof reports no pid of its own: ``RoleFact.connections_without`` has nothing to leave out). When the
    proof fails (no REPLICATION, pg_hba, no walsender free) the failure is the fact, and an ordinary session
    reads the rest; with ``--role``, follow-ups, or a probe that needs the catalog connection: ``take_snapshot``.
    ``options.dsn`` is ``dsn``'s text; ``texts``: the batches rendered already in this run (``gather_simple``).
    """
    names = {f.name for f in facts_to_read}
    sql_facts = sorted({f.name: f for f in facts_to_read if isinstance(f, SqlFact)}.values(), key=lambda f: f.name)
    probes = sorted({f.name: f for f in facts_to_read if isinstance(f, ProbeFact)}.values(), key=lambda f: f.name)
    if (REPLICATION_PROBE.name not in names or options.role or any(f.follow is not None for f in sql_facts)
            or any(p.name not in WALSENDER_PROBES for p in probes)):
        return take_snapshot(dsn, options, facts_to_read)
    started = time.perf_counter()
    conn, proof = prove_replication(options.dsn, options.connect_timeout, options.statement_timeout,
                                    options.lock_timeout, parsed=dsn)
    if conn is None:  # the proof failed: that is the fact; an ordinary session reads the rest
        rest = take_snapshot(dsn, options, [f for f in facts_to_read if f.name != REPLICATION_PROBE.name])
        if rest.connect.ok:
            rest.facts[REPLICATION_PROBE.name] = proof
        return rest
    latency = (time.perf_counter() - started) * 1000
    secrets = dsn.secrets()
    try:
        tolerate_undecodable_text(conn)
        server = server_info(conn)
        ctx = FactContext(server.version_num, options)
        facts, failures = gather_simple(conn, sql_facts, ctx, secrets, texts)
        others = [p for p in probes if p.name != REPLICATION_PROBE.name]
        more, more_failures = gather_probes(conn, others, ctx, secrets)
    finally:
        conn.close()
    facts.update(more)
    failures.update(more_failures)
    facts[REPLICATION_PROBE.name] = dataclasses.replace(proof, backend_pid=None)
    return Snapshot(connect=ConnectOutcome(ok=True, latency_ms=round(latency, 1)), server=server, facts=facts,
                    failures=failures)


def _run_one(check: Check, ctx: CheckContext) -> tuple[CheckResult, list[TableEntry] | None]:
    started = time.perf_counter()
    base = {"id": check.id, "title": check.title}
    tables: list[TableEntry] | None = None
    try:
        outcome = check.run(ctx)
        if not isinstance(outcome, Outcome):
            outcome = Outcome(list(outcome))
        codes_of(type(check)).admit(check.id, outcome.findings)  # a code is API: only declared ones leave a check
        tables = outcome.tables
        result = CheckResult(**base, status=status_from_findings(outcome.findings), summary=outcome.summary,
                             findings=outcome.findings)
    except FactUnavailable as exc:
        result = CheckResult(**base, status=CheckStatus.ERROR, summary=f"could not read {exc.name}",
                             error=f"needed fact '{exc.name}' could not be gathered: {exc.cause}")
    except UndeclaredCode as exc:
        result = CheckResult(**base, status=CheckStatus.ERROR, summary="the check produced an undeclared finding",
                             error=str(exc))
    except Exception as exc:  # one check's bug must not take the report down
        result = CheckResult(**base, status=CheckStatus.ERROR, summary="the check crashed",
                             error=f"{type(exc).__name__}: {exc}")
    result.duration_ms = round((time.perf_counter() - started) * 1000, 2)
    return result, tables


def run_checks(snapshot: Snapshot, options: Options, dsn: Dsn | None = None) -> Report:
    """Run the selected checks on a snapshot (live or saved). Pure: no I/O."""
    dsn = dsn or parse_dsn(options.dsn)
    resolved = apply_profile(options)
    checks, broken = selected_checks(resolved)
    results, tables = execute_checks(checks, snapshot, resolved)
    return assemble(dsn, snapshot, resolved, resolved.report_view(), list(results.values()), broken, tables)


def assemble(dsn: Dsn, snapshot: Snapshot, options: Options, report_options: dict[str, Any],
             checks: list[CheckResult], broken: list[BrokenPlugin], tables: list[TableEntry],
             databases: list[DatabaseReport] | None = None, notes: list[CheckResult] | None = None) -> Report:
    """The report of one body (``checks``, ``tables``), or of a cluster's checks plus its ``databases``.

    ``snapshot`` is the DSN's own (the report's target; a standby is a standby in every database).
    ``notes`` are results added after the waivers (the run's own remarks, such as an unlisted database).
    """
    ordered = checks + [
        CheckResult(id=b.id, title=b.title, status=CheckStatus.ERROR, summary="plugin failed to load", error=b.error)
        for b in broken
    ]
    everything = ordered + [c for db in databases or [] for c in db.checks]
    server = snapshot.facts.get(SERVER.name)
    if server is not None and server.in_recovery:  # a standby: what it refuses is said to run on the primary
        route_to_primary(everything)
    scrub_results(everything, dsn)
    waivers = apply_waivers(everything, options.waivers, date.today())
    for db in databases or []:  # waived findings may change a database's verdict
        db.verdict, db.summary = section_verdict(db.status, db.checks), summarize(db.checks)
    ordered += notes or []
    counted = ordered + [c for db in databases or [] for c in db.checks]
    return Report(
        tool=ToolInfo(version=tool_version()),
        generated_at=datetime.now(UTC),
        target=target_of(dsn, snapshot, options),
        options=report_options,
        status=verdict(counted),
        summary=summarize(counted),
        checks=ordered,
        tables=tables,
        waivers=waivers,
        databases=databases,
    )


def section_verdict(status: DatabaseStatus, checks: list[CheckResult]) -> Verdict:
    """A database that was not checked is never called ready (the whole report counts its finding)."""
    return verdict(checks) if status == "checked" else Verdict.INCOMPLETE


def execute_checks(checks: list[type[Check]], snapshot: Snapshot, options: Options,
                   earlier: dict[str, CheckResult] | None = None) -> tuple[dict[str, CheckResult], list[TableEntry]]:
    """Run ``checks`` in order on one snapshot (options resolved); ``earlier`` results (e.g. the cluster-wide
    checks of an ``--all-databases`` run) decide skips but are not returned. The decisions are those the file
    keeps for the snapshot's database over its common ones."""
    seen: dict[str, CheckResult] = dict(earlier or {})
    results: dict[str, CheckResult] = {}
    tables: list[TableEntry] = []
    ctx = CheckContext(snapshot, options.in_database(database_of(snapshot)))
    for check_cls in checks:
        reason = _skip_reason(check_cls, seen, snapshot)
        if reason:
            result = CheckResult(id=check_cls.id, title=check_cls.title, status=CheckStatus.SKIP,
                                 summary="skipped", skip_reason=reason)
        else:
            result, check_tables = _run_one(check_cls(), ctx)
            tables.extend(check_tables or [])
        results[check_cls.id] = seen[check_cls.id] = result
    return results, tables


def database_of(snapshot: Snapshot) -> str | None:
    """The database a snapshot was read in: the server fact's, else the session's."""
    server = snapshot.facts.get(SERVER.name)
    if isinstance(server, ServerFact):
        return server.database
    return snapshot.server.dbname if snapshot.server else None


def scrub_results(results: list[CheckResult], dsn: Dsn) -> None:
    secrets = dsn.secrets()
    for result in results:
        _scrub_result(result, secrets)


def _skip_reason(check: type[Check], results: dict[str, CheckResult], snapshot: Snapshot) -> str | None:
    if check.needs_connection and not snapshot.connect.ok:
        return f"no connection to the server ({snapshot.connect.failure_message})"
    for need in check.requires:
        if need in results and results[need].status is CheckStatus.SKIP:
            return f"requires {need}, which was skipped"
    return None


def _scrub_result(result: CheckResult, secrets: list[str]) -> None:
    """A crashed check's exception text may echo a server error: scrub it. Findings are built from
    scrubbed facts and carry names and SQL, which are never altered."""
    if secrets and result.error:
        result.error = scrub(result.error, secrets)


def target_of(dsn: Dsn, snapshot: Snapshot, options: Options) -> Target:
    server = snapshot.server
    effective = dsn.effective()
    server_fact = snapshot.facts.get(SERVER.name)
    in_recovery = server_fact.in_recovery if isinstance(server_fact, ServerFact) else None
    port = server.port if server and server.port else effective.get("port")
    provider, signal = None, None  # unknown without a connection, unless --provider says
    if options.provider or server is not None:
        provider, signal = resolve(options.provider, snapshot.facts.get(PROVIDER_SIGNALS.name))
    return Target(
        dsn=dsn.masked(),
        host=server.host if server else effective.get("host"),
        port=int(port) if port and str(port).isdigit() else None,
        dbname=server.dbname if server else effective.get("dbname") or effective.get("user"),
        user=server.user if server else effective.get("user"),
        server_version=server.version if server else None,
        server_version_num=server.version_num if server else None,
        provider=provider,
        provider_signal=signal,
        in_recovery=in_recovery,
        ssl=server.ssl if server else None,
    )


def snapshot_for(options: Options, every_check: bool = False) -> tuple[Dsn, Snapshot]:
    """Connect and gather what the selected checks read (or every check's facts, for a saved snapshot)."""
    dsn = parse_dsn(options.dsn)
    options = apply_profile(options)
    checks = all_checks()[0] if every_check else selected_checks(options)[0]
    facts = [*declared_facts(checks).values(), SERVER, PROVIDER_SIGNALS]
    return dsn, take_snapshot(dsn, options, facts)


def run_preflight(options: Options) -> Report:
    """The whole job: connect, gather, check. Raises ``DsnError`` / ``RegistryError`` for bad input."""
    dsn, snapshot = snapshot_for(options)
    return run_checks(snapshot, options, dsn)


__all__ = ["assemble", "execute_checks", "run_checks", "run_preflight", "scrub_results", "snapshot_for", "take_snapshot",
           "target_of"]
