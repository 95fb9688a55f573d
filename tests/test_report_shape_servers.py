"""The terminal report a person reads, and the exit code a pipeline trusts, on real servers.

A broken server like many before their first CDC project (replica-level WAL, two slots with one taken,
a disabled sender timeout, 13 tables: some without a key, some the CDC role cannot read) is checked
as a user would: the short report fits an 80x50 screen with the verdict and the next step; at 60, 80
and 200 columns no line is wider than the terminal and no word is split (SQL excepted: it is never
wrapped); colour only on a terminal, never with NO_COLOR; every exit code and every mistake."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from collections.abc import Callable
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict

from preflight.connection.dsn import URI_HINT
from preflight.demo import DEMO_DB, DEMO_PASSWORD, DEMO_SETTINGS, DEMO_USER, SEED, SEED_DB
from preflight.models import ExitCode, Report
from preflight.pgserver import free_port
from preflight.reports import table
from tests.conftest import PLUMBING, run_cli
from tests.servers import Server
from tests.terminal import drain

pytestmark = PLUMBING  # the shape of a report is the client's: one server version is enough

MORE_TABLES = [
    "CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id bigint, placed_at timestamptz)",
    "CREATE TABLE public.order_items (order_id bigint NOT NULL, sku text NOT NULL, qty int)",
    "CREATE TABLE public.products (id bigint PRIMARY KEY, name text)",
    "CREATE TABLE public.tags (tag text, product_id bigint)",
    "CREATE TABLE billing.payments (invoice_id bigint, paid_at timestamptz, amount numeric)",
    "CREATE TABLE billing.refunds (id bigint PRIMARY KEY, payment_id bigint)",
    'CREATE TABLE "Sales EU".leads (id bigint PRIMARY KEY, email text)',
]
SQL_LINE = re.compile(r"^(-- )?(ALTER|GRANT|CREATE|SELECT|DROP|REVOKE|COMMENT) ")
ESCAPE = re.compile(rb"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def broken(servers: Callable[..., Server]) -> str:
    """The DSN of the broken server (13 tables), as its CDC role."""
    server = servers(DEMO_SETTINGS)
    server.execute(*SEED)
    server.execute(*SEED_DB, *MORE_TABLES, dbname=DEMO_DB)
    return server.dsn(user=DEMO_USER, password=DEMO_PASSWORD, dbname=DEMO_DB)


@pytest.fixture(scope="module")
def broken_report(broken: str) -> Report:
    result = run_cli("check", broken, "--format", "json")
    assert result.exit_code == ExitCode.FINDINGS, result.output
    report = Report.model_validate_json(result.stdout)
    assert len(report.tables) == 13
    return report


def is_sql(line: str) -> bool:
    return bool(SQL_LINE.match(line))


def words(text: str) -> set[str]:
    return {w.strip(",;:()[]'\"") for w in text.split()} - {""}


def test_the_short_report_fits_an_80x50_screen_with_the_verdict_and_the_next_step(broken: str) -> None:
    result = run_cli("check", broken, env={"COLUMNS": "80"})
    assert result.exit_code == ExitCode.FINDINGS
    lines = result.stdout.splitlines()
    assert len(lines) <= 50, result.stdout
    assert any(line.startswith("Verdict: NOT READY  4 failed, 3 warned") for line in lines[:4])
    assert lines[-2].startswith("Next: ")
    assert all(len(line) <= 80 for line in lines if not is_sql(line)), result.stdout
    # each problem once: the script no longer repeats the findings' messages, advice is not repeated
    assert "FAILS ON THE SOURCE" not in result.stdout
    assert result.stdout.count("ALTER DEFAULT PRIVILEGES FOR ROLE <owner>") == 0  # a --verbose step
    # every failing and warning check has its line: mark, id, the codes of what it found
    for check in ("logical_replication", "slot_capacity", "table_keys", "grants"):
        assert any(line.startswith(f"✗ {check} ") for line in lines), check
    assert any(line.startswith("! publication ") for line in lines)


@pytest.mark.parametrize("detail", ["short", "verbose"])
@pytest.mark.parametrize("width", [60, 80, 200])
def test_no_line_exceeds_the_width_and_no_word_is_split(broken_report: Report, width: int, detail: str) -> None:
    style = table.Style(width=width, detail="verbose" if detail == "verbose" else "short")
    text = table.render(broken_report, style)
    prose = [line for line in text.splitlines() if not is_sql(line)]
    too_wide = [line for line in prose if len(line) > width]
    assert not too_wide, too_wide
    # Wrapping only moves whole words: every word is one the unwrapped report has too.
    unwrapped = table.render(broken_report, table.Style(width=100_000, detail=style.detail))
    assert words(text) <= words(unwrapped), sorted(words(text) - words(unwrapped))
    # SQL is never wrapped: every statement of the script is one whole line of the report.
    sql = run_sql_statements(broken_report)
    assert sql and all(statement in text.splitlines() for statement in sql)
    if width == 200:  # a wide terminal is used: paragraphs run past the old fixed 100 columns
        assert max(len(line) for line in prose) > 100


def run_sql_statements(report: Report) -> list[str]:
    from preflight.reports import sql

    return [line for line in sql.render(report).splitlines() if line and not line.startswith("--")]


def test_verbose_states_each_explanation_once_naming_every_object(broken_report: Report) -> None:
    text = table.render(broken_report, table.Style(width=100, detail="verbose"))
    flat = " ".join(text.split())
    no_select = [f for c in broken_report.checks for f in c.findings if f.code == "no_select"]
    assert len(no_select) >= 4
    assert flat.count(f"no_select, {len(no_select)} findings") == 1  # one paragraph for all of them
    for finding in no_select:
        assert finding.object and finding.object in flat
    assert flat.count("ALTER DEFAULT PRIVILEGES FOR ROLE <owner> covers only") == 1  # the step, once
    assert flat.count("initial snapshot would fail") == 1  # the explanation, once for all the tables


def test_quiet_is_the_verdict_line_alone(broken: str) -> None:
    result = run_cli("check", broken, "--quiet", env={"COLUMNS": "200"})
    assert result.exit_code == ExitCode.FINDINGS
    counts = json.loads(run_cli("check", broken, "--format", "json").stdout)["summary"]  # the same server's counts
    assert counts["fail"] == 4 and counts["warn"] == 3
    expected = f"Verdict: NOT READY  4 failed, 3 warned, {counts['pass']} passed"
    assert result.stdout.count("\n") == 1 and result.stdout.startswith(expected), result.stdout


def on_pty(args: list[str], env: dict[str, str], columns: int = 80) -> tuple[bytes, int]:
    """Run the CLI with stdout on a pseudo-terminal of ``columns`` columns; return what it wrote and its exit code."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    clean = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "TERM")}
    proc = subprocess.Popen([sys.executable, "-m", "preflight", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.DEVNULL, env={**clean, "TERM": "xterm", **env})
    os.close(slave)
    return drain(master).replace(b"\r\n", b"\n"), proc.wait(timeout=300)


def test_colour_on_a_terminal_at_its_own_width(broken: str) -> None:
    out, rc = on_pty(["check", broken], {}, columns=72)
    assert rc == ExitCode.FINDINGS
    plain = ESCAPE.sub(b"", out).decode()
    lines = plain.splitlines()
    [verdict] = [line for line in out.splitlines() if b"NOT READY" in line]
    assert b"\x1b[31m" in verdict and b"\x1b[1m" in verdict  # the verdict in bold red
    assert all(len(line) <= 72 for line in lines if not is_sql(line))
    assert max(len(line) for line in lines if not is_sql(line)) > 60  # the terminal's width, not a default
    assert b"\x1b" not in ESCAPE.sub(b"", out)  # our colour is the only escape


@pytest.mark.parametrize("how", ["NO_COLOR", "--color never"])
def test_no_colour_when_asked(broken: str, how: str) -> None:
    args, env = (["check", broken], {"NO_COLOR": "1"}) if how == "NO_COLOR" else (["check", broken, "--color", "never"], {})
    out, rc = on_pty(args, env)
    assert rc == ExitCode.FINDINGS
    assert b"Verdict: NOT READY" in out and b"\x1b" not in out


def test_colour_always_even_into_a_pipe_and_never_into_a_file(broken: str, tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    result = run_cli("check", broken, "--color", "always", "-o", f"table:{path}")
    assert re.search("Verdict: \x1b\\[[0-9;]+m(\x1b\\[[0-9;]+m)?NOT READY", result.stdout)
    assert "\x1b" not in path.read_text() and "Verdict: NOT READY" in path.read_text()


def test_exit_codes(broken: str, logical_server: Server, tmp_path: Path, silent_peer: int) -> None:
    """0 ready, 1 not ready, 2 usage, 3 incomplete, 4 could not connect (refused, DNS, timeout, authentication)."""
    assert run_cli("check", logical_server.dsn(), "-q").exit_code == ExitCode.OK
    assert run_cli("check", broken, "-q").exit_code == ExitCode.FINDINGS
    assert run_cli("check", broken, "--fail-on", "bogus").exit_code == ExitCode.USAGE
    # incomplete: a fact the checks need could not be read (saved, then replayed without a server)
    saved = tmp_path / "snapshot.json"
    assert run_cli("check", logical_server.dsn(), "-q", "--save-snapshot", str(saved)).exit_code == ExitCode.OK
    data = json.loads(saved.read_text())
    data["snapshot"]["facts"].pop("tables")
    data["snapshot"]["failures"]["tables"] = "55P03: canceling statement due to lock timeout"
    saved.write_text(json.dumps(data))
    assert run_cli("check", "--from-snapshot", str(saved), "-q").exit_code == ExitCode.INCOMPLETE
    params = conninfo_to_dict(broken)
    unreachable = {
        "refused": f"host=127.0.0.1 port={free_port()} user=u dbname=d",
        "dns": "host=no-such-host.invalid user=u dbname=d",
        "timeout": f"host=127.0.0.1 port={silent_peer} user=u dbname=d",
        "authentication": f"host={params['host']} port={params['port']} user={DEMO_USER} password=wrong dbname={DEMO_DB}",
    }
    for kind, dsn in unreachable.items():
        result = run_cli("check", dsn, "--connect-timeout", "2", "--fail-on", "never")
        assert result.exit_code == ExitCode.UNREACHABLE, (kind, result.output)
        lines = result.stdout.splitlines()
        assert "Verdict: UNREACHABLE  could not connect, nothing was checked" in lines[:4], kind
        assert len(lines) <= 16, result.stdout  # the failure, one line for the skipped checks, the fix, next step
        assert sum("skipped" in line for line in lines) == 1


def test_fleet_says_unreachable_and_exits_4_for_a_dead_server(logical_server: Server, tmp_path: Path) -> None:
    inventory = tmp_path / "fleet.txt"
    inventory.write_text(f"dead=postgresql://u:pw@127.0.0.1:{free_port()}/db\n")
    result = run_cli("fleet", "--dsn-file", str(inventory), "--connect-timeout", "2")
    assert result.exit_code == ExitCode.UNREACHABLE
    assert result.stdout.splitlines()[1].split()[:2] == ["dead", "unreachable"]
    assert "0/1 servers ready, 1 unreachable" in result.stderr


def one_line_error(*args: str) -> str:
    result = run_cli(*args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert result.stdout == "" and result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def test_a_schema_or_table_naming_nothing_gets_did_you_mean(broken: str) -> None:
    result = run_cli("check", broken, "-s", "biling", "-t", "public.Orders", "--format", "json")
    report = Report.model_validate_json(result.stdout)
    messages = {f.code: f.message for c in report.checks for f in c.findings if f.code in ("schema_missing", "table_missing")}
    assert "(did you mean 'billing'?)" in messages["schema_missing"]
    assert "(did you mean 'public.orders'?)" in messages["table_missing"]


def test_a_decision_key_matching_no_table_gets_did_you_mean(broken: str, tmp_path: Path) -> None:
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"public.audit_event": "replica_identity_full"}}))
    result = run_cli("check", broken, "--decisions", str(decisions), "--format", "json")
    report = Report.model_validate_json(result.stdout)
    [message] = [f.message for c in report.checks for f in c.findings if f.code == "decision_matches_no_table"]
    assert "(did you mean 'public.audit_events'?)" in message


