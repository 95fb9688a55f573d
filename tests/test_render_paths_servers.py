"""One script, byte for byte, however it is obtained, and no server text reaches a terminal raw.

Tenants create look-alikes of ``payroll`` (DEL, an ESC sequence, a bidi override, a Cyrillic letter,
a trailing space, a case change, CR, LF, C1 CSI, quotes and backslashes, a line separator, a
zero-width space). The DBA excludes some of them by decision. Each rendering's script (``-o sql:FILE``,
stdout redirected, stdout on a terminal, the Markdown fence, the HTML ``<pre>``, the JUnit fix lines)
is extracted, compared byte for byte, and pasted into ``psql -v ON_ERROR_STOP=1`` on its own copy of
the database: only the intended tables change.
"""

from __future__ import annotations

import json
import os
import pty
import re
import shutil
import subprocess
import sys
import tty
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from preflight.names import format_name
from preflight.terminal import visible
from tests.servers import Server
from tests.terminal import drain

PUBLICATION = "cdc_pub"
LOOKALIKES = {  # table in schema public -> the DBA's decision
    "payroll": "exclude",
    "payroll\x7f": "replica_identity_full",
    "payroll\x1b[m": "exclude",
    "p\u0430yroll": "replica_identity_full",  # Cyrillic a
    "payroll ": "exclude",
    "Payroll": "replica_identity_full",
    "pay\u202eroll": "exclude",
    "payroll\r": "replica_identity_full",
    "payroll\n": "exclude",
    "payroll\x9b": "replica_identity_full",
    'pay"roll\\': "exclude",
    "pay'roll\\\x07": "replica_identity_full",
    "payroll\u2028": "exclude",
    "payroll\u200b": "replica_identity_full",
}
INTENDED = {name for name, decision in LOOKALIKES.items() if decision != "exclude"}


def cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "preflight", *args], capture_output=True, timeout=300)


def on_terminal(*args: str) -> tuple[bytes, bytes, int]:
    """Run the CLI with stdout on a pseudo-terminal (raw mode: the bytes as written); return out, err, rc."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    proc = subprocess.Popen([sys.executable, "-m", "preflight", *args], stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    out = drain(master)
    assert proc.stderr is not None
    err = proc.stderr.read()
    return out, err, proc.wait(timeout=300)


def psql_for(server: Server) -> str:
    bindir = getattr(server, "bindir", None)
    path = Path(bindir) / "psql" if bindir else None
    found = str(path) if path and path.exists() else shutil.which("psql")
    assert found, "psql is missing: it ships with the server binaries"
    return found


def build(server: Server, dbname: str = "tenants") -> None:
    server.execute(f"CREATE DATABASE {dbname}")
    with psycopg.connect(server.dsn(dbname=dbname), autocommit=True) as conn:
        for name in LOOKALIKES:
            conn.execute(sql.SQL("CREATE TABLE public.{} (id int, note text)").format(sql.Identifier(name)))


def state(server: Server, dbname: str) -> dict[str, tuple[str, bool]]:
    """Each public table: its replica identity and whether the publication holds it."""
    with psycopg.connect(server.dsn(dbname=dbname), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT c.relname::text, c.relreplident::text, EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr"
            " JOIN pg_catalog.pg_publication p ON p.oid = pr.prpubid WHERE p.pubname = %s AND pr.prrelid = c.oid)"
            " FROM pg_catalog.pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'",
            [PUBLICATION]).fetchall()
    return {name: (ident, published) for name, ident, published in rows}


def from_first_block(text: str) -> str:
    """The script body: from the first check's banner on (the header carries a timestamp)."""
    start = text.index("-- ===== ")
    return text[start:].rstrip("\n")


def markdown_script(text: str) -> str:
    lines = text.split("\n")
    opening = next(i for i, line in enumerate(lines) if re.fullmatch(r"`{3,}sql", line))
    fence = lines[opening][:-3]
    closing = next(i for i in range(opening + 1, len(lines)) if lines[i] == fence)
    return from_first_block("\n".join(lines[opening + 1 : closing]))


