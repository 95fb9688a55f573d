"""The command line: parse, run, render, exit. Thin: all logic lives in the engine."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn

import click
from pydantic import ValidationError

from preflight.connection import DsnError, parse_dsn, scrub
from preflight.decisions import DecisionsError, load_decisions, template
from preflight.models import CheckStatus, Decision, ExitCode, FailOn, Report, exit_code
from preflight.names import NameError_, parse_name
from preflight.options import Options
from preflight.registry import RegistryError, all_checks
from preflight.runner import run_preflight
from reports import FORMATS

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def usage_error(message: str) -> NoReturn:
    """One clear line on stderr, exit 2 (as click does for bad options)."""
    click.echo(f"pg-preflight: error: {message}", err=True)
    sys.exit(ExitCode.USAGE)


def split_list(values: Iterable[str]) -> list[str]:
    """Repeatable options that also accept comma lists: ``-s a,b -s c``."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def parse_outputs(specs: Iterable[str], default_format: str) -> list[tuple[str, Path]]:
    """``--output PATH`` (the --format rendering) or ``--output FORMAT:PATH``."""
    outputs = []
    for spec in specs:
        fmt, sep, rest = spec.partition(":")
        if sep and fmt in FORMATS and rest:
            outputs.append((fmt, Path(rest)))
        else:
            outputs.append((default_format, Path(spec)))
    for _, path in outputs:
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            usage_error(f"--output {path}: is a directory")
        if not parent.is_dir():
            usage_error(f"--output {path}: directory {parent} does not exist")
        if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
            usage_error(f"--output {path}: not writable")
    return outputs


def emit(report: Report, fmt: str, outputs: list[tuple[str, Path]], secrets: list[str]) -> None:
    """Write every requested rendering; stdout gets ``fmt`` unless a plain ``--output PATH`` took it."""
    rendered: dict[str, str] = {}

    def text(name: str) -> str:
        if name not in rendered:
            rendered[name] = scrub(FORMATS[name](report), secrets)
        return rendered[name]

    took_stdout = False
    for name, path in outputs:
        try:
            path.write_text(text(name), encoding="utf-8")
        except OSError as exc:
            usage_error(f"cannot write {path}: {exc.strerror or exc}")
        if name == fmt:
            took_stdout = True
    if not took_stdout:
        click.echo(text(fmt), nl=False)


