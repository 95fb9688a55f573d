"""The command line: parse, run, render, exit. Thin: all logic lives in the engine."""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import textwrap
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NoReturn

import click
from tabulate import tabulate

from preflight.cli import consumer as consumer_cli
from preflight.cli.decisions import decisions_command
from preflight.cli.diff import diff
from preflight.cli.errors import OneLineGroup, interrupted, usage_error
from preflight.cli.fleet import fleet
from preflight.cli.merge import merge
from preflight.cli.options import (
    CONTEXT,
    all_databases_option,
    build_options,
    consumer_options,
    explicit_params,
    output_options,
    read_config,
    run_options,
    selection_options,
    session_options,
    split_list,
    view_options,
)
from preflight.cli.output import View, emit, output_choice, parse_outputs
from preflight.cli.progress import sampling
from preflight.cluster import run_all_databases
from preflight.codes import ENGINE_CODES
from preflight.connection import DsnError, parse_dsn
from preflight.facts import ProbeFact, Scope
from preflight.facts.base import describe_type, row_fields, row_models
from preflight.models import ExitCode, FailOn, Report, exit_code
from preflight.options import Options
from preflight.registry import RegistryError, all_checks, codes_of, known_facts
from preflight.runner import run_checks, run_preflight, snapshot_for
from preflight.snapshot_io import SnapshotError, load_snapshot
from preflight.snapshot_io import save_snapshot as write_snapshot
from preflight.suggest import did_you_mean
from preflight.terminal import echo, terminal_width

# Commands that keep running report after report: the cyclic garbage collector stays on for them.
LONG_RUNNING = frozenset({"fleet"})


@dataclass(frozen=True)
class Program:
    """``ctx.obj`` when the commands run as the ``pg-preflight`` program (``run``): the process is theirs to
    tune. A caller of ``main`` (a test, a script) keeps its own process settings."""


@click.group(cls=OneLineGroup, context_settings=CONTEXT)
@click.version_option(package_name="pg-preflight", prog_name="pg-preflight")
@click.pass_context
def main(ctx: click.Context) -> None:
    """Read-only readiness checks for a PostgreSQL server about to become a logical replication / CDC source.

    \b
    Exit codes: 0 ready, 1 a finding reached --fail-on, 2 usage error, 3 a check could not complete,
    4 could not connect (nothing checked), 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).
    Start with 'pg-preflight demo', then 'pg-preflight check postgresql://user@host/db'.
    """
    if isinstance(ctx.obj, Program) and ctx.invoked_subcommand not in LONG_RUNNING:
        # One report per process: its objects (a few per table) live until it is written and form no
        # cycles, so the collector would only walk them again and again as they pile up: more than half
        # of the checks' time on 100k tables. The process ends soon after; nothing is left to collect.
        gc.disable()


def run() -> NoReturn:
    """The ``pg-preflight`` program (and ``python -m preflight``): ``main``, then an immediate exit.

    Everything is written, flushed and closed by the time ``main`` returns; the interpreter's own exit
    would then free the report's objects one by one (a few per table) before the caller gets its exit
    code. ``os._exit`` skips that, from inside the handler, so that not even the command's frame (held by
    the exception) is torn down first. Tests drive ``main`` itself, which exits normally.
    """
    try:
        main(obj=Program())
    except SystemExit as exc:
        _exit_now(exc.code)
    _exit_now(0)


def _exit_now(code: object) -> NoReturn:
    if code is not None and not isinstance(code, int):  # what the interpreter does with SystemExit("text")
        print(code, file=sys.stderr)
        code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a reader that went away, or a stream closed already
            stream.flush()
    os._exit(code or 0)


@main.command(context_settings=CONTEXT)
@click.argument("dsn", required=False)
@selection_options
@all_databases_option
@output_options
@view_options
@run_options
@consumer_options
@session_options
@consumer_cli.consumer_config_options[0]
@consumer_cli.consumer_config_options[1]
@click.option("--save-snapshot", default=None, metavar="FILE", help="Also save the gathered facts (no secrets) here.")
@click.option("--from-snapshot", default=None, metavar="FILE",
              help="Run the checks on a saved snapshot instead of a server (no connection is made).")