def test_an_unknown_check_id_gets_did_you_mean(broken: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "grant (did you mean 'grants'?)" in one_line_error("check", broken, "--check", "grant")
    assert "(did you mean 'table_keys'?)" in one_line_error("explain", "tablekeys")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pg-preflight.toml").write_text('[[waivers]]\ncheck = "grant"\nreason = "r"\n')
    assert "unknown check id 'grant' (did you mean 'grants'?)" in one_line_error("check", broken)


def test_output_format_from_the_extension_or_one_line(broken: str, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    result = run_cli("check", broken, "-o", str(page))
    assert result.exit_code == ExitCode.FINDINGS and result.stdout == ""
    assert page.read_text().startswith("<!DOCTYPE html>")
    assert "no format is written as '.pdf'" in one_line_error("check", broken, "-o", str(tmp_path / "r.pdf"))
    assert "the name says html but --format says json" in one_line_error("check", broken, "-f", "json", "-o", str(page))


def test_tool_section_pasted_into_pg_preflight_toml_gets_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pg-preflight.toml").write_text('[tool.pg-preflight]\nfail_on = "warning"\n')
    line = one_line_error("check", "host=127.0.0.1")
    assert "[tool.pg-preflight] is pyproject.toml's section name" in line and "drop the [tool.pg-preflight] line" in line


@pytest.mark.parametrize("uri", ["postgresql://u:p@ss:w0rd@db.example.com:5432/app", "postgresql://u:se/cr#et@h/app",
                                 "postgresql://u:pa%ss@h/app", "postgresql://u:s3cr@et@h:99999/app"])
def test_a_malformed_dsn_never_echoes_the_password(uri: str) -> None:
    # the advice, and at most what follows the last "@" (the host part): no piece of the password
    line = one_line_error("check", uri)
    host_part = uri.rpartition("@")[2]
    assert line == f"pg-preflight: error: {URI_HINT}; the text after the user and password: {host_part!r}\n"
    assert "must be percent-encoded (@ as %40" in URI_HINT


def test_html_says_only_what_it_knows(broken_report: Report) -> None:
    from preflight.reports import html

    page = html.render(broken_report)
    assert any(f.expected is None and f.observed is not None and f.severity.value != "info"
               for c in broken_report.checks for f in c.findings)  # the case that used to print "required None"
    assert "None" not in page
    assert '<th scope="col">Time</th>' not in page and " ms</td>" not in page


def test_fleet_writes_every_format_in_one_run_and_merge_links_the_pages(logical_server: Server, tmp_path: Path) -> None:
    inventory, out = tmp_path / "fleet.txt", tmp_path / "out"
    params = conninfo_to_dict(logical_server.dsn())
    inventory.write_text(f"main=postgresql://{params['user']}:{params['password']}@{params['host']}:{params['port']}/postgres\n")
    assert run_cli("fleet", "--dsn-file", str(inventory), "--output-dir", str(out), "-f", "json,html").exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["main.html", "main.json"]
    merged = run_cli("merge", str(out), "--format", "html", "--output", str(out / "index.html"))
    assert merged.exit_code == 0, merged.output
    assert 'href="./main.html"' in (out / "index.html").read_text()  # each server's page, from the estate page
    assert "--format yaml: one of" in one_line_error("fleet", "--dsn-file", str(inventory), "-f", "json,yaml")


def test_sample_says_it_is_measuring(logical_server: Server) -> None:
    result = run_cli("check", logical_server.dsn(), "--check", "slot_budget", "--sample", "0.2", "-q")
    assert result.exit_code == ExitCode.OK
    assert "pg-preflight: measuring the WAL rate over 0.2 s (--sample) ..." in result.stderr


def test_waivers_show_where_people_look_and_stale_ones_are_findings(broken: str, tmp_path: Path) -> None:
    config = tmp_path / "pg-preflight.toml"
    config.write_text(
        '[[waivers]]\ncheck = "grants"\ncode = "no_replication"\nreason = "granted by the DBA on Monday"\n'
        'expires = 2999-01-31\n'
        '[[waivers]]\ncheck = "logical_replication"\ncode = "wal_level_not_logical"\nreason = "old"\nexpires = 2020-01-01\n'
        '[[waivers]]\ncheck = "table_keys"\nobject = "public.gone"\nreason = "dropped last year"\n')
    short = run_cli("check", broken, "--config", str(config), env={"COLUMNS": "200"})
    flat = " ".join(short.stdout.split())
    assert "grants no_replication on cdc_user: waived (granted by the DBA on Monday, until 2999-01-31)" in flat
    assert "waiver_expired" in flat and "waiver_unmatched (public.gone)" in flat
    report = Report.model_validate_json(run_cli("check", broken, "--config", str(config), "--format", "json").stdout)
    stale = {f.code: f for c in report.checks for f in c.findings if f.code.startswith("waiver_")}
    assert stale["waiver_expired"].severity.value == "warning" and "expired on 2020-01-01" in stale["waiver_expired"].message
    assert stale["waiver_unmatched"].object == "public.gone"
    assert {w.state for w in report.waivers} == {"applied", "expired", "unmatched"}
    for fmt in ("html", "markdown"):
        text = run_cli("check", broken, "--config", str(config), "--format", fmt).stdout
        assert "waived (granted by the DBA on Monday, until 2999-01-31)" in text, fmt
