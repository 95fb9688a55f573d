"""pg-preflight: read-only readiness checks for PostgreSQL logical replication / CDC sources.

    from preflight import Options, run_preflight
    report = run_preflight(Options(dsn="postgresql://cdc@db/app", schemas=["public"]))
"""

from preflight.cluster import run_all_databases
from preflight.models import CheckStatus, ExitCode, FailOn, Finding, Report, Severity, Verdict, exit_code
from preflight.options import Options
from preflight.runner import run_checks, run_preflight

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
