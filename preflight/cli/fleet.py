"""``pg-preflight fleet``: many servers at once."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from tabulate import tabulate

from preflight.cli.errors import usage_error
from preflight.cli.options import (
    CONTEXT,
    build_options,
    consumer_options,
    read_config,
    run_options,
    selection_options,
    session_options,
)
from preflight.connection import parse_dsn, scrub
from preflight.fleet import FleetEntry, FleetFileError, parse_dsn_file, run_fleet, summary_row
from preflight.models import ExitCode, Report, exit_code
from preflight.registry import RegistryError, all_checks, select
from preflight.reports import FORMATS
from preflight.terminal import echo, visible


@click.command(context_settings=CONTEXT)
@click.option("--dsn-file", required=True, metavar="FILE",
              help="One DSN per line, or NAME=URI (NAME a plain word); '#' comments.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=8, show_default=True, help="Servers checked at once.")
@click.option("--output-dir", default=None, metavar="DIR", help="Write each server's report here as NAME.FORMAT.")
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(FORMATS)), default="json", show_default=True,
              help="Format of the per-server report files.")
@selection_options
@run_options
@consumer_options
@session_options
@click.pass_context
def fleet(ctx: click.Context, /, dsn_file: str, jobs: int, output_dir: str | None, fmt: str, **_: object) -> None:
    """Check every server of a DSN file concurrently; one summary row each; exit 1 if any is not ready.

    The check options apply to every server; each server has its own session and timeouts, so one that
    hangs or refuses never stalls the rest.
    """
    config = read_config(ctx.params.get("config_file"))
    options = build_options(ctx, config)
    try:
        select(all_checks()[0], options.checks, options.skip)
        entries = parse_dsn_file(Path(dsn_file))
    except (RegistryError, FleetFileError) as exc:
        usage_error(str(exc))
    out = Path(output_dir) if output_dir else None
    if out is not None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            usage_error(f"--output-dir {out}: {exc.strerror or exc}")
    tty = sys.stderr.isatty()
    done = 0

    def progress(entry: FleetEntry, report: Report) -> None:
        nonlocal done
        done += 1
        if tty:
            click.echo(f"\r[{done}/{len(entries)}] {visible(entry.name, keep='')}: {report.status.value}\033[K", err=True, nl=False)
        if out is not None:
            secrets = parse_dsn(entry.dsn).secrets()
            (out / f"{entry.name}.{fmt}").write_text(scrub(FORMATS[fmt](report), secrets), encoding="utf-8")

    results = run_fleet(entries, options, jobs, progress)
    if tty:
        echo("", err=True)
    rows = [[visible(cell, keep="") for cell in summary_row(entry, report)] for entry, report in results]
    echo(tabulate(rows, headers=["server", "verdict", "failing checks", "provider", "version"], tablefmt="plain"))
    codes = {exit_code(report, options.fail_on) for _, report in results}
    ready = sum(1 for _, r in results if r.status.value == "ready")
    echo(f"\n{ready}/{len(results)} servers ready", err=True)
    sys.exit(max(codes, key=lambda c: {ExitCode.FINDINGS: 2, ExitCode.INCOMPLETE: 1, ExitCode.OK: 0}.get(c, 0)))