@click.pass_context
def check(ctx: click.Context, /, dsn: str | None, save_snapshot: str | None,
          from_snapshot: str | None, **_: Any) -> None:
    """Check the server at DSN (URI or key=value; omitted: the libpq environment, PGHOST, PGSERVICE, ...).

    The session is read-only and creates nothing on the server. Options may also come from
    ./pg-preflight.toml or [tool.pg-preflight] in ./pyproject.toml (--config); the command line wins.
    """
    config = read_config(ctx.params.get("config_file"))
    consumer = consumer_cli.load(ctx)
    preset: dict[str, Any] = consumer_cli.preset(consumer) if consumer is not None else {}
    if from_snapshot:
        if dsn or consumer or save_snapshot:
            usage_error("--from-snapshot runs without a server: give no DSN, --consumer-config (--request) or "
                        "--save-snapshot")
        try:
            saved = load_snapshot(Path(from_snapshot), known_facts())
        except SnapshotError as exc:
            usage_error(f"--from-snapshot {exc}")
        preset = {k: saved.options[k] for k in ("schemas", "tables", "role") if saved.options.get(k)}
    options = build_options(ctx, config, preset)
    if consumer is not None:
        if options.all_databases:
            usage_error("--consumer-config describes a consumer of one database: it cannot be combined with "
                        "--all-databases")
        options = consumer_cli.finish(ctx, options, consumer, config)
    if options.all_databases and (from_snapshot or save_snapshot):
        usage_error("--all-databases reads several databases: it cannot be combined with --from-snapshot or --save-snapshot")
    fmt, outputs = output_choice(ctx, config)
    targets = parse_outputs(outputs, fmt, format_given="fmt" in explicit_params(ctx))
    try:
        with sampling(0 if from_snapshot else options.sample):
            report = _run(options, from_snapshot and saved, save_snapshot)
    except (DsnError, RegistryError) as exc:
        usage_error(str(exc))
    emit(report, fmt, targets, View.of(ctx.params))
    sys.exit(exit_code(report, options.fail_on))


def _run(options: Options, saved: Any, save_snapshot: str | None) -> Report:
    """One report: every database, a saved snapshot's, or the server's (saving its snapshot on the way)."""
    if options.all_databases:
        return run_all_databases(options)
    if saved:
        return run_checks(saved.snapshot, options, parse_dsn(saved.target_dsn))
    if save_snapshot:
        target, snapshot = snapshot_for(options, every_check=True)
        try:
            write_snapshot(Path(save_snapshot), snapshot, target.masked(), options.report_view())
        except OSError as exc:
            usage_error(f"--save-snapshot {save_snapshot}: {exc.strerror or exc}")
        return run_checks(snapshot, options, target)
    return run_preflight(options)


@main.command("list-checks", context_settings=CONTEXT)
def list_checks() -> None:
    """List every check (built-in and plugins) with what it requires."""
    checks, broken = all_checks()
    rows = [(c.id, c.title, ", ".join(c.requires) or "-") for c in checks]
    echo(tabulate(rows, headers=["id", "title", "requires"], tablefmt="plain"))
    for plugin in broken:
        echo(f"(broken plugin {plugin.id}: {plugin.error})", err=True)


