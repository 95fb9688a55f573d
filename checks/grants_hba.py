"""Under ``--role``: which pg_hba.conf lines would take the judged role's TCP connections to this database.

The consumer's address is not known here, so the answer is the ordered list of ``host`` / ``hostssl``
(and ``hostnossl``, ``hostnogssenc``) lines whose database and user fields match: the first one whose
address covers every address ends the list (lines after it are never tried). A ``replication=database``
connection is matched like its ordinary database connection, so one answer covers both. It replaces
"not proven" only where the checker may read ``pg_hba_file_rules``.
"""

from __future__ import annotations

import ipaddress

from preflight.codes import Code, declare
from preflight.facts import HbaLine, HbaRules
from preflight.models import Finding, Remediation, Severity
from preflight.statements import RELOAD, advice

CODES = declare(
    Code("hba_file_errors", Severity.WARNING, "pg_hba.conf has invalid lines: a reload keeps the old rules",
         explain="Fix the lines pg_hba_file_rules reports, then reload."),
    Code("hba_no_line", Severity.ERROR, "no pg_hba.conf line matches the consumer's TCP connections",
         explain="Add a host/hostssl line for the role, the database and the consumer's address, then reload."),
    Code("hba_rejects", Severity.ERROR, "the first pg_hba.conf line matching the consumer rejects it",
         explain="Put an accepting line for the consumer's address before the reject line, then reload."),
    Code("hba_reject_precedes", Severity.WARNING, "a reject line comes before the line that accepts the consumer",
         explain="Make sure the consumer's address does not fall under the reject line."),
    Code("hba_lines", (Severity.INFO, Severity.WARNING), "the pg_hba.conf lines the consumer's connections meet, in "
         "order (a warning when none accepts)", explain="Check the consumer's address falls under an accepting line."),
)

# The connection types a TCP consumer's connection can match, with and without TLS (GSS encryption aside).
TCP_TYPES = {"TLS": ("host", "hostssl", "hostnogssenc"), "without TLS": ("host", "hostnossl", "hostnogssenc")}
EVERY_ADDRESS = {"all", "0.0.0.0/0", "::/0"}
MAX_LINES = 10  # listed per connection kind


def covers_every_address(line: HbaLine) -> bool:
    if line.address in EVERY_ADDRESS:
        return True
    return line.netmask in ("0.0.0.0", "::") or (line.address or "").endswith(("/0",))


def candidates(rules: HbaRules, types: tuple[str, ...]) -> list[HbaLine]:
    """The lines that can take the role's connection, in order, up to the first covering every address."""
    out: list[HbaLine] = []
    for line in rules.lines or []:
        if line.error or line.type not in types or not (line.matches_database and line.matches_role):
            continue
        out.append(line)
        if covers_every_address(line):
            break
    return out


def address_of(line: HbaLine) -> str:
    """The line's address as written in CIDR form where it has a mask (127.0.0.1/32)."""
    address = line.address or "?"
    if line.netmask:
        try:
            return str(ipaddress.ip_network(f"{address}/{line.netmask}", strict=False))
        except ValueError:
            return f"{address} mask {line.netmask}"
    return address


def describe(line: HbaLine) -> str:
    where = f"{line.file_name}:{line.line_number}" if line.file_name else f"line {line.line_number}"
    return f"{where} ({line.type} from {address_of(line)}: {line.auth_method})"


def hba_findings(rules: HbaRules | None, findings: list[Finding]) -> list[Finding]:
    """``findings`` with "replication not proven" replaced by what pg_hba.conf says, when it could be read."""
    if rules is None or not rules.readable:
        return findings
    kept = [f for f in findings if f.code != "replication_not_proven"]
    return kept + _judge(rules)


def _judge(rules: HbaRules) -> list[Finding]:
    role, database = rules.role or "?", rules.database or "?"
    out: list[Finding] = []
    broken = [line for line in rules.lines or [] if line.error]
    if broken:
        out.append(Finding(
            code="hba_file_errors", severity=Severity.WARNING, object="pg_hba.conf",
            observed=f"{len(broken)} invalid line(s)", expected="no errors",
            message="pg_hba.conf has invalid lines (" + "; ".join(
                f"line {line.line_number}: {line.error}" for line in broken[:3]) + "): a reload keeps the last "
                "file that loaded, so what is enforced may differ from what is read here.",
            remediation=Remediation(steps=[advice("Fix the file's errors, then reload (", RELOAD, ").")]),
        ))
    by_kind = {kind: candidates(rules, types) for kind, types in TCP_TYPES.items()}
    if not any(by_kind.values()):
        out.append(Finding(
            code="hba_no_line", severity=Severity.ERROR, object=role, observed="no matching line",
            expected="a host/hostssl line for the role and database",
            message=f"No pg_hba.conf line matches TCP connections (host/hostssl) as {role} to database {database}: "
                    "the consumer's connections, its replication=database connection included, would be refused.",
            remediation=Remediation(steps=[
                f"Add a hostssl line for database {database} and user {role} from the consumer's address (the "
                "'replication' keyword does not match logical replication connections), then reload."]),
        ))
        return out
    for kind, lines in by_kind.items():
        if not lines:
            continue
        first = lines[0]
        listed = ", ".join(("REJECT " if line.auth_method == "reject" else "") + describe(line)
                           for line in lines[:MAX_LINES])
        if first.auth_method == "reject" and covers_every_address(first):
            out.append(Finding(
                code="hba_rejects", severity=Severity.ERROR, object=role, observed=describe(first),
                expected="a line accepting the role",
                message=f"pg_hba.conf rejects every TCP connection {kind} as {role} to database {database}: "
                        f"{describe(first)} is the first line that matches, whatever the address.",
                remediation=Remediation(steps=[
                    "Put a line accepting the consumer's address for this role and database before it, then reload."]),
            ))
            continue
        rejects = [line for line in lines if line.auth_method == "reject"]
        accepts = [line for line in lines if line.auth_method != "reject"]
        if rejects and accepts:
            out.append(Finding(
                code="hba_reject_precedes", severity=Severity.WARNING, object=role,
                observed=", ".join(describe(line) for line in rejects[:MAX_LINES]),
                message=f"For connections {kind} as {role} to {database}, pg_hba.conf tries in order: {listed}. "
                        "A consumer from an address under a REJECT line is refused before a later line could accept "
                        "it; the consumer's address cannot be known from here.",
            ))
            continue
        out.append(Finding(
            code="hba_lines", severity=Severity.INFO if accepts else Severity.WARNING, object=role,
            message=f"For connections {kind} as {role} to {database} (replication=database connections match the "
                    f"same lines), pg_hba.conf tries in order: {listed}. Whether the consumer's address falls under "
                    "them cannot be known from here.",
        ))
    return out
