"""The markdown, junit and html formats: structure, escaping of hostile report text, self-containment,
a real headless-browser rendering, and each format produced from a real server run."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from preflight.models import CheckStatus, Report
from preflight.reports import FORMATS, html, markdown
from tests.canned import canned_report
from tests.conftest import PLUMBING, run_cli
from tests.servers import Server

GOLDEN = Path(__file__).parent / "golden"
HOSTILE = 'say "hi" & \'bye\' <script>alert(1)</script> ``` | x | y |\x00\x07\x1b end\n```\n| a | b |\n---'


def hostile_report() -> Report:
    """The canned report with hostile text in every place a finding and a check carry text."""
    report = canned_report()
    check = report.check("logical_replication")
    check.summary = HOSTILE
    check.findings[0] = replace(check.findings[0], message=HOSTILE, object=HOSTILE, observed=HOSTILE)
    report.check("grants").error = HOSTILE
    report.check("publication").skip_reason = HOSTILE
    return report


# ---- junit ----------------------------------------------------------------------------------------------

def test_junit_parses_with_the_right_counts_and_names() -> None:
    root = ET.fromstring(FORMATS["junit"](canned_report()))
    suites = list(root.iter("testsuite"))
    assert len(suites) == 1
    suite = suites[0]
    assert suite.get("name") == "pg-preflight"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("6", "1", "1", "1")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == [c.id for c in canned_report().checks]
    assert {c.get("classname") for c in cases} == {"pg-preflight.app"}
    by_name = {c.get("name"): c for c in cases}
    failure = by_name["logical_replication"].find("failure")
    assert failure is not None and failure.get("type") == "fail"
    assert failure.get("message") == "wal_level=replica, max_replication_slots=2"
    assert "wal_level_not_logical" in (failure.text or "") and "observed: replica; required: logical" in (failure.text or "")
    error = by_name["grants"].find("error")
    assert error is not None and "55P03" in (error.text or "")
    skipped = by_name["publication"].find("skipped")
    assert skipped is not None and skipped.get("message") == "requires grants, which was skipped"
    warn = by_name["existing_slots"]
    assert warn.find("failure") is None and warn.find("error") is None and warn.find("skipped") is None
    assert "slot_inactive" in (warn.findtext("system-out") or "")
    assert len(suite.findall("testcase/failure")) == 1 and len(suite.findall("testcase/error")) == 1
    assert by_name["reachability"].get("time") == "0.004"
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["verdict"] == "not_ready" and props["server_version"] == "15.18"
    assert props["dsn"] == "postgresql://cdc:***@db.example.com:5432/app"


def test_junit_escapes_hostile_text() -> None:
    text = FORMATS["junit"](hostile_report())
    assert "\x00" not in text and "\x07" not in text and "\x1b" not in text
    assert "<script>" not in text
    suite = ET.fromstring(text).find("testsuite")
    assert suite is not None
    failure = suite.find("testcase[@name='logical_replication']/failure")
    assert failure is not None
    cleaned = HOSTILE.replace("\x00", "\\x00").replace("\x07", "\\x07").replace("\x1b", "\\x1b")
    assert failure.get("message") == cleaned  # shown visibly, never dropped; newlines round-trip
    assert "<script>alert(1)</script>" in (failure.text or "")
    skipped = suite.find("testcase[@name='publication']/skipped")
    assert skipped is not None and skipped.get("message") == cleaned


# ---- markdown -------------------------------------------------------------------------------------------

_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`).*?(?<!`)\1(?!`)")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)(?:\\\\)*\|")


def _block_after(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = lines.index(heading) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def test_markdown_hostile_text_cannot_break_the_table_or_the_fence() -> None:
    report = hostile_report()
    text = FORMATS["markdown"](report)
    assert "\x00" not in text and "\x1b" not in text
    prose = _CODE_SPAN.sub("", text.split("### Remediation script")[0])  # code is literal text in Markdown
    assert "<script>" not in prose and "\\<script\\>" in prose
    rows = _block_after(text, "### Checks")
    assert len(rows) == 2 + len(report.checks), "a newline in a cell would end the table early"
    for row in rows:
        assert row.startswith("| ") and row.endswith(" |")
        assert len(_UNESCAPED_PIPE.findall(row)) == 4, row  # 3 cells: no pipe from data splits a cell
    findings = _block_after(text, "### Findings")
    assert all(line.startswith("- **") for line in findings), "a newline in a message would leave its list item"
    # the SQL fence is longer than any backtick run inside; nothing closes it before its own closing line
    lines = text.splitlines()
    opening = next(i for i, line in enumerate(lines) if re.fullmatch(r"`{3,}sql", line))
    fence = lines[opening][:-3]
    assert len(fence) > 3
    closers = [i for i in range(opening + 1, len(lines)) if re.match(rf"^ {{0,3}}`{{{len(fence)},}}\s*$", lines[i])]
    assert closers == [len(lines) - 1]
    assert "```" in "\n".join(lines[opening + 1 : -1])  # the hostile fence is inside, as text


def test_markdown_canned_shape() -> None:
    text = FORMATS["markdown"](canned_report())
    assert text.startswith("## pg-preflight: NOT READY\n")
    assert "`postgresql://cdc:***@db.example.com:5432/app` (PostgreSQL 15.18, primary)" in text
    assert "| `Sales EU.\"a\"\"b; DROP\"` | needs_decision |" in text
    assert "public.orders" not in text  # ok tables are not listed
    assert "connected" not in text.split("### Findings")[1]  # info findings are not listed
    assert markdown.fence_for("a ```` b") == "`````" and markdown.fence_for("none") == "```"
    assert markdown.code("a`b|c", in_table=True) == "``a`b\\|c``"


# ---- html -----------------------------------------------------------------------------------------------

class _Scripts(HTMLParser):
    """Counts script elements and collects every tag, as a browser's tokenizer would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.tags: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def test_html_escapes_hostile_text() -> None:
    text = FORMATS["html"](hostile_report())
    parser = _Scripts()
    parser.feed(text)
    assert parser.scripts == [html.SCRIPT], "the only script is ours"
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "\x00" not in text and "\x1b" not in text
    assert "&quot;hi&quot;" in text


