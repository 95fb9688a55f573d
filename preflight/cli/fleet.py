"""``pg-preflight fleet``: many servers at once.

Each server gets its own session and timeouts, so one that hangs or refuses never stalls the rest.
The workers are daemon threads, not a ``ThreadPoolExecutor``: on Ctrl-C the run returns at once with
what finished, and nothing waits at exit for a connect still running (an executor's threads are
joined at interpreter exit, i.e. after the slowest connect timeout).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
from tabulate import tabulate

from preflight.cli.errors import interrupted, usage_error
from preflight.cli.options import (
    CONTEXT,
    build_options,
    consumer_options,
    read_config,
    run_options,
    selection_options,
    session_options,
    split_list,
)
from preflight.fleet import (
    FleetEntry,
    FleetFileError,
    ShardError,
    default_service_file,
    fleet_verdict,
    in_shard,
    parse_dsn_file,
    parse_service_file,
    parse_shard,
    summary_row,
)
from preflight.models import ExitCode, Report, exit_code, unreachable
from preflight.options import Options
from preflight.registry import RegistryError, all_checks, select
from preflight.reports import FORMATS
from preflight.runner import run_preflight
from preflight.terminal import echo, visible


@click.command(context_settings=CONTEXT)
@click.option("--dsn-file", default=None, metavar="FILE",
              help="One DSN per line, or NAME=URI (NAME a plain word); '#' comments.")
@click.option("--service-file", default=None, metavar="FILE",
              help="Every service of this libpq service file, named after the service.")
@click.option("--default-service-file", "use_default_service_file", is_flag=True,
              help="Every service of libpq's default service file (PGSERVICEFILE, else ~/.pg_service.conf).")
@click.option("--shard", default=None, metavar="I/N",
              help="Check only shard I of N (1 <= I <= N): a stable split by server name, for CI matrices and indexed jobs.")
@click.option("--jobs", "-j", type=click.IntRange(1, 256), default=8, show_default=True, help="Servers checked at once.")
@click.option("--output-dir", default=None, metavar="DIR", help="Write each server's report here as NAME.FORMAT.")
@click.option("--format", "-f", "fmts", multiple=True, default=("json",), show_default=True, metavar="FORMAT",
              help=f"Format(s) of the per-server report files: {', '.join(sorted(FORMATS))} (repeatable; comma "
                   "lists). '-f json,html' writes both in one run: 'merge' links each server's HTML page.")
@selection_options
@run_options
@consumer_options
@session_options
@click.pass_context
def fleet(ctx: click.Context, /, dsn_file: str | None, service_file: str | None, use_default_service_file: bool,
          shard: str | None, jobs: int, output_dir: str | None, fmts: tuple[str, ...], **_: object) -> None:
    """Check every server of the inventory concurrently; one summary row each; exit 1 if any is not ready.

    The inventory is a DSN file and/or the services of a libpq service file. The check options apply to
    every server; each server has its own session and timeouts, so one that hangs or refuses never
    stalls the rest.
    """
    config = read_config(ctx.params.get("config_file"))
    options = build_options(ctx, config)
    formats = list(dict.fromkeys(split_list(fmts)))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        usage_error(f"--format {', '.join(unknown) or '(empty)'}: one of {', '.join(sorted(FORMATS))}")
    if service_file is not None and use_default_service_file:
        usage_error("--service-file and --default-service-file: give one of them")
    services = Path(service_file) if service_file is not None else (
        default_service_file() if use_default_service_file else None)
    if dsn_file is None and services is None:
        usage_error("fleet needs an inventory: --dsn-file FILE and/or --service-file FILE (or --default-service-file); "
                    "see 'pg-preflight fleet -h'")
    try:
        select(all_checks()[0], options.checks, options.skip)
        taken: set[str] = set()
        entries = parse_dsn_file(Path(dsn_file), taken) if dsn_file is not None else []
        if services is not None:
            entries += parse_service_file(services, taken)
        if shard is not None:
            entries = in_shard(entries, *parse_shard(shard))
    except (RegistryError, FleetFileError, ShardError) as exc:
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
            click.echo(f"\r[{done}/{len(entries)}] {visible(entry.name, keep='')}: {fleet_verdict(report)}\033[K", err=True, nl=False)
        if out is not None:
            for fmt in formats:
                (out / f"{entry.name}.{fmt}").write_text(FORMATS[fmt](report), encoding="utf-8")

    with service_file_env(services):
        run = run_fleet(entries, options, jobs, progress)
    results = run.results
    if tty:
        echo("", err=True)
    rows = [[visible(cell, keep="") for cell in summary_row(entry, report)] for entry, report in results]
    echo(tabulate(rows, headers=["server", "verdict", "failing checks", "provider", "version"], tablefmt="plain"))
    codes = {exit_code(report, options.fail_on) for _, report in results} or {ExitCode.OK}
    ready = sum(1 for _, r in results if r.status.value == "ready")
    dead = sum(1 for _, r in results if unreachable(r))
    echo(f"\n{ready}/{len(results)} servers ready" + (f", {dead} unreachable" if dead else ""), err=True)
    if run.interrupt is not None:
        skipped = ", ".join(visible(e.name, keep="") for e in run.not_checked) or "none"
        interrupted(run.interrupt, f"fleet interrupted; {len(run.not_checked)} of {len(entries)} servers "
                                   f"not checked: {skipped}")
    # A server known not ready decides the gate; then one that could not be reached; then an incomplete one.
    sys.exit(max(codes, key=lambda c: {ExitCode.FINDINGS: 3, ExitCode.UNREACHABLE: 2, ExitCode.INCOMPLETE: 1}.get(c, 0)))


@contextlib.contextmanager
def service_file_env(path: Path | None) -> Iterator[None]:
    """``PGSERVICEFILE`` pointing at the inventory's service file while the servers are checked, so libpq
    takes each service's parameters (and password) from it and never from the command line."""
    if path is None:
        yield
        return
    before = os.environ.get("PGSERVICEFILE")
    os.environ["PGSERVICEFILE"] = str(path.resolve())
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PGSERVICEFILE", None)
        else:
            os.environ["PGSERVICEFILE"] = before