class _Pre(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "pre":
            self._inside = True
            self.blocks.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.blocks[-1] += data


def html_script(text: str) -> str:
    parser = _Pre()
    parser.feed(text)
    return from_first_block(parser.blocks[-1])  # the script is the page's last <pre>


def junit_statements(text: str) -> list[str]:
    root = ET.fromstring(text)
    out: list[str] = []
    for element in root.iter():
        for line in (element.text or "").split("\n"):
            line = line.strip()
            if line.startswith("fix: "):
                out.append(line[len("fix: "):])
    return out


def statements_of(script: str) -> list[str]:
    return [line for line in script.split("\n") if line and not line.startswith("--")]


def assert_inert(data: bytes, what: str) -> str:
    """Nothing in ``data`` can act on a terminal: no C0 control but newline, no DEL, no C1, no bidi
    or other format character, no separator but the ASCII space."""
    raw = sorted({b for b in data if (b < 0x20 and b != 0x0A) or b == 0x7F})
    assert not raw, (what, raw)
    text = data.decode("utf-8")
    odd = sorted({ch for ch in text if not (ch.isprintable() or ch == "\n")})
    assert not odd, (what, odd)
    return text


def check_args(server: Server, tmp_path: Path) -> list[str]:
    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {format_name("public", n): d for n, d in LOOKALIKES.items()}}))
    return ["check", server.dsn(dbname="tenants"), "--check", "table_keys,publication", "--schema", "public",
            "--publication", PUBLICATION, "--decisions", str(decisions)]


def test_every_rendering_carries_the_same_script_and_it_changes_only_the_intended_tables(
        servers: Callable[..., Server], tmp_path: Path) -> None:
    server = servers()
    build(server)
    args = check_args(server, tmp_path)
    files = {fmt: tmp_path / f"report.{fmt}" for fmt in ("sql", "markdown", "html", "junit")}
    written = cli(*args, *(arg for fmt, path in files.items() for arg in ("-o", f"{fmt}:{path}")))
    assert written.returncode == 1, written.stderr  # decided tables warn; the named publication does not exist yet
    piped = cli(*args, "--format", "sql")
    terminal, terminal_err, terminal_rc = on_terminal(*args, "--format", "sql")
    assert piped.returncode == terminal_rc == 1, (piped.stderr, terminal_err)

    scripts = {
        "sql file": from_first_block(files["sql"].read_text(encoding="utf-8")),
        "stdout redirected": from_first_block(piped.stdout.decode("utf-8")),
        "stdout on a terminal": from_first_block(terminal.decode("utf-8")),
        "markdown fence": markdown_script(files["markdown"].read_text(encoding="utf-8")),
        "html pre": html_script(files["html"].read_text(encoding="utf-8")),
    }
    reference = scripts["sql file"]
    for where, script in scripts.items():
        assert script.encode() == reference.encode(), where
    assert_inert(reference.encode(), "the script")
    assert 'U&"payroll\\007F"' in reference and 'U&"pay\'roll\\\\\\0007"' in reference
    statements = statements_of(reference)
    assert junit_statements(files["junit"].read_text(encoding="utf-8")) == statements
    assert len(statements) == len(INTENDED) + 1  # one ALTER TABLE per decided table, one CREATE PUBLICATION

    before = state(server, "tenants")
    assert before == {name: ("d", False) for name in LOOKALIKES}
    psql = psql_for(server)
    expected = {name: ("f", True) if name in INTENDED else ("d", False) for name in LOOKALIKES}
    for number, (where, script) in enumerate({**scripts, "junit fix lines": "\n".join(statements)}.items()):
        copy = f"applied_{number}"
        server.execute(f"CREATE DATABASE {copy} TEMPLATE tenants")
        done = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.dsn(dbname=copy)],
                              input=(script + "\n").encode(), capture_output=True, timeout=120,
                              env={**os.environ, "PGCLIENTENCODING": "UTF8"})
        assert done.returncode == 0, (where, done.stderr.decode(errors="replace"))
        assert state(server, copy) == expected, where
    assert state(server, "tenants") == before  # the checker itself changed nothing


