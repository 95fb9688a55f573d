"""``pg-preflight decisions``: a --decisions template for the tables that need one (reuses the engine)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from preflight.checks.table_keys import template
from preflight.cli.errors import usage_error
from preflight.cli.options import (
    CONTEXT,
    PROFILE_OPTION,
    build_options,
    selection_options,
    session_options,
)
from preflight.connection import DsnError, parse_dsn
from preflight.models import CheckStatus, ExitCode
from preflight.registry import RegistryError
from preflight.runner import run_preflight
from preflight.terminal import echo, json_visible


@click.command("decisions", context_settings=CONTEXT)
@click.argument("dsn", required=False)
@selection_options
@PROFILE_OPTION
@click.option("--output", "-o", "output", default=None, metavar="FILE", help="Write the template here (default: stdout).")
@session_options
@click.pass_context
def decisions_command(ctx: click.Context, /, dsn: str | None, schemas: tuple[str, ...], tables: tuple[str, ...],
                      role: str | None, profile: str, output: str | None, connect_timeout: float, statement_timeout: float,
                      lock_timeout: float) -> None:
    """Write a --decisions template for every selected table that needs a replica-identity decision.

    Each value is a suggestion to review (why: on stderr): add_pk when a primary key or a unique NOT NULL
    index exists (the fix is an identity change), replica_identity_full for keyless tables up to 1 GiB,
    add_pk for larger keyless ones and for tables with a column type a native subscriber cannot compare
    under FULL (json, xml, point, ...). With --profile, only what that consumer accepts (e.g. add_pk where
    it requires a primary key, replica_identity_full where it requires FULL). Read-only, like 'check'.
    """
    options = build_options(ctx, None, {"checks": ["table_keys"]})
    try:
        parse_dsn(options.dsn)
        report = run_preflight(options)
    except (DsnError, RegistryError) as exc:
        usage_error(str(exc))
    result = report.check("table_keys")
    if result.status in (CheckStatus.ERROR, CheckStatus.SKIP):
        reach = report.check("reachability").findings
        reason = result.error or (reach[0].message if reach else result.skip_reason)
        echo(f"pg-preflight: decisions: could not judge the tables: {reason}", err=True)
        sys.exit(ExitCode.INCOMPLETE)
    missing = [f.object for f in result.findings if f.code == "table_missing"]
    if missing:  # a template without them would look like "nothing to decide"
        usage_error(f"decisions: no such table: {', '.join(str(name) for name in missing)} (-t takes schema.table; "
                    "names are case-sensitive)")
    document, notes = template(report)
    text = json_visible(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            usage_error(f"cannot write {output}: {exc.strerror or exc}")
    else:
        echo(text, nl=False)
    for note in notes or ["no table needs a decision"]:
        echo(f"# {note}", err=True)
