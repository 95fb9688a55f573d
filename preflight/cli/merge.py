"""``pg-preflight merge``: servers' JSON reports (fleet shards, nightly runs) as one estate report."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import CONTEXT
from preflight.estate import SORTS, ReportFileError, build_estate, report_files
from preflight.models import ExitCode, Verdict
from preflight.registry import declared_codes
from preflight.reports.estate import ESTATE_FORMATS
from preflight.runner import tool_version


@click.command(context_settings=CONTEXT)
@click.argument("paths", nargs=-1, required=True, metavar="DIR|FILE...")
@click.option("--format", "-f", "fmt", type=click.Choice(sorted(ESTATE_FORMATS)), default="table", show_default=True)
@click.option("--output", "-o", default=None, metavar="PATH",
              help="Write the estate report here (links to the servers' reports are relative to it).")
@click.option("--sort", "sort", type=click.Choice(sorted(SORTS)), default="verdict", show_default=True,
              help="Row order: verdict (worst first), name, provider, version (oldest first), slot_risk, failing.")
def merge(paths: tuple[str, ...], fmt: str, output: str | None, sort: str) -> None:
    """One estate report from servers' JSON reports: the files given, and every *.json under each DIR
    (e.g. the --output-dir of each fleet shard). One row per server, named after its report file.

    Exit 1 when a server is not ready, 3 when none is but one is incomplete, else 0.
    """
    target = Path(output) if output else None
    if target is not None and not target.parent.is_dir():
        usage_error(f"--output {target}: directory {target.parent} does not exist")
    try:
        files = report_files([Path(p) for p in paths])
    except ReportFileError as exc:
        usage_error(f"not a pg-preflight JSON report: {exc}")
    estate = build_estate(files, tool_version(), target.parent if target is not None else Path.cwd(), declared_codes(),
                          sort)
    rendered = ESTATE_FORMATS[fmt](estate)
    if target is None:
        click.echo(rendered, nl=False, color=True)  # printable by construction
    else:
        try:
            target.write_text(rendered, encoding="utf-8")
        except OSError as exc:
            usage_error(f"cannot write {target}: {exc.strerror or exc}")
    verdicts = {s.verdict for s in estate.servers}
    sys.exit(ExitCode.FINDINGS if Verdict.NOT_READY in verdicts
             else ExitCode.INCOMPLETE if Verdict.INCOMPLETE in verdicts else ExitCode.OK)
