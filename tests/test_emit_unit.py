"""Where the CLI writes a streamed rendering: its UTF-8 pieces go to stdout's binary stream and to ``--output``
files as they are, and a stdout without a binary stream (a caller of ``main`` that put a StringIO there) gets
the same text."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from preflight.cli.output import Output, emit
from preflight.models import Report
from preflight.reports import json as json_report
from tests.test_json_stream import hostile_canned_report


def _report() -> Report:
    return hostile_canned_report()  # non-printable and non-ASCII names: escaped, and written as UTF-8


def test_stdout_with_a_binary_stream_gets_the_utf8_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report()
    raw = io.BytesIO()
    stdout = io.TextIOWrapper(raw, encoding="utf-8")
    monkeypatch.setattr(sys, "stdout", stdout)
    emit(report, "json", [])
    stdout.flush()
    assert raw.getvalue() == json_report.render(report).encode()
    assert not raw.getvalue().isascii()  # the non-ASCII names travel as UTF-8, not escaped


def test_stdout_without_a_binary_stream_gets_the_text(monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report()
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    emit(report, "json", [])
    assert stdout.getvalue() == json_report.render(report)


def test_output_files_get_the_utf8_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    report = _report()
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    emit(report, "json", [Output("json", tmp_path / "r.json"), Output("markdown", tmp_path / "r.md")])
    assert (tmp_path / "r.json").read_bytes() == json_report.render(report).encode()
    assert (tmp_path / "r.md").read_text(encoding="utf-8").startswith("#")
