"""One-line errors and interrupts for every command: a bad option or input file ends with one line on
stderr and exit 2; Ctrl-C exits 130 and SIGTERM 143, never 1 (which a CI reads as "not ready")."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from preflight.files import one_line, validation_message
from preflight.interrupts import Terminated, exit_status, sigterm_raises
from preflight.models import ExitCode
from preflight.terminal import echo

__all__ = ["OneLineGroup", "interrupted", "usage_error", "validation_message"]

PROG = "pg-preflight"


def usage_error(message: str) -> NoReturn:
    """One clear line on stderr, exit 2 (as click does for bad options)."""
    echo(f"{PROG}: error: {one_line(message)}", err=True)
    sys.exit(ExitCode.USAGE)


def interrupted(exc: BaseException | None, what: str = "interrupted") -> NoReturn:
    """Say so on stderr and exit with the signal's status (130 for Ctrl-C, 143 for SIGTERM)."""
    signal_name = "SIGTERM" if isinstance(exc, Terminated) else "Ctrl-C"
    echo(f"{PROG}: {what} ({signal_name})", err=True)
    sys.exit(exit_status(exc))


class OneLineGroup(click.Group):
    """A click group whose errors are one line (click's own are three: usage, hint, error) and whose
    interrupts exit 130/143 in every command."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        with sigterm_raises():
            try:
                result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            except click.exceptions.NoArgsIsHelpError as exc:  # the help text, as click shows it
                exc.show()
                sys.exit(exc.exit_code)
            except click.UsageError as exc:
                command = exc.ctx.command_path if exc.ctx else PROG
                usage_error(f"{exc.format_message()} (see '{command} -h')")
            except click.ClickException as exc:
                echo(f"{PROG}: error: {one_line(exc.format_message())}", err=True)
                sys.exit(exc.exit_code)
            except click.Abort as exc:
                if isinstance(exc.__cause__, KeyboardInterrupt):
                    interrupted(exc.__cause__)
                echo(f"{PROG}: aborted", err=True)
                sys.exit(1)
            except KeyboardInterrupt as exc:
                interrupted(exc)
        sys.exit(result if isinstance(result, int) else 0)
