"""PostgreSQL as the oracle: replicate for real and record what the server says.

Two consumers, both connecting as the CDC role:
- ``native``: ``CREATE SUBSCRIPTION`` on a second server (fresh database, schema copied with pg_dump),
  waiting for the initial copy of every table and for INSERT/UPDATE/DELETE made on the source.
- ``cdc``: a ``replication=database`` connection creating a persistent logical slot (as Debezium and
  friends do), a snapshot read of every table it receives, then the changes decoded through the SQL
  interface with the consumer's plugin and options.

Every wait is a poll with a bounded deadline. A slot creation that waits for a transaction shows up as
its walsender waiting on a lock in ``pg_stat_activity``: that is recorded as a failure, never waited out.
An ``Outcome`` lists what PostgreSQL said (errors on the source, the subscriber's log, missing changes).
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from preflight import pgserver
from tests.conftest import run_cli
from tests.servers import Server

SEED = [(1, "a"), (2, "b")]
AFTER_DML = [(1, "upd"), (1001, "new")]
DEADLINE_S = 20.0
POLL_S = 0.1
# A walsender seen waiting on a lock this long is blocked by a transaction, not merely slow.
BLOCKED_AFTER_S = 1.5


@dataclass
class Outcome:
    """What happened when a consumer replicated: ``works`` only when every change arrived."""

    consumer: str
    failures: list[str] = field(default_factory=list)

    @property
    def works(self) -> bool:
        return not self.failures

    def said(self, fragment: str) -> bool:
        """Whether PostgreSQL's own words (or the oracle's observation) include ``fragment``."""
        return any(fragment in failure for failure in self.failures)

    def __str__(self) -> str:
        return f"{self.consumer}: " + ("works" if self.works else "; ".join(self.failures))


def local(server: Server) -> pgserver.LocalServer:
    assert isinstance(server, pgserver.LocalServer), "the oracle needs a local server (psql, pg_dump, its log)"
    return server


def qualified(name: str) -> sql.Composed:
    schema, _, table = name.partition(".")
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def run(server: Server, *statements: str | sql.SQL | sql.Composed, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    """Statements as the superuser, autocommit (a lock wait is bounded); rows of the last one."""
    rows: list[tuple[Any, ...]] = []
    with psycopg.connect(local(server).admin_dsn(dbname), autocommit=True, options="-c lock_timeout=10s") as conn:
        for statement in statements:
            cur = conn.execute(statement)
            rows = cur.fetchall() if cur.description else []
    return rows


def make_tables(server: Server, *names: str, keyless: Iterable[str] = ()) -> None:
    """Tables ``(id int, v text)``, with a primary key unless named in ``keyless``; schemas created."""
    without = set(keyless)
    for name in names:
        schema = name.partition(".")[0]
        run(server, sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        key = sql.SQL("") if name in without else sql.SQL(" PRIMARY KEY")
        run(server, sql.SQL("CREATE TABLE {} (id int{}, v text)").format(qualified(name), key))


def reset(server: Server, tables: Iterable[str]) -> None:
    """Back to the seed rows (TRUNCATE and INSERT work whatever the replica identity)."""
    for name in tables:
        run(server, sql.SQL("TRUNCATE {}").format(qualified(name)))
        run(server, sql.SQL("INSERT INTO {} VALUES (1, 'a'), (2, 'b')").format(qualified(name)))


def write(server: Server, tables: Iterable[str]) -> list[str]:
    """The application's INSERT, UPDATE and DELETE on each table; the errors the source raised."""
    errors = []
    with psycopg.connect(local(server).admin_dsn(), autocommit=True) as conn:
        for name in tables:
            for statement in (sql.SQL("INSERT INTO {} VALUES (1001, 'new')"),
                              sql.SQL("UPDATE {} SET v = 'upd' WHERE id = 1"),
                              sql.SQL("DELETE FROM {} WHERE id = 2")):
                try:
                    conn.execute(statement.format(qualified(name)))
                except psycopg.Error as exc:
                    errors.append(f"source: {name}: {str(exc).splitlines()[0]}")
    return errors


