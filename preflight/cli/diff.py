"""``pg-preflight diff``: what got better or worse between two reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from preflight.cli.errors import usage_error
from preflight.cli.options import CONTEXT
from preflight.diff import diff_reports, render_diff
from preflight.models import ExitCode, Report
from preflight.terminal import echo


def _load_report(path: str) -> Report:
    try:
        return Report.model_validate_json(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        usage_error(f"{path}: no such file")
    except (OSError, UnicodeDecodeError) as exc:
        usage_error(f"{path}: cannot read: {exc}")
    except ValueError as exc:
        usage_error(f"{path}: not a pg-preflight JSON report ({str(exc).splitlines()[0]})")


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