def _check_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by ``check`` and ``demo``."""
    decorators = [
        click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)), default="table", show_default=True,
                     help="Output format on stdout."),
        click.option("--output", "-o", "outputs", multiple=True, metavar="[FORMAT:]PATH",
                     help="Write the --format rendering to PATH, or FORMAT's rendering with FORMAT:PATH (repeatable)."),
        click.option("--fail-on", type=click.Choice([f.value for f in FailOn]), default="error", show_default=True,
                     help="Exit 1 when a check reaches this level: error (any fail), warning (fail or warn), never."),
        click.option("--check", "only", multiple=True, metavar="ID", help="Run only these checks (repeatable; comma lists)."),
        click.option("--skip", multiple=True, metavar="ID", help="Do not run these checks (repeatable; comma lists)."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


@click.group(context_settings=CONTEXT)
@click.version_option(package_name="pg-preflight", prog_name="pg-preflight")
def main() -> None:
    """Read-only readiness checks for a PostgreSQL server about to become a logical replication / CDC source.

    \b
    Exit codes: 0 ready, 1 a finding reached --fail-on, 2 usage error, 3 a check could not complete.
    Start with 'pg-preflight demo', then 'pg-preflight check postgresql://user@host/db'.
    """


@main.command(context_settings=CONTEXT)
@click.argument("dsn", required=False)
@click.option("--schema", "-s", "schemas", multiple=True, metavar="NAME",
              help="Schema to replicate, raw name (repeatable; comma lists). Default: every non-system schema.")
@click.option("--table", "-t", "tables", multiple=True, metavar="SCHEMA.TABLE",
              help='Table to replicate (repeatable). Quote a part holding a dot or quote: "my.schema".t')
@_check_options
@click.option("--plugin", default="pgoutput", show_default=True, help="Output plugin the consumer will use.")
@click.option("--slot-name", default=None, help="Replication slot name the consumer will use.")
@click.option("--publication", default=None, help="Publication the consumer will use.")
@click.option("--role", default=None, metavar="NAME",
              help="Judge this role's privileges (a DBA auditing the CDC role while connected as an admin).")
@click.option("--probe", is_flag=True, default=False,
              help="Prove the output plugin loads by creating a TEMPORARY logical slot (dies with the session).")
@click.option("--max-xact-age", type=click.FloatRange(0, 10**7, min_open=True), default=600.0, show_default=True,
              metavar="SECONDS", help="Transactions older than this delay slot creation: reported.")
@click.option("--slots-needed", type=click.IntRange(0, 10000), default=1, show_default=True,
              help="Free replication slots the consumer needs.")
@click.option("--connect-timeout", type=click.FloatRange(0, 3600, min_open=True), default=10.0, show_default=True,
              metavar="SECONDS", help="Give up connecting after this long.")
@click.option("--statement-timeout", type=click.FloatRange(0, 86400, min_open=True), default=30.0, show_default=True,
              metavar="SECONDS", help="Cancel any catalog query running longer.")
@click.option("--lock-timeout", type=click.FloatRange(0, 86400, min_open=True), default=5.0, show_default=True,
              metavar="SECONDS", help="Never wait longer than this for a lock (e.g. behind a migration's ACCESS EXCLUSIVE).")
@click.option("--decisions", "decisions_file", default=None, metavar="FILE",
              help='Replica-identity decisions, JSON {"decisions": {"schema.table": "exclude|add_pk|replica_identity_full"}}.')
def check(dsn: str | None, schemas: tuple[str, ...], tables: tuple[str, ...], fmt: str, outputs: tuple[str, ...],
          fail_on: str, only: tuple[str, ...], skip: tuple[str, ...], plugin: str, slot_name: str | None,
          publication: str | None, role: str | None, probe: bool, max_xact_age: float, slots_needed: int, connect_timeout: float, statement_timeout: float,
          lock_timeout: float, decisions_file: str | None) -> None:
    """Check the server at DSN (URI or key=value; omitted: the libpq environment, PGHOST, PGSERVICE, ...).

    The session is read-only and creates nothing on the server.
    """
    try:
        parsed_tables = [parse_name(t) for t in tables]
    except NameError_ as exc:
        usage_error(f"--table: {exc}")
    try:
        options = Options(dsn=dsn, schemas=split_list(schemas), tables=parsed_tables, plugin=plugin, slot_name=slot_name,
                          publication=publication, role=role, probe=probe, max_xact_age=max_xact_age,
                          slots_needed=slots_needed, checks=split_list(only),
                          skip=split_list(skip), connect_timeout=connect_timeout, statement_timeout=statement_timeout,
                          lock_timeout=lock_timeout, fail_on=FailOn(fail_on), decisions=_decisions(decisions_file))
    except ValidationError as exc:
        usage_error("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    _run_and_exit(options, fmt, outputs)


def _decisions(path: str | None) -> dict[str, Decision]:
    """``--decisions FILE`` loaded and canonicalised; any problem is one line and exit 2."""
    if path is None:
        return {}
    try:
        return load_decisions(path)
    except DecisionsError as exc:
        usage_error(f"--decisions {path}: {exc}")


def _run_and_exit(options: Options, fmt: str, outputs: tuple[str, ...]) -> NoReturn:
    try:
        secrets = parse_dsn(options.dsn).secrets()
    except DsnError as exc:
        usage_error(str(exc))
    targets = parse_outputs(outputs, fmt)
    try:
        report = run_preflight(options)
    except RegistryError as exc:
        usage_error(str(exc))
    emit(report, fmt, targets, secrets)
    sys.exit(exit_code(report, options.fail_on))


@main.command("decisions", context_settings=CONTEXT)
@click.argument("dsn", required=False)
@click.option("--schema", "-s", "schemas", multiple=True, metavar="NAME",
              help="Schema to replicate, raw name (repeatable; comma lists). Default: every non-system schema.")
@click.option("--table", "-t", "tables", multiple=True, metavar="SCHEMA.TABLE", help="Table to replicate (repeatable).")
@click.option("--role", default=None, metavar="NAME", help="Judge this role's privileges (as for 'check').")
@click.option("--output", "-o", "output", default=None, metavar="FILE", help="Write the template here (default: stdout).")
@click.option("--connect-timeout", type=click.FloatRange(0, 3600, min_open=True), default=10.0, show_default=True,
              metavar="SECONDS")
@click.option("--statement-timeout", type=click.FloatRange(0, 86400, min_open=True), default=30.0, show_default=True,
              metavar="SECONDS")
@click.option("--lock-timeout", type=click.FloatRange(0, 86400, min_open=True), default=5.0, show_default=True,
              metavar="SECONDS")
def decisions_command(dsn: str | None, schemas: tuple[str, ...], tables: tuple[str, ...], role: str | None,
                      output: str | None, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> None:
    """Write a --decisions template for every selected table that needs a replica-identity decision.

    Each value is a suggestion to review (why: on stderr): add_pk when a primary key or a unique NOT NULL
    index exists (the fix is an identity change), replica_identity_full for keyless tables up to 1 GiB,
    add_pk for larger keyless ones. Read-only, like 'check'.
    """
    try:
        options = Options(dsn=dsn, schemas=split_list(schemas), tables=[parse_name(t) for t in tables], role=role,
                          checks=["table_keys"], connect_timeout=connect_timeout,
                          statement_timeout=statement_timeout, lock_timeout=lock_timeout)
        parse_dsn(options.dsn)
        report = run_preflight(options)
    except (NameError_, DsnError, RegistryError) as exc:
        usage_error(str(exc))
    except ValidationError as exc:
        usage_error("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
    result = report.check("table_keys")
    if result.status in (CheckStatus.ERROR, CheckStatus.SKIP):
        reach = report.check("reachability").findings
        reason = result.error or (reach[0].message if reach else result.skip_reason)
        click.echo(f"pg-preflight: decisions: could not judge the tables: {reason}", err=True)
        sys.exit(ExitCode.INCOMPLETE)
    document, notes = template(report)
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            usage_error(f"cannot write {output}: {exc.strerror or exc}")
    else:
        click.echo(text, nl=False)
    for note in notes or ["no table needs a decision"]:
        click.echo(f"# {note}", err=True)


@main.command("list-checks", context_settings=CONTEXT)
def list_checks() -> None:
    """List every check (built-in and plugins) with what it requires."""
    checks, broken = all_checks()
    rows = [(c.id, c.title, ", ".join(c.requires) or "-") for c in checks]
    from tabulate import tabulate

    click.echo(tabulate(rows, headers=["id", "title", "requires"], tablefmt="plain"))
    for plugin in broken:
        click.echo(f"(broken plugin {plugin.id}: {plugin.error})", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("check_id")
def explain(check_id: str) -> None:
    """Explain one check: why it matters and how to fix what it finds."""
    checks, _ = all_checks()
    by_id = {c.id: c for c in checks}
    if check_id not in by_id:
        usage_error(f"unknown check id {check_id!r}; known: {', '.join(sorted(by_id))}")
    c = by_id[check_id]
    click.echo(f"{c.id}: {c.title}\n")
    click.echo(f"Why: {c.why}\n")
    click.echo(f"Remediation: {c.remediation}\n")
    click.echo(f"Requires: {', '.join(c.requires) or '-'}")
    click.echo(f"Reads: {', '.join(c.facts) or 'the connection only'}")


@main.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of the report (schema_version 1)."""
    click.echo(json.dumps(Report.model_json_schema(by_alias=True), indent=2))


