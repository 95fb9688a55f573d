"""``pg-preflight diff``: what got better or worse between two reports, or two estate reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import CONTEXT
from preflight.diff import diff_estates, diff_reports, render_diff, render_estate_diff
from preflight.estate import ReportFileError, load_document
from preflight.models import Estate, ExitCode, Report
from preflight.terminal import echo


def _load(path: str) -> Report | Estate:
    try:
        return load_document(Path(path))
    except ReportFileError as exc:
        usage_error(f"not a pg-preflight JSON report: {exc}")


@click.command(context_settings=CONTEXT)
@click.argument("old")
@click.argument("new")
def diff(old: str, new: str) -> None:
    """What got better or worse between two JSON reports (e.g. last night's and tonight's), or between
    two estate reports (``merge --format json``): which servers got worse.

    Exit 1 when something got worse (a new failure or warning, a check or the verdict worse; for
    estates: a server's verdict worse, a new server not ready, a check newly failing), else 0.
    """
    before, after = _load(old), _load(new)
    if isinstance(before, Estate) and isinstance(after, Estate):
        estate = diff_estates(before, after)
        echo(render_estate_diff(estate), nl=False)
        sys.exit(ExitCode.FINDINGS if estate.worse else ExitCode.OK)
    if isinstance(before, Report) and isinstance(after, Report):
        result = diff_reports(before, after)
        echo(render_diff(result), nl=False)
        sys.exit(ExitCode.FINDINGS if result.worse else ExitCode.OK)
    usage_error(f"{old} and {new}: one is an estate report, the other one server's report; diff two of a kind")
