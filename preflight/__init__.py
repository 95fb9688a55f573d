"""pg-preflight: read-only readiness checks for PostgreSQL logical replication / CDC sources.

    from preflight import Options, run_preflight
    report = run_preflight(Options(dsn="postgresql://cdc@db/app", schemas=["public"]))

The public names are loaded on first use (``__getattr__``): importing one module of the package, say
``preflight.names``, loads that module and what it imports, not the runner and every check.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from preflight.cluster import run_all_databases
    from preflight.models import CheckStatus, ExitCode, FailOn, Finding, Report, Severity, Verdict, exit_code
    from preflight.options import Options
    from preflight.runner import run_checks, run_preflight

# Each public name and the module that defines it.
_PUBLIC = {
    "CheckStatus": "preflight.models",
    "ExitCode": "preflight.models",
    "FailOn": "preflight.models",
    "Finding": "preflight.models",
    "Options": "preflight.options",
    "Report": "preflight.models",
    "Severity": "preflight.models",
    "Verdict": "preflight.models",
    "exit_code": "preflight.models",
    "run_all_databases": "preflight.cluster",
    "run_checks": "preflight.runner",
    "run_preflight": "preflight.runner",
}

__all__ = [
    "CheckStatus",
    "ExitCode",
    "FailOn",
    "Finding",
    "Options",
    "Report",
    "Severity",
    "Verdict",
    "exit_code",
    "run_all_databases",
    "run_checks",
    "run_preflight",
]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module the first time it is asked for."""
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'preflight' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