@main.command(context_settings=CONTEXT)
@_check_options
def demo(fmt: str, outputs: tuple[str, ...], fail_on: str, only: tuple[str, ...], skip: tuple[str, ...]) -> None:
    """Start a throwaway local PostgreSQL with realistic problems, check it, and remove it.

    Needs the server binaries (initdb, pg_ctl): PG_BINDIR, pg_config --bindir or /usr/lib/postgresql/*/bin.
    Exits 0 when the demo ran, whatever the verdict.
    """
    from preflight.demo import demo_server
    from preflight.pgserver import ServerError

    targets = parse_outputs(outputs, fmt)
    try:
        with demo_server() as (_server, dsn):
            click.echo(f"Demo server up; checking {parse_dsn(dsn).masked()}\n", err=True)
            options = Options(dsn=dsn, checks=split_list(only), skip=split_list(skip), fail_on=FailOn(fail_on))
            try:
                report = run_preflight(options)
            except RegistryError as exc:
                usage_error(str(exc))
            emit(report, fmt, targets, parse_dsn(dsn).secrets())
    except ServerError as exc:
        click.echo(f"pg-preflight: demo: {exc}", err=True)
        sys.exit(ExitCode.INCOMPLETE)
    except KeyboardInterrupt:
        click.echo("pg-preflight: demo interrupted; the demo server was removed.", err=True)
        sys.exit(130)
    click.echo(f"\nDemo finished (verdict: {report.status.value}); the demo server was removed.", err=True)
