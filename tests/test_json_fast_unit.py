"""The JSON report's fast path (findings and table entries written straight from their attributes) gives
byte for byte what the models' own serialisation gives, hostile text included; and the unvalidated
constructors build the same records as the validated ones."""

from __future__ import annotations

import json
import math

import pytest

from preflight.models import Finding, Remediation, Report, Severity, TableEntry
from preflight.reports import json as json_report
from preflight.terminal import decode
from tests.canned import canned_report
from tests.test_safe_text_unit import NON_PRINTABLE, _hostile_names_report

# Non-printable, undecodable, beyond the BMP, JSON's own escapes, and plain text that must stay as is.
NASTY = [*NON_PRINTABLE, decode(b"bad\xff\xfename"), "astral \U0001f600 ok", 'q"uote\\back/slash', "tab\tcr\r",
         "", " ", "Ünïcode 日本語", "\x00nul", "\ud800lone"]


def _nasty_report() -> Report:
    report = canned_report()
    check = report.check("logical_replication")
    for n, text in enumerate(NASTY):
        check.findings.append(Finding(code=text, severity=Severity.WARNING, message=text, object=text, observed=text,
                                      expected=n, remediation=Remediation(sql=[text, text], steps=[text]),
                                      waived=bool(n % 2), waiver_reason=text if n % 2 else None))
        check.findings.append(Finding.trusted(text, Severity.ERROR, text, None, n % 3 == 0, None,
                                              Remediation.trusted([text] if n % 2 else [], [])))
        report.tables.append(TableEntry(schema=text, name=text, kind="table", persistence="permanent",
                                        has_primary_key=bool(n % 2), replica_identity="index", identity_index=text,
                                        candidate_index=text, decision="exclude", status="excluded", size_bytes=n))
        report.tables.append(TableEntry.trusted(text, text, "partitioned_table", "unlogged", False, "nothing", None,
                                                text or None, None, "not_publishable", None))
    # Values the fast path leaves to the model: floats (incl. non-finite), a field mutated to another type.
    check.findings.append(Finding(code="f", severity=Severity.INFO, message="m", observed=1.5, expected=math.inf))
    check.findings.append(Finding(code="f", severity=Severity.INFO, message="m", observed=-0.0, expected=1e300))
    odd = TableEntry(schema="s", name="t", kind="table", persistence="permanent", has_primary_key=True,
                     replica_identity="default", status="ok")
    odd.size_bytes = 2.5  # type: ignore[assignment]
    report.tables.append(odd)
    return report


def _reports() -> list[Report]:
    empty = canned_report()
    empty.tables = []
    for check in empty.checks:
        check.findings = []
    return [canned_report(), _hostile_names_report(), _nasty_report(), empty]


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
@pytest.mark.parametrize("report", _reports(), ids=["canned", "hostile_names", "nasty", "empty"])
def test_fast_path_writes_the_bytes_the_models_write(report: Report) -> None:
    fast = json_report.render(report)
    assert fast == "".join(json_report.model_chunks(report))
    assert all(line.isprintable() for line in fast.split("\n"))
    assert json.loads(fast) == report.model_dump(mode="json", by_alias=True, exclude=set(report.absent_fields()))


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
def test_every_record_of_the_nasty_report_is_written_alike_one_by_one() -> None:
    report = _nasty_report()
    findings = [f for c in report.checks for f in c.findings]
    for finding in findings:
        assert json_report.write_finding(finding, 8) == json_report.model_finding(finding, 8)
    for table in report.tables:
        assert json_report.write_table(table, 4) == json_report.model_table(table, 4)
    # The generic writer (used when a record's fields change) agrees too, wherever it writes a record at all.
    for record, model in [*((f, json_report.model_finding) for f in findings),
                          *((t, json_report.model_table) for t in report.tables)]:
        try:
            generic = json_report._record(record, 8)
        except json_report._Unusual:
            continue
        assert generic == model(record, 8)  # type: ignore[operator]


def test_pieces_are_gathered_but_the_text_is_the_same() -> None:
    report = canned_report()
    report.tables = [TableEntry.trusted("public", f"t{n}", "table", "permanent", True, "default", None, None, None,
                                        "ok", n) for n in range(3000)]
    pieces = list(json_report.chunks(report))
    assert len(pieces) > 2
    assert all(len(p) >= json_report.PIECE_CHARS for p in pieces[:-1])
    assert "".join(pieces) == "".join(json_report.model_chunks(report))
    assert len(json.loads("".join(pieces))["tables"]) == 3000


def test_unvalidated_constructors_build_what_validation_builds() -> None:
    assert TableEntry.trusted("s", "t", "table", "permanent", True, "index", "i", "c", "add_pk", "decided", 8) == TableEntry(
        schema="s", name="t", kind="table", persistence="permanent", has_primary_key=True, replica_identity="index",
        identity_index="i", candidate_index="c", decision="add_pk", status="decided", size_bytes=8)
    assert Finding.trusted("c", Severity.ERROR, "m", "o", "x", "y", Remediation.trusted(["s"], ["t"])) == Finding(
        code="c", severity=Severity.ERROR, message="m", object="o", observed="x", expected="y",
        remediation=Remediation(sql=["s"], steps=["t"]))
