"""The small things that erode trust, without a server: diff's fixed list and sizes, --help defaults a
profile overrides, the --request wording, "did you mean", and when the table is coloured or wrapped."""

from __future__ import annotations

import io

import pytest

from preflight.diff import diff_reports, render_diff
from preflight.models import CheckStatus, Finding, Report, Severity
from preflight.suggest import closest
from preflight.terminal import terminal_width, use_colour
from tests.canned import canned_report
from tests.conftest import run_cli


def with_findings(*findings: Finding) -> Report:
    report = canned_report()
    report.checks[0].findings = list(findings)
    report.checks[0].status = CheckStatus.PASS
    return report


def test_diff_never_lists_an_observation_as_fixed_and_shows_sizes() -> None:
    rate = Finding(code="slot_retention_unlimited", severity=Severity.INFO, message="a day of WAL", object="x",
                   observed=346_660_864)
    gone = with_findings(rate)
    now = with_findings(Finding(code="slot_retention_unlimited", severity=Severity.INFO, message="a day of WAL",
                                object="x", observed=3 * 1024**3))
    text = render_diff(diff_reports(gone, now))
    assert "~ changed: reachability/slot_retention_unlimited [x]: 330.6MB -> 3GB" in text
    assert "fixed" not in render_diff(diff_reports(gone, with_findings()))  # an info that went away is no fix
    problem = Finding(code="slot_inactive", severity=Severity.WARNING, message="m", object="s")
    assert "- fixed: reachability/slot_inactive [s]" in render_diff(diff_reports(with_findings(problem), with_findings()))


def test_help_shows_each_profiles_value_and_names_the_request_it_mirrors() -> None:
    text = " ".join(run_cli("check", "--help", env={"COLUMNS": "200"}).stdout.split())
    assert "--slots-needed" in text and "[default: (from --profile: generic 3," in text
    assert "Free replication slots the consumer needs. [default: 1" not in text
    assert "seed-API" not in text and "preflight request to the hosted CDC connector's API" in text


@pytest.mark.parametrize(("word", "names", "expected"), [
    ("grant", ["grants", "table_keys"], ["grants"]),
    ("Orders", ["orders", "order_items"], ["orders"]),  # the same but for case first, alone
    ("zzz", ["grants"], []),
])
def test_closest_names(word: str, names: list[str], expected: list[str]) -> None:
    assert closest(word, names) == expected


class FakeTty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_and_width_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour("auto", FakeTty()) and not use_colour("auto", io.StringIO())
    assert use_colour("always", io.StringIO()) and not use_colour("never", FakeTty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour("auto", FakeTty()) and use_colour("always", FakeTty())
    monkeypatch.setenv("NO_COLOR", "")  # set but empty: no preference
    assert use_colour("auto", FakeTty())
    monkeypatch.setenv("COLUMNS", "132")
    assert terminal_width(io.StringIO()) == 132
    monkeypatch.delenv("COLUMNS")
    assert terminal_width(io.StringIO()) is None  # a pipe or a file: the default width


def test_explain_wraps_at_the_terminal_width_between_words() -> None:
    text = run_cli("explain", "slot_capacity", env={"COLUMNS": "60"}).stdout
    assert max(len(line) for line in text.splitlines()) <= 60
    wide = run_cli("explain", "slot_capacity", env={"COLUMNS": "1000"}).stdout
    assert text.split() == wide.split()  # only whitespace moved: no word split
