"""One-line usage errors: every bad option or input file ends here, with exit 2."""

from __future__ import annotations

import sys
from typing import NoReturn

from pydantic import ValidationError

from preflight.models import ExitCode
from preflight.terminal import echo


def usage_error(message: str) -> NoReturn:
    """One clear line on stderr, exit 2 (as click does for bad options)."""
    echo(f"pg-preflight: error: {message}", err=True)
    sys.exit(ExitCode.USAGE)


def validation_message(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in exc.errors())
