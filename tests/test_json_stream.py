"""Streamed JSON == model JSON: the pieces ``--format json`` writes (stdout and files) parse to exactly the
document the report model dumps, hostile text included (non-printable characters travel as ``\\uXXXX``
escapes, which parse back to the same strings)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from preflight import Options, run_preflight
from preflight.models import Finding, Remediation, Report, Severity, TableEntry
from preflight.reports import FORMATS, pieces
from preflight.statements import as_statement
from tests.canned import canned_report
from tests.conftest import PLUMBING, run_cli
from tests.servers import Server

# Terminal controls, bidi override, DEL, C1, line separators, a tag character beyond the BMP, quotes and
# backslashes: each must survive the stream as the same string.
HOSTILE = ['esc\x1b[2J\x07', 'bidi\u202eevil', 'cr\rlf\nname', 'tab\tdel\x7f', 'c1\x9bx', 'line\u2028sep',
           'zero\u200bwidth', 'tag\U000e0041', 'quote"back\\slash', '日本語 Ünïcode', '']


def model_document(report: Report) -> Any:
    """The model's JSON document; optional sections the report does not have (``databases`` without
    --all-databases) are left out, as the contract says."""
    return report.model_dump(mode="json", by_alias=True, exclude=set(report.absent_fields()))


def assert_stream_is_the_model(report: Report) -> str:
    """The streamed text parses to the model's document, keys in the same order; nothing raw in it."""
    text = "".join(pieces("json", report))
    parsed, model = json.loads(text), model_document(report)
    assert parsed == model
    assert json.dumps(parsed, ensure_ascii=False) == json.dumps(model, ensure_ascii=False)  # key order too
    assert parsed == json.loads(report.to_json())  # the document json.py says it gives
    assert text == FORMATS["json"](report)
    assert text.replace("\n", "").isprintable(), "non-printable characters are written as escapes"
    return text


def hostile_canned_report() -> Report:
    """The canned report with hostile text in every string a check, finding, table, target or option holds."""
    report = canned_report()
    for n, check in enumerate(report.checks):
        check.summary = HOSTILE[n % len(HOSTILE)]
        for m, finding in enumerate(check.findings):
            text = HOSTILE[(n + m) % len(HOSTILE)]
            check.findings[m] = replace(finding, message=text, object=text, observed=text, expected=text,
                                        remediation=Remediation(sql=[as_statement(f"SELECT '{t}';") for t in HOSTILE],
                                                                steps=list(HOSTILE)))
    report.check("grants").error = HOSTILE[0]
    report.check("publication").skip_reason = HOSTILE[1]
    report.checks[0].findings.append(Finding(code="hostile", severity=Severity.INFO, message="\n".join(HOSTILE),
                                             observed=len(HOSTILE)))
    report.tables = [TableEntry(schema=text, name=text, kind="table", persistence="permanent", has_primary_key=False,
                                replica_identity="default", identity_index=text, candidate_index=text,
                                status="needs_decision", size_bytes=n)
                     for n, text in enumerate(HOSTILE)]
    report.target.dsn = f"host=db user={HOSTILE[0]} password=***"
    report.target.user = HOSTILE[1]
    report.options = {"schemas": HOSTILE, "decisions": {text: "exclude" for text in HOSTILE}, "role": HOSTILE[2]}
    return report


def test_canned_report_streams_as_the_model() -> None:
    assert_stream_is_the_model(canned_report())


def test_hostile_text_streams_as_the_model() -> None:
    report = hostile_canned_report()
    text = assert_stream_is_the_model(report)
    assert "\\u001b[2J\\u0007" in text and "\\u202e" in text and "\\udb40\\udc41" in text  # escaped, not raw
    assert [t["name"] for t in json.loads(text)["tables"]] == HOSTILE


def test_empty_report_streams_as_the_model() -> None:
    report = canned_report()
    report.checks, report.tables = [], []
    for check in canned_report().checks:
        check.findings = []
        report.checks.append(check)
    assert_stream_is_the_model(report)
    report.checks = []
    assert_stream_is_the_model(report)


@pytest.fixture()
def hostile_server(servers: Callable[..., Server]) -> Iterator[Server]:
    """A server of its own with keyless tables under hostile names (their findings and SQL carry them)."""
    server = servers()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for name in [h for h in HOSTILE if h]:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE TABLE {} (v text)").format(sql.Identifier(name, name)))
    yield server
    server.destroy()


@PLUMBING
@pytest.mark.server
def test_real_server_report_streams_as_the_model(hostile_server: Server, tmp_path: Path) -> None:
    report = run_preflight(Options(dsn=hostile_server.dsn()))
    text = assert_stream_is_the_model(report)
    assert {t["schema"] for t in json.loads(text)["tables"]} == {h for h in HOSTILE if h}
    # the CLI's streamed outputs, on stdout and to a file: the model reads each back to the same document
    path = tmp_path / "report.json"
    to_stdout = run_cli("check", hostile_server.dsn(), "--format", "json")
    to_file = run_cli("check", hostile_server.dsn(), "--format", "table", "-o", f"json:{path}")
    assert (to_stdout.exit_code, to_file.exit_code) == (1, 1), to_stdout.stderr + to_file.stderr
    for text in (to_stdout.stdout, path.read_text(encoding="utf-8")):
        assert json.loads(text) == model_document(Report.model_validate_json(text))
        assert {t["schema"] for t in json.loads(text)["tables"]} == {h for h in HOSTILE if h}