@main.command(context_settings=CONTEXT)
@click.argument("name")
def explain(name: str) -> None:
    """Explain a check (why it matters, how to fix what it finds, its finding codes) or a finding code (what it
    means and what to do)."""
    checks, _ = all_checks()
    by_id = {c.id: c for c in checks}
    owners = {**{c.id: codes_of(c) for c in checks}, **ENGINE_CODES}
    codes = [(owner, declared[name]) for owner, declared in owners.items() if name in declared]
    if name not in by_id and not codes:
        known = [*by_id, *(code for declared in owners.values() for code in declared)]
        usage_error(f"unknown check id or finding code {name!r}{did_you_mean(name, known)}; "
                    "'pg-preflight list-checks' lists the checks, 'pg-preflight explain CHECK' their codes")
    width = terminal_width(sys.stdout) or 100
    texts: list[str] = []
    if name in by_id:
        c = by_id[name]
        texts += [f"{c.id}: {c.title}\n", f"Why: {c.why}\n", f"Remediation: {c.remediation}\n",
                  f"Requires: {', '.join(c.requires) or '-'}",
                  f"Reads: {', '.join(f.name for f in (*c.facts, *c.optional_facts)) or 'the connection only'}\n",
                  "Finding codes:", *(f"  {code.name} ({code.severity_text()}): {code.meaning}"
                                      for code in codes_of(c).values())]
    for owner, code in codes:
        texts += [f"{code.name} ({code.severity_text()}, {owner}): {code.meaning}", f"What to do: {code.explain}\n"]
    for text in texts:
        echo("\n".join(textwrap.wrap(text, width, subsequent_indent="    ", break_long_words=False,
                                      break_on_hyphens=False)) + ("\n" if text.endswith("\n") else ""))


@main.command("list-facts", context_settings=CONTEXT)
def list_facts() -> None:
    """List every fact a check can read (built-in and plugins'): its value type, row fields and what it holds."""
    checks, _ = all_checks()
    readers: dict[str, list[str]] = {}
    for c in checks:
        for f in (*c.facts, *c.optional_facts):
            readers.setdefault(f.name, []).append(c.id)
    for name, fact in sorted(known_facts().items()):
        kind = "probe" if isinstance(fact, ProbeFact) else "catalog query"
        echo(f"{name}: {describe_type(fact.value_type)} ({kind})")
        echo(f"    {fact.doc}")
        echo(f"    scope: {fact.scope.value} (" + ("read in every database with --all-databases)" if fact.scope is Scope.DATABASE
                                                   else "read once per cluster with --all-databases)"))
        echo(f"    read by: {', '.join(readers.get(name, [])) or '-'}")
        for model in row_models(fact.row):
            if issubclass(model, Enum):
                echo(f"    {model.__name__}: {', '.join(str(m.value) for m in model)}")
                continue
            echo(f"    {model.__name__}:")
            for field, type_name in row_fields(model):
                echo(f"        {field}: {type_name}")
        echo("")


@main.command(context_settings=CONTEXT)
def schema() -> None:
    """Print the JSON Schema of the report (schema_version 1)."""
    echo(json.dumps(Report.model_json_schema(by_alias=True), indent=2))


@main.command(context_settings=CONTEXT)
@output_options
@view_options
@run_options
def demo(fmt: str, outputs: tuple[str, ...], fail_on: str, only: tuple[str, ...],
         skip: tuple[str, ...], detail: str | None, color: str) -> None:
    """Start a throwaway local PostgreSQL with realistic problems, check it, and remove it.

    Needs the server binaries (initdb, pg_ctl): PG_BINDIR, pg_config --bindir or /usr/lib/postgresql/*/bin.
    Exits 0 when the demo ran, whatever the verdict.
    """
    from preflight.demo import demo_server
    from preflight.pgserver import ServerError

    targets = parse_outputs(outputs, fmt, format_given=fmt != "table")
    try:
        with demo_server() as (_server, dsn):
            echo(f"Demo server up; checking {parse_dsn(dsn).masked()}\n", err=True)
            options = Options(dsn=dsn, checks=split_list(only), skip=split_list(skip), fail_on=FailOn(fail_on),
                              schemas=["public", "billing", "Sales EU"])
            try:
                report = run_preflight(options)
            except RegistryError as exc:
                usage_error(str(exc))
            emit(report, fmt, targets, View.of({"detail": detail, "color": color}))
    except ServerError as exc:
        echo(f"pg-preflight: demo: {exc}", err=True)
        sys.exit(ExitCode.INCOMPLETE)
    except KeyboardInterrupt as exc:
        interrupted(exc, "demo interrupted; the demo server was removed")
    echo(f"\nDemo finished (verdict: {report.status.value}); the demo server was removed.", err=True)


main.add_command(decisions_command)
main.add_command(fleet)
main.add_command(diff)
main.add_command(merge)