def test_no_server_text_reaches_a_terminal_raw(servers: Callable[..., Server], tmp_path: Path) -> None:
    server = servers()
    build(server)
    dsn = server.dsn(dbname="tenants")
    names = ["--schema", "public"]

    out, err, rc = on_terminal("check", dsn, *names, "--check", "table_keys", "--color", "never", "--verbose")
    assert rc == 1
    table = assert_inert(out, "check on a terminal")
    assert_inert(err, "check stderr")
    assert "public.payroll\\x1b[m" in table and "public.pay\\u202eroll" in table and "public.payroll\\x7f" in table

    decisions = cli("decisions", dsn, *names)
    assert decisions.returncode == 0, decisions.stderr
    template = json.loads(assert_inert(decisions.stdout, "decisions stdout"))
    assert set(template["decisions"]) == {format_name("public", n) for n in LOOKALIKES}  # exact names survive
    assert "payroll\\x9b" in assert_inert(decisions.stderr, "decisions stderr")

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    assert cli("check", dsn, *names, "--check", "table_keys", "-o", f"json:{old}").returncode == 1
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute('CREATE TABLE public."late\x1b]0;owned\x07\u202e" (id int)')
    assert cli("check", dsn, *names, "--check", "table_keys", "-o", f"json:{new}").returncode == 1
    assert_inert(old.read_bytes(), "json report")
    diffed = cli("diff", str(old), str(new))
    assert diffed.returncode == 1, diffed.stderr
    assert "late\\x1b]0;owned\\x07\\u202e" in assert_inert(diffed.stdout, "diff stdout")
    assert_inert(diffed.stderr, "diff stderr")

    dsn_file = tmp_path / "fleet.txt"
    parts = conninfo_to_dict(dsn)
    uri = (f"postgresql://{quote(str(parts['user']))}:{quote(str(parts.get('password', '')))}@{parts['host']}:{parts['port']}"
           f"/{parts['dbname']}")
    dsn_file.write_text(f"tenants={uri}\n")
    fleet = cli("fleet", "--dsn-file", str(dsn_file), *names, "--check", "table_keys")
    assert fleet.returncode == 1 and b"tenants" in fleet.stdout
    assert_inert(fleet.stdout, "fleet stdout")
    assert_inert(fleet.stderr, "fleet stderr")

    explain = cli("explain", "table_keys")
    assert explain.returncode == 0 and assert_inert(explain.stdout, "explain")

    missing = server.dsn(dbname="gone\x1b[2J\u202e")
    failed = cli("decisions", missing)
    assert failed.returncode == 3
    line = assert_inert(failed.stderr, "decisions error line")
    assert "gone\\x1b[2J\\u202e" in line and line.count("\n") == 1

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"decisions": {"public.x\x1b[2J\u202e": "publish"}}))
    usage = cli("check", dsn, "--decisions", str(bad))
    assert usage.returncode == 2
    line = assert_inert(usage.stderr, "usage error line")
    assert line.startswith("pg-preflight: error:") and line.count("\n") == 1