@dataclass
class FleetRun:
    """What a fleet run checked (in the file's order), what it did not, and the interrupt that stopped it."""

    results: list[tuple[FleetEntry, Report]] = field(default_factory=list)
    not_checked: list[FleetEntry] = field(default_factory=list)
    interrupt: KeyboardInterrupt | None = None


def run_fleet(entries: list[FleetEntry], options: Options, jobs: int,
              on_done: Callable[[FleetEntry, Report], None] | None = None) -> FleetRun:
    """Check every server with at most ``jobs`` at once. ``on_done`` runs in the calling thread.

    Ctrl-C (or SIGTERM raised as ``Terminated``) stops handing out servers and returns at once: the
    finished ones in ``results``, the rest in ``not_checked``; running connects are abandoned.
    """
    todo: queue.SimpleQueue[FleetEntry] = queue.SimpleQueue()
    for entry in entries:
        todo.put(entry)
    done: queue.SimpleQueue[tuple[FleetEntry, Report | BaseException]] = queue.SimpleQueue()
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            try:
                entry = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((entry, run_preflight(options.model_copy(update={"dsn": entry.dsn}))))
            except BaseException as exc:  # handed to the caller, raised there
                done.put((entry, exc))

    for n in range(min(max(1, jobs), len(entries))):
        threading.Thread(target=work, name=f"pg-preflight-{n}", daemon=True).start()
    reports: dict[str, Report] = {}
    run = FleetRun()
    try:
        while len(reports) < len(entries):
            try:
                entry, outcome = done.get(timeout=0.5)  # short waits: a signal is handled between them
            except queue.Empty:
                continue
            if isinstance(outcome, BaseException):
                raise outcome
            reports[entry.name] = outcome
            if on_done:
                on_done(entry, outcome)
    except KeyboardInterrupt as exc:
        stop.set()
        run.interrupt = exc
    run.results = [(e, reports[e.name]) for e in entries if e.name in reports]
    run.not_checked = [e for e in entries if e.name not in reports]
    return run
