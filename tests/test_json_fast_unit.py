"""The JSON report, written in pieces and records in batches, is byte for byte what the model's own
serialisation gives, hostile text escaped; and the unvalidated constructors build the same records as
the validated ones."""

from __future__ import annotations

import json
import math

import pytest

from preflight.checks.table_keys import new_entry
from preflight.models import Finding, Remediation, Report, Severity, TableEntry
from preflight.remediation import new_finding, new_remediation
from preflight.reports import json as json_report
from preflight.statements import as_statement
from preflight.terminal import decode, json_visible
from tests.canned import canned_report
from tests.test_json_stream import hostile_canned_report
from tests.test_safe_text_unit import NON_PRINTABLE, _hostile_names_report

# Non-printable, undecodable, beyond the BMP, JSON's own escapes, and plain text that must stay as is.
NASTY = [*NON_PRINTABLE, decode(b"bad\xff\xfename"), "astral \U0001f600 ok", 'q"uote\\back/slash', "tab\tcr\r",
         "", " ", "Ünïcode 日本語", "\x00nul", "\ud800lone"]


def _nasty_report() -> Report:
    report = canned_report()
    check = report.check("logical_replication")
    for n, text in enumerate(NASTY):
        check.findings.append(Finding(code=text, severity=Severity.WARNING, message=text, object=text, observed=text,
                                      expected=n, remediation=Remediation(sql=[as_statement(text), as_statement(text)], steps=[text]),
                                      waived=bool(n % 2), waiver_reason=text if n % 2 else None))
        check.findings.append(new_finding(text, Severity.ERROR, text, None, n % 3 == 0, None,
                                          new_remediation([as_statement(text)] if n % 2 else [], [])))
        report.tables.append(TableEntry(schema=text, name=text, kind="table", persistence="permanent",
                                        has_primary_key=bool(n % 2), replica_identity="index", identity_index=text,
                                        candidate_index=text, decision="exclude", status="excluded", size_bytes=n))
        report.tables.append(new_entry(text, text, "partitioned_table", "unlogged", False, "nothing", None,
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
    return [canned_report(), _hostile_names_report(), hostile_canned_report(), empty]


@pytest.mark.parametrize("report", _reports(), ids=["canned", "hostile_names", "hostile", "empty"])
def test_the_stream_is_the_models_json_made_printable(report: Report) -> None:
    """Byte for byte what ``Report.to_json()`` gives, non-printable characters escaped."""
    text = json_report.render(report)
    assert text == json_visible(report.to_json()) + "\n"
    assert text.replace("\n", "").isprintable()


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")
@pytest.mark.parametrize("batch", [1, 2, 3, 255])
def test_any_batch_size_gives_the_same_text(batch: int) -> None:
    """Records pydantic cannot write in a batch (text that was not valid in its encoding) are written one by
    one, floats and mutated fields included; the document is the model's."""
    report = _nasty_report()
    text = "".join(json_report.chunks(report, batch))
    assert text == json_report.render(report)
    assert all(line.isprintable() for line in text.split("\n"))
    model = report.model_dump(mode="json", by_alias=True, exclude=report.absent_fields())
    infinite = [f for c in model["checks"] for f in c["findings"] if f["expected"] == math.inf]
    assert len(infinite) == 1
    infinite[0]["expected"] = None  # JSON has no Infinity: written as null, as Report.to_json() writes it
    assert json.loads(text) == model


def test_pieces_are_gathered_but_the_text_is_the_same() -> None:
    report = canned_report()
    report.tables = [new_entry("public", f"t{n}", "table", "permanent", True, "default", None, None, None, "ok", n)
                     for n in range(3000)]
    pieces = list(json_report.chunks(report))
    assert len(pieces) > 2
    assert all(len(p) >= json_report.PIECE_CHARS for p in pieces[:-1])
    assert "".join(pieces) == report.to_json() + "\n"
    assert len(json.loads("".join(pieces))["tables"]) == 3000


def test_unvalidated_constructors_build_what_validation_builds() -> None:
    assert new_entry("s", "t", "table", "permanent", True, "index", "i", "c", "add_pk", "decided", 8) == TableEntry(
        schema="s", name="t", kind="table", persistence="permanent", has_primary_key=True, replica_identity="index",
        identity_index="i", candidate_index="c", decision="add_pk", status="decided", size_bytes=8)
    assert new_finding("c", Severity.ERROR, "m", "o", "x", "y", new_remediation([as_statement("s")], ["t"])) == Finding(
        code="c", severity=Severity.ERROR, message="m", object="o", observed="x", expected="y",
        remediation=Remediation(sql=[as_statement("s")], steps=["t"]))