@pytest.mark.parametrize("report", [canned_report(), hostile_report()], ids=["canned", "hostile"])
def test_html_has_no_external_references(report: Report) -> None:
    text = FORMATS["html"](report).lower()
    for needle in ('src="http', "src=http", "<link", "@import", "url(", "<img", "<iframe", "//fonts."):
        assert needle not in text, needle
    assert re.findall(r'href="([^"]*)"', text) == ["https://www.postgresql.org/docs/current/logical-replication.html"]
    assert "content-security-policy" in text and "default-src 'none'" in text


def test_html_lists_tables_needing_a_decision_first() -> None:
    text = FORMATS["html"](canned_report())
    assert text.index('id="tables-needs_decision"') < text.index('id="tables-ok"')
    assert "-- SELECT pg_catalog.pg_drop_replication_slot" in text  # destructive SQL stays commented out
    assert "\nSELECT pg_catalog.pg_drop_replication_slot" not in text and ">SELECT pg_catalog.pg_drop" not in text


def _chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "chromium is required for this test (Debian: apt-get install chromium)"  # fail, never skip
    return binary


def _chromium_args(tmp_path: Path) -> list[str]:
    return [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}"]


def test_headless_chromium_renders_the_page(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    shutil.copy(GOLDEN / "canned.html.txt", page)
    dom = subprocess.run([*_chromium_args(tmp_path), "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert '<div class="word">NOT READY</div>' in dom.stdout
    assert 'tabindex="0"' in dom.stdout, "the inline script ran (its CSP hash matches)"
    shot = tmp_path / "page.png"
    proc = subprocess.run([*_chromium_args(tmp_path), f"--screenshot={shot}", "--window-size=1280,2000", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.exists() and shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- a real server --------------------------------------------------------------------------------------

@pytest.mark.server
@PLUMBING
@pytest.mark.parametrize("fmt", ["markdown", "junit", "html"])
def test_real_server_in_each_format(fmt: str, logical_server: Server) -> None:
    dsn = logical_server.dsn()
    result = run_cli("check", dsn, "--format", fmt)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert str(conninfo_to_dict(dsn)["password"]) not in out
    if fmt == "markdown":
        assert out.startswith("## pg-preflight: READY\n") and "| `reachability` | PASS |" in out
    elif fmt == "junit":
        suite = ET.fromstring(out).find("testsuite")
        assert suite is not None
        assert (suite.get("failures"), suite.get("errors")) == ("0", "0")
        names = [c.get("name") for c in suite.findall("testcase")]
        assert "reachability" in names and int(suite.get("tests") or 0) == len(names)
        props = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert props["verdict"] == "ready" and props["server_version"]
    else:
        assert '<div class="word">READY</div>' in out and out.rstrip().endswith("</html>")
        assert out.count(f'badge s-{CheckStatus.FAIL.value}"') == 0
