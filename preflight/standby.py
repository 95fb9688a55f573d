"""On a standby source, what must run on the primary says so, and is never pasted where it fails.

A standby accepts no writes: GRANT, ALTER ROLE, CREATE PUBLICATION, ALTER TABLE ... fail there with
"cannot execute ... in a read-only transaction". A setting change by ``ALTER SYSTEM`` (not a database
write) and a reload apply to the server they run on, the standby's own settings
(``hot_standby_feedback``, ``max_replication_slots``): each statement value says where it runs
(``on_standby``). Every other statement leaves the script and becomes a step "Run on the primary: ...",
in the order it was printed. Logical decoding on a standby (16+) needs ``wal_level = logical`` on the
primary as well: a fix of the standby's ``wal_level`` adds that step too.
"""

from __future__ import annotations

from dataclasses import replace

from preflight.models import CheckResult, Finding
from preflight.statements import OnPrimary, SettingChange, Step

NEEDED_ON_BOTH = frozenset({"wal_level"})


def route_to_primary(results: list[CheckResult]) -> None:
    """Move every statement a standby refuses from the findings' SQL to steps naming the primary (findings are
    frozen: a routed one is replaced by a new finding)."""
    for result in results:
        result.findings = [_routed(finding) for finding in result.findings]


def _routed(finding: Finding) -> Finding:
    remediation = finding.remediation
    here = [s for s in remediation.sql if s.on_standby]
    there: list[Step] = [OnPrimary(s) for s in remediation.sql if not s.on_standby]
    both: list[Step] = [OnPrimary(s, also=True) for s in here
                        if isinstance(s, SettingChange) and s.name in NEEDED_ON_BOTH]
    if not (there or both):
        return finding
    return replace(finding, remediation=replace(remediation, sql=here, steps=[*remediation.steps, *there, *both]))
