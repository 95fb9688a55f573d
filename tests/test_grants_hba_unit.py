"""--role audits: which pg_hba.conf lines would take the role's TCP connections (hand-built rules)."""

from __future__ import annotations

from preflight.checks import grants
from preflight.checks.grants_hba import hba_findings
from preflight.facts import HbaLine, HbaRules
from preflight.models import Finding, Severity

NOT_PROVEN = Finding(code="replication_not_proven", severity=Severity.INFO, message="not probed")


def line(number: int, kind: str, address: str | None, method: str, *, db: bool = True, user: bool = True,
         netmask: str | None = None) -> HbaLine:
    return HbaLine(line_number=number, type=kind, auth_method=method, address=address, netmask=netmask,
                   matches_database=db, matches_role=user)


def judge(*lines: HbaLine) -> dict[str, list[Finding]]:
    """The grants check's pg_hba.conf findings for ``lines``, admitted by its declaration (codes and severities)."""
    found: dict[str, list[Finding]] = {}
    findings = hba_findings(HbaRules(readable=True, role="cdc", database="app", lines=list(lines)), [NOT_PROVEN])
    grants.CODES.admit(grants.Grants.id, findings)
    for f in findings:
        found.setdefault(f.code, []).append(f)
    return found


def test_unreadable_rules_keep_not_proven() -> None:
    assert hba_findings(HbaRules(readable=False), [NOT_PROVEN]) == [NOT_PROVEN]
    assert hba_findings(None, [NOT_PROVEN]) == [NOT_PROVEN]


def test_matching_lines_are_listed_in_order_up_to_the_one_covering_every_address() -> None:
    found = judge(line(1, "local", None, "trust"),
                  line(2, "hostssl", "10.0.0.0", "scram-sha-256", netmask="255.0.0.0"),
                  line(3, "host", "all", "scram-sha-256"),
                  line(4, "host", "all", "md5"))
    assert "replication_not_proven" not in found
    tls = next(f for f in found["hba_lines"] if "TLS as cdc" in f.message and "without" not in f.message)
    assert "line 2 (hostssl from 10.0.0.0/8: scram-sha-256), line 3" in tls.message and "line 4" not in tls.message
    plain = next(f for f in found["hba_lines"] if "without TLS" in f.message)
    assert "line 2" not in plain.message and "line 3" in plain.message


def test_lines_for_other_roles_or_databases_do_not_count() -> None:
    found = judge(line(1, "host", "all", "scram-sha-256", user=False), line(2, "host", "all", "trust", db=False),
                  line(3, "host", "all", "scram-sha-256"))
    assert "line 3" in found["hba_lines"][0].message and "line 1" not in found["hba_lines"][0].message


def test_no_matching_line_fails() -> None:
    found = judge(line(1, "host", "all", "scram-sha-256", user=False), line(2, "local", None, "trust"))
    assert [f.severity for f in found["hba_no_line"]] == [Severity.ERROR]


def test_a_reject_for_every_address_first_fails_and_a_narrower_one_warns() -> None:
    assert [f.severity for f in judge(line(1, "host", "all", "reject"), line(2, "host", "all", "trust"))["hba_rejects"]] \
        == [Severity.ERROR, Severity.ERROR]
    narrow = judge(line(1, "host", "192.168.0.0", "reject", netmask="255.255.0.0"), line(2, "host", "all", "trust"))
    assert "hba_rejects" not in narrow
    assert all(f.severity is Severity.WARNING and "REJECT line 1" in f.message for f in narrow["hba_reject_precedes"])


def test_invalid_lines_are_reported() -> None:
    broken = HbaLine(line_number=7, type=None, auth_method=None, error="invalid authentication method")
    found = judge(broken, line(8, "host", "all", "trust"))
    assert "line 7: invalid authentication method" in found["hba_file_errors"][0].message