def published_tables(server: Server, publication: str) -> list[str]:
    rows = run(server, sql.SQL("SELECT schemaname || '.' || tablename FROM pg_catalog.pg_publication_tables "
                               "WHERE pubname = {} ORDER BY 1").format(sql.Literal(publication)))
    return [str(r[0]) for r in rows]


def blocked_walsender(server: Server, application_name: str) -> str | None:
    """``wait_event`` of a walsender with this application_name waiting on a lock, if any."""
    rows = run(server, sql.SQL("SELECT wait_event FROM pg_catalog.pg_stat_activity WHERE application_name = {} "
                               "AND backend_type = 'walsender' AND wait_event_type = 'Lock'")
               .format(sql.Literal(application_name)))
    return str(rows[0][0]) if rows else None


def end_walsenders(server: Server, application_name: str) -> None:
    run(server, sql.SQL("SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
                        "WHERE application_name = {} AND backend_type = 'walsender'").format(sql.Literal(application_name)))


def drop_slot(server: Server, slot: str) -> None:
    """Drop the slot once its walsender is gone (bounded)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        end_walsenders(server, slot)
        try:
            run(server, sql.SQL("SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots "
                                "WHERE slot_name = {}").format(sql.Literal(slot)))
            return
        except psycopg.errors.ObjectInUse:
            time.sleep(POLL_S)
    raise AssertionError(f"slot {slot} stayed active")


def in_background(server: Server, application_name: str, work: Callable[[], None]) -> str | None:
    """Run ``work`` (which makes a walsender named ``application_name`` create a slot) in a thread;
    the error it raised, or a description of the transaction wait that blocked it (then ended)."""
    errors: list[str] = []

    def target() -> None:
        try:
            work()
        except psycopg.Error as exc:
            errors.append(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    deadline = time.monotonic() + DEADLINE_S
    waiting_since: float | None = None
    while thread.is_alive() and time.monotonic() < deadline:
        event = blocked_walsender(server, application_name)
        if event is None:
            waiting_since = None
        elif waiting_since is None:
            waiting_since = time.monotonic()
        elif time.monotonic() - waiting_since >= BLOCKED_AFTER_S:
            end_walsenders(server, application_name)
            thread.join(DEADLINE_S)
            return f"slot creation waits for a transaction (walsender wait_event {event})"
        time.sleep(POLL_S)
    if thread.is_alive():
        end_walsenders(server, application_name)
        thread.join(DEADLINE_S)
        return "slot creation did not finish within the deadline"
    return errors[0] if errors else None


# ---------------------------------------------------------------------------------------------- native


def _log_offset(server: Server) -> int:
    log = local(server).root / "server.log"
    return log.stat().st_size if log.exists() else 0


def _log_errors(server: Server, offset: int) -> list[str]:
    log = local(server).root / "server.log"
    text = log.read_bytes()[offset:].decode(errors="replace") if log.exists() else ""
    return sorted({line.split("ERROR:", 1)[1].strip() for line in text.splitlines() if "ERROR:" in line})


def copy_schema(source: Server, subscriber: Server, dbname: str) -> None:
    """A fresh database on the subscriber holding the source's tables (no data, no publications)."""
    src, sub = local(source), local(subscriber)
    run(sub, sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    dump = subprocess.run([str(src.bindir / "pg_dump"), "--schema-only", "--no-publications", "--no-subscriptions",
                           "--no-owner", "--no-privileges", "-d", src.admin_dsn()],
                          capture_output=True, text=True, check=True).stdout
    restore = subprocess.run([str(sub.bindir / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", sub.admin_dsn(dbname)],
                             input=dump, capture_output=True, text=True)
    assert restore.returncode == 0, restore.stderr


def native(source: Server, subscriber: Server, cdc_dsn: str, publication: str, writes: Iterable[str],
           expect: Iterable[str] | None = None) -> Outcome:
    """CREATE SUBSCRIPTION as the CDC role; initial copy, then the application's writes must arrive in every
    table written to (or in ``expect``, e.g. a partitioned root whose leaves are published)."""
    outcome = Outcome("native subscription")
    name = f"oracle_{secrets.token_hex(4)}"
    writes = list(writes)
    reset(source, writes)
    copy_schema(source, subscriber, name)
    offset = _log_offset(subscriber)
    expected = list(expect) if expect is not None else writes
    sub_dsn = local(subscriber).admin_dsn(name)
    try:
        def create() -> None:
            with psycopg.connect(sub_dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}").format(
                    sql.Identifier(name), sql.Literal(cdc_dsn + f" application_name={name}"), sql.Identifier(publication)))

        failure = in_background(source, name, create)
        if failure:
            outcome.failures.append(f"CREATE SUBSCRIPTION: {failure}")
            return outcome
        outcome.failures.extend(_await_copy(subscriber, name, offset))
        if outcome.failures:
            return outcome
        outcome.failures.extend(write(source, writes))
        outcome.failures.extend(_await_rows(subscriber, name, expected, offset))
        return outcome
    finally:
        _drop_subscription(source, subscriber, name)


def _subscription_errors(subscriber: Server, dbname: str, offset: int) -> list[str]:
    errors = [f"subscriber: {e}" for e in _log_errors(subscriber, offset)]
    if subscriber.version >= 15:
        rows = run(subscriber, sql.SQL("SELECT apply_error_count, sync_error_count FROM "
                                       "pg_catalog.pg_stat_subscription_stats WHERE subname = {}").format(sql.Literal(dbname)))
        if errors and rows and any(rows[0]):
            errors.append(f"pg_stat_subscription_stats: apply_error_count={rows[0][0]}, sync_error_count={rows[0][1]}")
    return errors


def _await_copy(subscriber: Server, dbname: str, offset: int) -> list[str]:
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        states = run(subscriber, "SELECT srsubstate FROM pg_catalog.pg_subscription_rel", dbname=dbname)
        if all(s[0] == "r" for s in states):
            return []
        errors = _subscription_errors(subscriber, dbname, offset)
        if errors:
            return errors
        time.sleep(POLL_S)
    return _subscription_errors(subscriber, dbname, offset) or ["initial copy did not finish within the deadline"]


def _await_rows(subscriber: Server, dbname: str, tables: list[str], offset: int) -> list[str]:
    deadline = time.monotonic() + DEADLINE_S
    missing = tables
    while time.monotonic() < deadline:
        missing = [t for t in tables
                   if run(subscriber, sql.SQL("SELECT id, v FROM {} ORDER BY id").format(qualified(t)), dbname=dbname) != AFTER_DML]
        if not missing:
            return []
        errors = _subscription_errors(subscriber, dbname, offset)
        if errors:
            return errors
        time.sleep(POLL_S)
    found = {t: run(subscriber, sql.SQL("SELECT id, v FROM {} ORDER BY id").format(qualified(t)), dbname=dbname) for t in missing}
    return [f"changes not delivered: {t} on the subscriber is {rows}, expected {AFTER_DML}" for t, rows in found.items()]


def _drop_subscription(source: Server, subscriber: Server, name: str) -> None:
    sub_dsn = local(subscriber).admin_dsn(name)
    with psycopg.connect(sub_dsn, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_catalog.pg_subscription WHERE subname = %s", [name]).fetchall():
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} DISABLE").format(sql.Identifier(name)))
            conn.execute(sql.SQL("ALTER SUBSCRIPTION {} SET (slot_name = NONE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("DROP SUBSCRIPTION {}").format(sql.Identifier(name)))
    end_walsenders(source, name)
    for (slot,) in run(source, sql.SQL("SELECT slot_name FROM pg_catalog.pg_replication_slots WHERE slot_name LIKE {}")
                       .format(sql.Literal("pg_%_sync_%"))):
        drop_slot(source, str(slot))
    drop_slot(source, name)
    run(subscriber, sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


# ------------------------------------------------------------------------------------------------- cdc


@dataclass(frozen=True)
class Change:
    """One pgoutput change as a CDC consumer receives it: the relation's name it arrives under, the operation, and
    the old row it carries (``none``, ``key``: the replica identity's columns, ``full``: every column)."""

    table: str
    operation: str
    old_row: str


_OLD = {b"K": "key", b"O": "full", b"N": "none"}


def _pgoutput_rows(rows: list[tuple[Any, ...]], relations: dict[int, str]) -> list[Change]:
    kinds = {b"I": "INSERT", b"U": "UPDATE", b"D": "DELETE"}
    out = []
    for (data,) in rows:
        message = bytes(data)
        kind, relid = message[:1], int.from_bytes(message[1:5], "big")
        if kind == b"R":
            namespace, relname = message[5:].split(b"\0")[:2]
            relations[relid] = f"{namespace.decode()}.{relname.decode()}"
        elif kind in kinds:
            out.append(Change(relations.get(relid, str(relid)), kinds[kind], _OLD.get(message[5:6], "none")))
    return out


def _pgoutput_changes(rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
    """(table, INSERT/UPDATE/DELETE) from pgoutput protocol 1 messages."""
    return {(change.table, change.operation) for change in _pgoutput_rows(rows, {})}


def _text_changes(plugin: str, rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
    seen = set()
    for (data,) in rows:
        if plugin == "test_decoding":
            found = re.match(r"table (\S+?): (INSERT|UPDATE|DELETE):", str(data))
            if found:
                seen.add((found.group(1), found.group(2)))
        else:
            for change in json.loads(str(data)).get("change", []):
                seen.add((f"{change['schema']}.{change['table']}", str(change["kind"]).upper()))
    return seen


def cdc(source: Server, cdc_dsn: str, plugin: str, receives: Iterable[str], writes: Iterable[str],
        publication: str | None = None, slot: str | None = None) -> Outcome:
    """A CDC connector's life: replication connection, slot (``slot``: the consumer's own name), snapshot read,
    then every change arrives."""
    outcome = Outcome(f"CDC slot ({plugin})")
    slot = slot or f"oracle_{secrets.token_hex(4)}"
    receives, writes = list(receives), list(writes)
    reset(source, writes)
    try:
        def create() -> None:
            with psycopg.connect(cdc_dsn, replication="database", autocommit=True, prepare_threshold=None,
                                 application_name=slot) as conn:
                conn.execute(sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL {}").format(
                    sql.Identifier(slot), sql.Identifier(plugin)))

        failure = in_background(source, slot, create)
        if failure:
            outcome.failures.append(f"CREATE_REPLICATION_SLOT: {failure}")
            return outcome
        with psycopg.connect(cdc_dsn, autocommit=True) as conn:
            for name in receives:
                try:
                    conn.execute(sql.SQL("SELECT count(*) FROM {}").format(qualified(name)))
                except psycopg.Error as exc:
                    outcome.failures.append(f"snapshot: {str(exc).splitlines()[0]}")
        outcome.failures.extend(write(source, writes))
        outcome.failures.extend(_read_changes(cdc_dsn, slot, plugin, publication, receives))
        return outcome
    finally:
        drop_slot(source, slot)


def _read_changes(cdc_dsn: str, slot: str, plugin: str, publication: str | None, receives: list[str]) -> list[str]:
    """Consume the slot until every expected change arrived (the source commits asynchronously: WAL
    reaches the decoder once flushed) or the deadline passes."""
    options: sql.Composable
    if plugin == "pgoutput":
        options = sql.SQL(", 'proto_version', '1', 'publication_names', {}").format(sql.Literal(publication or ""))
        query = sql.SQL("SELECT data FROM pg_catalog.pg_logical_slot_get_binary_changes({}, NULL, NULL{})")
    else:
        options = sql.SQL("")
        query = sql.SQL("SELECT data FROM pg_catalog.pg_logical_slot_get_changes({}, NULL, NULL{})")
    expected = {(name, operation) for name in receives for operation in ("INSERT", "UPDATE", "DELETE")}
    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + DEADLINE_S / 4
    with psycopg.connect(cdc_dsn, autocommit=True) as conn:
        while time.monotonic() < deadline and not expected <= seen:
            try:
                rows = conn.execute(query.format(sql.Literal(slot), options)).fetchall()
            except psycopg.Error as exc:
                return [f"decoding: {str(exc).splitlines()[0]}"]
            seen |= _pgoutput_changes(rows) if plugin == "pgoutput" else _text_changes(plugin, rows)
            time.sleep(POLL_S)
    return [f"changes not delivered: {operation} on {name}" for name, operation in sorted(expected - seen)]

def resume(source: Server, cdc_dsn: str, slot: str, receives: Iterable[str], writes: Iterable[str]) -> Outcome:
    """A connector resuming its own existing (test_decoding) slot: ``START_REPLICATION`` on it over a
    replication connection as the CDC role (pg_recvlogical), then every change of the writes arrives."""
    outcome = Outcome(f"resumed slot {slot}")
    receives, writes = list(receives), list(writes)
    srv = local(source)
    out = Path(srv.root) / f"recv-{secrets.token_hex(4)}.txt"
    out.touch()
    proc = subprocess.Popen([str(srv.bindir / "pg_recvlogical"), "-d", cdc_dsn, "--slot", slot, "--start",
                             "--no-loop", "-F", "0", "-f", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + DEADLINE_S
        query = sql.SQL("SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = {} AND active_pid = "
                        "ANY(SELECT pid FROM pg_catalog.pg_stat_replication)").format(sql.Literal(slot))
        while not run(source, query) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(POLL_S)
        if proc.poll() is not None or not run(source, query):
            proc.terminate()
            outcome.failures.append(f"START_REPLICATION: {(proc.communicate()[1] or 'not streaming').strip()}")
            return outcome
        reset(source, writes)
        outcome.failures.extend(write(source, writes))
        expected = {(name, operation) for name in receives for operation in ("INSERT", "UPDATE", "DELETE")}
        seen: set[tuple[str, str]] = set()
        while time.monotonic() < deadline and not expected <= seen:
            seen = _text_changes("test_decoding", [(line,) for line in out.read_text().splitlines()])
            time.sleep(POLL_S)
        outcome.failures += [f"changes not delivered: {op} on {name}" for name, op in sorted(expected - seen)]
        return outcome
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(DEADLINE_S)


def decoded(source: Server, cdc_dsn: str, publication: str, statements: Iterable[str], dbname: str) -> list[Change]:
    """What a pgoutput consumer of ``publication`` receives for ``statements`` (run on the source as its owner): a
    slot created over a replication connection as the CDC role, read until every DML change arrived (bounded)."""
    slot = f"oracle_{secrets.token_hex(4)}"
    statements = list(statements)
    dsn = psycopg.conninfo.make_conninfo(cdc_dsn, dbname=dbname)
    try:
        with psycopg.connect(dsn, replication="database", autocommit=True, prepare_threshold=None,
                             application_name=slot) as conn:
            conn.execute(sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput").format(sql.Identifier(slot)))
        run(source, *statements, dbname=dbname)
        query = sql.SQL("SELECT data FROM pg_catalog.pg_logical_slot_get_binary_changes({}, NULL, NULL, "
                        "'proto_version', '1', 'publication_names', {})").format(sql.Literal(slot),
                                                                                 sql.Literal(publication))
        changes: list[Change] = []
        relations: dict[int, str] = {}
        deadline = time.monotonic() + DEADLINE_S
        with psycopg.connect(dsn, autocommit=True) as conn:
            while len(changes) < len(statements) and time.monotonic() < deadline:
                changes += _pgoutput_rows(conn.execute(query).fetchall(), relations)
                time.sleep(POLL_S)
        return changes
    finally:
        drop_slot(source, slot)


# ----------------------------------------------------------------------------------------- pg-preflight


def preflight(dsn: str, *args: str) -> dict[str, Any]:
    """The JSON report of ``pg-preflight check``."""
    result = run_cli("check", dsn, "--format", "json", *args)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def failing(report: dict[str, Any]) -> dict[str, list[str]]:
    """Failing checks and the codes of their error findings."""
    return {c["id"]: [f["code"] for f in c["findings"] if f["severity"] == "error"]
            for c in report["checks"] if c["status"] in ("fail", "error")}


def script(dsn: str, *args: str) -> str:
    """The remediation script, ``--format sql``."""
    result = run_cli("check", dsn, "--format", "sql", *args)
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    return str(result.stdout)


def statements(text: str) -> list[str]:
    """The SQL lines of a script (comments dropped)."""
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("--")]


def apply(server: Server, text: str) -> str:
    """Run the script as printed with psql as the superuser; restart when a setting asks for it.
    Returns psql's errors ('' when every statement ran)."""
    srv = local(server)
    path = Path(srv.root) / f"fix-{secrets.token_hex(4)}.sql"
    path.write_text(text)
    proc = subprocess.run([str(srv.bindir / "psql"), "-X", "-q", "-d", srv.admin_dsn(), "-f", str(path)],
                          capture_output=True, text=True)
    if "ALTER SYSTEM" in text:
        server.restart()  # every setting this tool recommends takes effect by then
    return "\n".join(line for line in proc.stderr.splitlines() if "ERROR" in line)


def extension_dir(server: Server) -> Path:
    """The server's share/extension directory (writable here: the Debian package's as root, or the cache)."""
    out = subprocess.run([str(local(server).bindir / "pg_config"), "--sharedir"], capture_output=True, text=True,
                         check=True).stdout.strip()
    return Path(out) / "extension"

# ------------------------------------------------------------------------------ before and after a script


NATIVE, SLOT = "native subscription", "CDC slot (pgoutput)"


class Watch:
    """Consumers that live across a script: a native subscription and a CDC slot (pgoutput) created before
    it is applied and kept through it (and the restart it may ask for), as the consumers already running on
    a production source are. ``replicating`` writes one new row to every table and says, per consumer,
    which tables' rows arrived: a script must never make a table that arrived before stop arriving."""

    def __init__(self, source: Server, subscriber: Server, cdc_dsn: str, publication: str, tables: Iterable[str]) -> None:
        self.source, self.subscriber, self.cdc_dsn, self.publication = source, subscriber, cdc_dsn, publication
        self.tables = list(tables)
        self.name = f"watch_{secrets.token_hex(4)}"
        self.native = self.slot = self.database = False
        self.probes = 0
        self.failures: list[str] = []  # why a consumer could not be started (it then watches nothing)
        if not run(source, sql.SQL("SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = {}")
                   .format(sql.Literal(publication))):
            self.failures.append(f"publication {publication} does not exist yet")
            return
        # a partitioned table's changes reach a CDC slot under its leaves' names (or the root's, via the root)
        self.received_as = {name: name for name in self.tables} | {str(leaf): name for name in self.tables for (leaf,) in run(source, sql.SQL(
            "SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_partition_tree({}::pg_catalog.regclass) AS t "
            "JOIN pg_catalog.pg_class AS c ON c.oid = t.relid JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace")
            .format(sql.Literal(name)))}
        self._start_native()
        self._start_slot()

    def _start_native(self) -> None:
        copy_schema(self.source, self.subscriber, self.name)
        self.database = True
        self.offset = _log_offset(self.subscriber)
        dsn = local(self.subscriber).admin_dsn(self.name)

        def create() -> None:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {}").format(
                    sql.Identifier(self.name), sql.Literal(self.cdc_dsn + f" application_name={self.name}"),
                    sql.Identifier(self.publication)))

        failure = in_background(self.source, self.name, create)
        self.native = not failure
        if failure:
            self.failures.append(f"CREATE SUBSCRIPTION: {failure}")
        else:
            self.failures.extend(self._settle())

    def _settle(self) -> list[str]:
        """Wait until every table's initial copy is done or failing (the subscriber's log names it in an
        error; or, with errors naming no table, such as no free slot, no copy state changed for
        ``BLOCKED_AFTER_S``), so that what replicates before the script is not decided by a copy still running."""
        deadline = time.monotonic() + DEADLINE_S
        states: list[tuple[Any, ...]] = []
        changed = time.monotonic()
        while True:
            now = run(self.subscriber, "SELECT c.relname, s.srsubstate FROM pg_catalog.pg_subscription_rel AS s JOIN "
                      "pg_catalog.pg_class AS c ON c.oid = s.srrelid ORDER BY 1", dbname=self.name)
            if now != states:
                states, changed = now, time.monotonic()
            errors = _subscription_errors(self.subscriber, self.name, self.offset)
            named = all(f'"{relname}"' in " ".join(errors) for relname, state in states if state != "r")
            if named or (errors and time.monotonic() - changed >= BLOCKED_AFTER_S) or time.monotonic() > deadline:
                return errors
            time.sleep(POLL_S)

    def _start_slot(self) -> None:
        def create() -> None:
            with psycopg.connect(self.cdc_dsn, replication="database", autocommit=True, prepare_threshold=None,
                                 application_name=self.slot_name) as conn:
                conn.execute(sql.SQL("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput").format(sql.Identifier(self.slot_name)))

        failure = in_background(self.source, self.slot_name, create)
        self.slot = not failure
        if failure:
            self.failures.append(f"CREATE_REPLICATION_SLOT: {failure}")

    @property
    def slot_name(self) -> str:
        return self.name + "_slot"

    def replicating(self, only: dict[str, set[str]] | None = None) -> dict[str, set[str]]:
        """Per consumer, the tables whose new row arrived. Each consumer is read until every row arrived, or
        until it has received everything the source wrote up to the probe (then what is missing never
        arrives), or a deadline. ``only``: read only the consumers that received some table there (an earlier
        probe's result): a consumer that received nothing has nothing to lose."""
        self.probes += 1
        key = 900000 + self.probes
        with psycopg.connect(local(self.source).admin_dsn(), autocommit=True) as conn:
            for name in self.tables:
                try:
                    conn.execute(sql.SQL("INSERT INTO {} (id, v) VALUES ({}, 'probe')").format(qualified(name), key))
                except psycopg.Error as exc:  # e.g. no partition for the key: that table's row cannot arrive
                    self.failures.append(f"probe write: {name}: {str(exc).splitlines()[0]}")
            # the insert position: with asynchronous commit the write position can still be before the commits
            target = str(conn.execute("SELECT pg_catalog.pg_current_wal_insert_lsn()::text").fetchone()[0])  # type: ignore[index]
        seen: dict[str, set[str]] = {}
        if self.native and (only is None or only.get(NATIVE)):
            seen[NATIVE] = self._native_rows(key, target)
        if self.slot and (only is None or only.get(SLOT)):
            seen[SLOT] = self._slot_inserts(target)
        return seen

    def _native_rows(self, key: int, target: str) -> set[str]:
        def arrived() -> set[str]:
            return {t for t in self.tables if run(self.subscriber, sql.SQL("SELECT 1 FROM {} WHERE id = {} AND v = 'probe'")
                                                  .format(qualified(t), key), dbname=self.name)}

        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            caught_up = run(self.source, sql.SQL("SELECT confirmed_flush_lsn >= {}::pg_catalog.pg_lsn FROM "
                                                 "pg_catalog.pg_replication_slots WHERE slot_name = {}")
                            .format(sql.Literal(target), sql.Literal(self.name)))
            found = arrived()
            if found == set(self.tables) or (caught_up and caught_up[0][0]):
                return found
            time.sleep(POLL_S)
        return arrived()

    def _slot_inserts(self, target: str) -> set[str]:
        deadline = time.monotonic() + DEADLINE_S
        while not run(self.source, sql.SQL("SELECT pg_catalog.pg_current_wal_flush_lsn() >= {}::pg_catalog.pg_lsn")
                      .format(sql.Literal(target)))[0][0]:
            assert time.monotonic() < deadline, "the source never flushed its WAL"
            time.sleep(POLL_S)
        try:
            rows = run(self.source, sql.SQL(
                "SELECT data FROM pg_catalog.pg_logical_slot_get_binary_changes({}, {}::pg_catalog.pg_lsn, NULL, "
                "'proto_version', '1', 'publication_names', {})").format(
                    sql.Literal(self.slot_name), sql.Literal(target), sql.Literal(self.publication)))
        except psycopg.Error as exc:
            self.failures.append(f"decoding: {str(exc).splitlines()[0]}")
            return set()
        return {self.received_as[table] for table, operation in _pgoutput_changes(rows)
                if operation == "INSERT" and table in self.received_as}

    def stop(self) -> None:
        if self.database:
            _drop_subscription(self.source, self.subscriber, self.name)
        if self.slot:
            drop_slot(self.source, self.slot_name)


def lost(before: dict[str, set[str]], after: dict[str, set[str]]) -> list[str]:
    """'consumer: table' for every table that replicated before and not after."""
    return [f"{consumer}: {table}" for consumer, tables in before.items() for table in sorted(tables)
            if table not in after.get(consumer, set())]
