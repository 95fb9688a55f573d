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

from preflight.models import CheckResult
from preflight.statements import OnPrimary, SettingChange, Step

NEEDED_ON_BOTH = frozenset({"wal_level"})


def route_to_primary(results: list[CheckResult]) -> None:
    """Move every statement a standby refuses from the findings' SQL to steps naming the primary."""
    for result in results:
        for finding in result.findings:
            remediation = finding.remediation
            here = [s for s in remediation.sql if s.on_standby]
            there: list[Step] = [OnPrimary(s) for s in remediation.sql if not s.on_standby]
            both: list[Step] = [OnPrimary(s, also=True) for s in here
                                if isinstance(s, SettingChange) and s.name in NEEDED_ON_BOTH]
            if there or both:
                remediation.sql = here
                remediation.steps = [*remediation.steps, *there, *both]
