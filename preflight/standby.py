"""On a standby source, what must run on the primary says so, and is never pasted where it fails.

A standby accepts no writes: GRANT, ALTER ROLE, CREATE PUBLICATION, ALTER TABLE ... fail there with
"cannot execute ... in a read-only transaction". ``ALTER SYSTEM`` (not a database write) and a reload
apply to the server they run on, the standby's own settings (``hot_standby_feedback``,
``max_replication_slots``), and ``pg_terminate_backend`` ends a session where it runs. Every other
statement leaves the script and becomes a step "Run on the primary: ...", in the order it was printed.
Logical decoding on a standby (16+) needs ``wal_level = logical`` on the primary as well: a fix of the
standby's ``wal_level`` adds that step too.
"""

from __future__ import annotations

from dataclasses import replace

from preflight.models import CheckResult, Finding
from preflight.setting_text import parse_alter_system

ON_PRIMARY = "Run on the primary: "
ALSO_ON_PRIMARY = "Run on the primary as well (decoding on a standby needs it there too): "
RUNS_WHERE_IT_IS = ("SELECT pg_catalog.pg_reload_conf()", "SELECT pg_catalog.pg_terminate_backend(")
NEEDED_ON_BOTH = frozenset({"wal_level"})


def runs_on_a_standby(statement: str) -> bool:
    """A statement that succeeds on a standby and changes what the standby itself needs."""
    return parse_alter_system(statement) is not None or statement.startswith(RUNS_WHERE_IT_IS)


def route_to_primary(results: list[CheckResult]) -> None:
    """Move every statement a standby refuses from the findings' SQL to steps naming the primary (findings are
    frozen: a routed one is replaced by a new finding)."""
    for result in results:
        result.findings = [_routed(finding) for finding in result.findings]


def _routed(finding: Finding) -> Finding:
    remediation = finding.remediation
    here = [s for s in remediation.sql if runs_on_a_standby(s)]
    there = [ON_PRIMARY + s for s in remediation.sql if not runs_on_a_standby(s)]
    both = [ALSO_ON_PRIMARY + s for s in here if (parsed := parse_alter_system(s)) and parsed[0] in NEEDED_ON_BOTH]
    if not (there or both):
        return finding
    return replace(finding, remediation=replace(remediation, sql=here, steps=[*remediation.steps, *there, *both]))
