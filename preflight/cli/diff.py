"""``pg-preflight diff``: what got better or worse between two reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import CONTEXT
from preflight.diff import diff_reports, render_diff
from preflight.files import read_json, validated
from preflight.models import ExitCode, Report
from preflight.terminal import echo


class ReportFileError(ValueError):
    """A report file that cannot be diffed; the message names the file and the reason."""


def _load_report(path: str) -> Report:
    try:
        raw = read_json(Path(path), ReportFileError)
        report: Report = validated(Path(path), ReportFileError, lambda: Report.model_validate(raw))
    except ReportFileError as exc:
        usage_error(f"not a pg-preflight JSON report: {exc}")
    return report


@click.command(context_settings=CONTEXT)
@click.argument("old")
@click.argument("new")
def diff(old: str, new: str) -> None:
    """What got better or worse between two JSON reports (e.g. last night's and tonight's).

    Exit 1 when something got worse (a new failure or warning, a check or the verdict worse), else 0.
    """
    result = diff_reports(_load_report(old), _load_report(new))
    echo(render_diff(result), nl=False)
    sys.exit(ExitCode.FINDINGS if result.worse else ExitCode.OK)