def _ascii_database(server: Server) -> str:
    server.execute("CREATE DATABASE legacy ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
    with psycopg.connect(server.dsn(dbname="legacy"), autocommit=True) as conn:
        conn.execute("SET client_encoding = 'SQL_ASCII'")
        conn.execute(b'CREATE TABLE public."bad\xff\xfename" (id int)')
        conn.execute(b'CREATE TABLE public."ctl\x7fname" (id int)')
        conn.execute(b'CREATE TABLE public."good" (id int)')
    return server.dsn(dbname="legacy")


def _legacy_state(server: Server) -> dict[bytes, tuple[str, bool]]:
    with psycopg.connect(server.dsn(dbname="legacy"), autocommit=True) as conn:
        conn.execute("SET client_encoding = 'SQL_ASCII'")
        rows: list[Any] = conn.execute(
            "SELECT c.relname::text, c.relreplident::text, EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel pr"
            " WHERE pr.prrelid = c.oid) FROM pg_catalog.pg_class c"
            " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'").fetchall()
    return {bytes(name): (ident.decode() if isinstance(ident, bytes) else ident, published)
            for name, ident, published in rows}


def test_a_name_invalid_in_the_encoding_is_reported_visibly_and_gets_no_sql(
        servers: Callable[..., Server], tmp_path: Path) -> None:
    server = servers()
    dsn = _ascii_database(server)
    report_file = tmp_path / "report.json"
    run = cli("check", dsn, "--schema", "public", "--check", "table_keys,publication", "--publication", PUBLICATION,
              "--format", "sql", "-o", f"json:{report_file}")
    assert run.returncode == 1, run.stderr
    script = assert_inert(run.stdout, "sql on a SQL_ASCII database")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    names = {visible(t["name"], keep="") for t in report["tables"]}
    assert names == {"bad\\xff\\xfename", "ctl\\x7fname", "good"}
    assert all(c["status"] != "error" for c in report["checks"])
    assert "-- not written: the name bad\\xff\\xfename is not valid text in the client encoding" in script
    assert not [s for s in statements_of(script) if "bad" in s]  # no SQL for the name that cannot be written

    table = cli("check", dsn, "--schema", "public", "--check", "table_keys")
    assert "public.bad\\xff\\xfename" in assert_inert(table.stdout, "table on a SQL_ASCII database")

    decisions = tmp_path / "decisions.json"
    decisions.write_text(json.dumps({"decisions": {"public.ctl\x7fname": "replica_identity_full",
                                                   "public.good": "exclude"}}))
    fix = cli("check", dsn, "--schema", "public", "--check", "table_keys", "--decisions", str(decisions),
              "--format", "sql")
    statements = statements_of(from_first_block(assert_inert(fix.stdout, "sql")))
    assert statements == ['ALTER TABLE "public".U&"ctl\\007Fname" REPLICA IDENTITY FULL;']
    before = _legacy_state(server)
    done = subprocess.run([psql_for(server), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn],
                          input=fix.stdout, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    after = _legacy_state(server)
    assert after == {**before, b"ctl\x7fname": ("f", False)}
    assert before[b"ctl\x7fname"] == ("d", False)


def test_an_owner_name_invalid_in_utf8_is_read_again_tolerantly(servers: Callable[..., Server], tmp_path: Path) -> None:
    """Role names are cluster-wide: one made in a SQL_ASCII database can own a table in a UTF-8 one. The per-table
    facts are first decoded by psycopg's strict loaders, which refuse it; they are then read again tolerantly."""
    server = servers()
    _ascii_database(server)
    with psycopg.connect(server.dsn(dbname="legacy"), autocommit=True) as conn:
        conn.execute("SET client_encoding = 'SQL_ASCII'")
        conn.execute(b'CREATE ROLE "own\xff\xfeer"')
    server.execute("CREATE TABLE public.owned_badly (id int PRIMARY KEY)")
    server.execute("DO $$ BEGIN EXECUTE pg_catalog.format('ALTER TABLE public.owned_badly OWNER TO %I', "
                   "(SELECT rolname FROM pg_catalog.pg_authid WHERE rolname::text LIKE 'own%')); END $$")
    snapshot = tmp_path / "snapshot.json"
    run = cli("check", server.dsn(), "--schema", "public", "--check", "table_keys", "--format", "json",
              "--save-snapshot", str(snapshot))
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert [(t["name"], t["status"]) for t in report["tables"]] == [("owned_badly", "ok")]
    rows = json.loads(snapshot.read_text(encoding="utf-8"))["snapshot"]["facts"]["tables"]
    assert [visible(row["owner"], keep="") for row in rows] == ["own\\xff\\xfeer"]
