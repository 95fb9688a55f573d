"""Scale benchmark: ``.venv/bin/python -m bench.run --sizes 1000,20000 [--delay-ms 25]``.

For each size: start a throwaway PostgreSQL, generate the tables (bench/generate.py), then measure
the whole tool (direct and through a delay proxy), the round trips it makes after connecting, the
raw ``tables`` catalog query through psql (the floor), the peak RSS of a ``python -m preflight
check --format json`` process, and whether the ``tables`` fact completes while another session holds
ACCESS EXCLUSIVE on a selected table. Targets are printed with PASS/MISS; nothing is asserted.
See bench/README.md for the method.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.delay_proxy import DelayProxy
from bench.generate import generate
from preflight.connection import parse_dsn
from preflight.facts import FactContext
from preflight.facts.base import wrap_json
from preflight.facts.selection import TABLES, TableRow
from preflight.models import CheckStatus
from preflight.options import Options
from preflight.pgserver import LocalServer, create_server
from preflight.runner import run_preflight, take_snapshot

T = TypeVar("T")
LOCKED_TABLE = ("bench_00000", "t_003")  # a table with a primary key in the first schema
CHILD_TIMEOUT_S = 600.0
RSS_TARGET_MB = 300.0
GROWTH_TARGET = 3.0
ADDED_TIME_TARGET = 1.5  # CLI's added time / the jit-off tables query's added time, smallest -> largest size
ROUND_TRIP_TARGET = 10


@dataclass
class Figures:
    """Everything measured at one size."""

    size: int
    relations: int = 0
    generate_s: float = 0.0
    tool_direct_s: float = 0.0
    tool_proxy_s: float = 0.0
    connections: int = 0
    connect_direct_s: float = 0.0
    connect_proxy_s: float = 0.0
    connect_turns: int = 0
    tool_turns: int = 0
    rt_timed: float = 0.0
    rt_counted: int = 0
    raw_direct_ms: float = 0.0
    raw_proxy_ms: float = 0.0
    raw_psql_wall_s: float = 0.0
    raw_nojit_ms: float = 0.0
    report_tables: int = 0
    check_errors: list[str] = field(default_factory=list)
    cli_rss_mb: float = 0.0
    cli_wall_s: float = 0.0
    cli_cpu_s: float = 0.0  # user + sys of the CLI process (best run): what the client itself spends
    cli_exit: int | None = None
    cli_output_mb: float = 0.0
    lock_fact_ok: bool = False
    lock_fact_s: float = 0.0
    lock_detail: str = ""
    lock_run_errors: list[str] = field(default_factory=list)
    explain: list[str] = field(default_factory=list)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def best_of(repeat: int, action: Callable[[], T]) -> tuple[float, T]:
    """The fastest of ``repeat`` runs and that run's result."""
    best: tuple[float, T] | None = None
    for _ in range(max(1, repeat)):
        started = time.perf_counter()
        result = action()
        elapsed = time.perf_counter() - started
        if best is None or elapsed < best[0]:
            best = (elapsed, result)
    assert best is not None
    return best


def with_port(dsn: str, port: int) -> str:
    # sslmode=disable: the same handshake direct and proxied (no SSLRequest turn)
    return make_conninfo(dsn, port=port, sslmode="disable")


def bare_connect(dsn: str) -> None:
    """What libpq's connect costs: a plain ``psycopg.connect``, closed, no query (the tool's own session costs
    the same: its settings ride in the startup packet; ``bench.latency`` shows both)."""
    psycopg.connect(dsn).close()


def tool_once(dsn: str) -> tuple[int, list[str]]:
    report = run_preflight(Options(dsn=dsn))
    errors = [f"{c.id}: {c.error}" for c in report.checks if c.status is CheckStatus.ERROR]
    return len(report.tables), errors


# --- the raw catalog query (the floor) -----------------------------------------------------------
def tables_sql(dsn: str) -> str:
    """The tables fact's statement exactly as the tool sends it, with its parameters bound inline."""
    with psycopg.connect(dsn) as conn:
        query, params = TABLES.build(FactContext(conn.info.server_version, Options(dsn=dsn)))
        cur = psycopg.ClientCursor(conn)
        statement = query if TABLES.shape == "records" else wrap_json(query, TABLES.shape)
        return cur.mogrify(statement, params)


def psql_timed(server: LocalServer, dsn: str, sql: str, repeat: int) -> tuple[float, float]:
    """(best server-side \\timing in ms, best psql process wall time in s) running ``sql`` via psql."""
    params = conninfo_to_dict(dsn)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write("\\timing on\n\\o /dev/null\n" + sql + ";\n")
        path = handle.name
    env = dict(os.environ, PGPASSWORD=server.superuser_password, PGSSLMODE="disable")
    cmd = [str(server.bindir / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(params["host"]),
           "-p", str(params["port"]), "-U", str(params["user"]), "-d", str(params["dbname"]), "-f", path]
    best_ms, best_wall = float("inf"), float("inf")
    try:
        for _ in range(max(1, repeat)):
            started = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=CHILD_TIMEOUT_S)
            wall = time.perf_counter() - started
            found = re.findall(r"Time: ([0-9.]+) ms", proc.stdout + proc.stderr)
            if proc.returncode != 0 or not found:
                log(f"psql failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
                return float("nan"), float("nan")
            best_ms, best_wall = min(best_ms, float(found[-1])), min(best_wall, wall)
    finally:
        os.unlink(path)
    return best_ms, best_wall


def explain_summary(server: LocalServer, sql: str) -> list[str]:
    """EXPLAIN ANALYZE of the tables query: total time and the nodes that run once per row."""
    rows = server.execute("EXPLAIN (ANALYZE, TIMING ON) " + sql)
    lines = [str(r[0]) for r in rows]
    keep = [ln for ln in lines if "SubPlan" in ln or ("loops=" in ln and "loops=1)" not in ln) or "Execution Time" in ln
            or "Planning Time" in ln or "JIT" in ln or "Timing:" in ln or "Functions:" in ln]
    return keep[:40]


# --- the CLI's peak RSS --------------------------------------------------------------------------
def peak_rss_kib(pid: int) -> int | None:
    """The process's own high-water RSS (``VmHWM``), or None once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else None


def cli_peak_rss(dsn: str) -> tuple[float, float, int | None, float, float]:
    """(peak RSS MB, wall s, exit code, output MB, CPU s) of ``python -m preflight check DSN --format json``.

    CPU is the child's user + sys time (``wait4``): the client's own work, which the load of a shared machine
    moves much less than its wall time.

    The peak is the child's ``VmHWM``, polled until it exits: ``ru_maxrss`` from ``wait4`` is not its own,
    since Linux carries the parent's high-water mark across fork and exec (after the parent has parsed
    one 100 MB report, every later child would "use" at least that much).
    """
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "preflight", "check", dsn, "--format", "json"],
                                stdout=out, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + CHILD_TIMEOUT_S
        hwm_kib = 0
        while True:  # bounded by the deadline
            hwm_kib = max(hwm_kib, peak_rss_kib(proc.pid) or 0)
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        proc.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
        wall = time.perf_counter() - started
        out.seek(0, os.SEEK_END)
        size_mb = out.tell() / 1e6
        if size_mb:
            out.seek(0)
            json.loads(out.read())  # a complete, parsable report
    cpu = usage.ru_utime + usage.ru_stime
    return (hwm_kib or usage.ru_maxrss) / 1024, wall, proc.returncode, size_mb, cpu  # both in KiB on Linux


# --- lock safety ---------------------------------------------------------------------------------
def lock_safety(server: LocalServer, dsn: str, figures: Figures) -> None:
    """Another session holds ACCESS EXCLUSIVE on a selected table while the tool reads the catalog."""
    schema, table = LOCKED_TABLE
    holder = psycopg.connect(server.admin_dsn())
    try:
        holder.execute(f'LOCK TABLE "{schema}"."{table}" IN ACCESS EXCLUSIVE MODE')
        options = Options(dsn=dsn, lock_timeout=5, statement_timeout=60)
        started = time.perf_counter()
        snapshot = take_snapshot(parse_dsn(dsn), options, [TABLES])
        figures.lock_fact_s = time.perf_counter() - started
        rows: list[TableRow] = snapshot.facts.get(TABLES.name) or []
        seen = any(r.schema == schema and r.name == table for r in rows)
        figures.lock_fact_ok = "tables" not in snapshot.failures and seen
        figures.lock_detail = snapshot.failures.get("tables", f"{len(rows)} rows, locked table listed: {seen}")
        _, errors = tool_once(dsn)
        figures.lock_run_errors = errors
    finally:
        holder.rollback()
        holder.close()


# --- one size ------------------------------------------------------------------------------------
def measure(size: int, delay_s: float, repeat: int, explain: bool) -> Figures:
    figures = Figures(size)
    log(f"size {size}: starting a server")
    server = create_server({"wal_level": "logical", "max_locks_per_transaction": "256"}, prefix="pgpf-bench-")
    try:
        gen = generate(server.admin_dsn(), size, progress=log)
        figures.relations, figures.generate_s = gen.relations, gen.seconds
        dsn = with_port(server.dsn(), server.port)
        tool_once(dsn)  # warm-up: imports, plugin discovery, server caches
        log(f"size {size}: tool direct")
        figures.tool_direct_s, (figures.report_tables, figures.check_errors) = best_of(repeat, lambda: tool_once(dsn))
        figures.connect_direct_s, _ = best_of(repeat, lambda: bare_connect(dsn))
        with DelayProxy(server.port, delay_s) as proxy:
            pdsn = with_port(server.dsn(), proxy.port)
            log(f"size {size}: through the proxy (RTT {proxy.rtt_s * 1000:.0f} ms)")
            proxy.reset()
            bare_connect(pdsn)
            figures.connect_turns = proxy.snapshot()[1]
            figures.connect_proxy_s, _ = best_of(repeat, lambda: bare_connect(pdsn))
            proxy.reset()
            tool_once(pdsn)
            figures.connections, figures.tool_turns = proxy.snapshot()
            figures.tool_proxy_s, _ = best_of(repeat, lambda: tool_once(pdsn))
            connect_extra = figures.connect_proxy_s - figures.connect_direct_s
            # The tool's connections are opened side by side (facts/alongside.py): one set-up is on the clock.
            after = figures.tool_proxy_s - figures.tool_direct_s - connect_extra
            figures.rt_timed = after / proxy.rtt_s
            figures.rt_counted = figures.tool_turns - figures.connections * figures.connect_turns
            sql = tables_sql(dsn)
            log(f"size {size}: raw tables query via psql")
            figures.raw_direct_ms, figures.raw_psql_wall_s = psql_timed(server, dsn, sql, repeat)
            figures.raw_proxy_ms, _ = psql_timed(server, pdsn, sql, 1)
            figures.raw_nojit_ms, _ = psql_timed(server, dsn, "SET jit = off;\n" + sql, repeat)
        log(f"size {size}: CLI peak RSS and wall time")
        runs = [cli_peak_rss(dsn) for _ in range(repeat)]
        figures.cli_rss_mb = max(r[0] for r in runs)
        _, figures.cli_wall_s, figures.cli_exit, figures.cli_output_mb, _ = min(runs, key=lambda r: r[1])
        figures.cli_cpu_s = min(r[4] for r in runs)
        log(f"size {size}: lock safety")
        lock_safety(server, dsn, figures)
        if explain:
            figures.explain = explain_summary(server, sql)
    finally:
        server.destroy()
    return figures


# --- the report ----------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(results: list[Figures], delay_s: float) -> None:
    cols: list[tuple[str, Callable[[Figures], Any]]] = [
        ("tables (N)", lambda f: f.size),
        ("relations (tables+indexes)", lambda f: f.relations),
        ("generate s", lambda f: f"{f.generate_s:.1f}"),
        ("tool direct s (run_preflight, best)", lambda f: f"{f.tool_direct_s:.3f}"),
        (f"tool via proxy s (RTT {2 * delay_s * 1000:.0f} ms)", lambda f: f"{f.tool_proxy_s:.3f}"),
        ("connections opened by the tool", lambda f: f.connections),
        ("bare connect direct / proxy s", lambda f: f"{f.connect_direct_s:.3f} / {f.connect_proxy_s:.3f}"),
        ("round trips after connect (timed)", lambda f: f"{f.rt_timed:.1f}"),
        ("round trips after connect (counted)", lambda f: f"{f.rt_counted} ({f.tool_turns} - {f.connections}x{f.connect_turns})"),
        ("raw tables query direct ms (psql \\timing)", lambda f: f"{f.raw_direct_ms:.1f}"),
        ("raw tables query via proxy ms", lambda f: f"{f.raw_proxy_ms:.1f}"),
        ("raw tables query direct ms, jit=off", lambda f: f"{f.raw_nojit_ms:.1f}"),
        ("raw psql process wall s", lambda f: f"{f.raw_psql_wall_s:.3f}"),
        ("tables in report", lambda f: f.report_tables),
        ("checks in error", lambda f: len(f.check_errors)),
        ("CLI peak RSS MB", lambda f: f"{f.cli_rss_mb:.1f}"),
        ("CLI wall s (best) / exit / JSON MB", lambda f: f"{f.cli_wall_s:.2f} / {f.cli_exit} / {f.cli_output_mb:.1f}"),
        ("CLI CPU s, user + sys (best)", lambda f: f"{f.cli_cpu_s:.2f}"),
        ("tables fact under ACCESS EXCLUSIVE", lambda f: f"{'completed' if f.lock_fact_ok else 'FAILED'} in {f.lock_fact_s:.3f} s"),
        ("whole run under the lock: checks in error", lambda f: len(f.lock_run_errors)),
    ]
    width = max(len(name) for name, _ in cols)
    print()
    print(f"{'':{width}}  " + "  ".join(f"{'N=' + str(f.size):>22}" for f in results))
    for name, get in cols:
        print(f"{name:{width}}  " + "  ".join(f"{get(f)!s:>22}" for f in results))
    for f in results:
        for err in f.check_errors:
            print(f"  N={f.size}: check error: {err}")
        for err in f.lock_run_errors:
            print(f"  N={f.size}: under the lock: {err}")
        if not f.lock_fact_ok:
            print(f"  N={f.size}: tables fact under lock: {f.lock_detail}")
        if f.explain:
            print(f"\n  EXPLAIN ANALYZE of the tables query at N={f.size} (per-row nodes and totals):")
            for line in f.explain:
                print("    " + line)
    print_targets(results)


def print_targets(results: list[Figures]) -> None:
    print("\nTargets")
    small, large = results[0], results[-1]
    if len(results) > 1 and small.size != large.size:
        tool_growth = large.tool_direct_s / small.tool_direct_s
        # Like for like: the tool's session runs the query with jit off, and JIT compilation (a second or more
        # wherever fresh statistics push the plan over jit_above_cost, 1k tables included) is no per-table cost.
        raw_growth = large.raw_nojit_ms / small.raw_nojit_ms
        ratio = tool_growth / raw_growth
        print(f"  {verdict(ratio <= GROWTH_TARGET)}  growth {small.size} -> {large.size} tables ({large.size / small.size:.0f}x): "
              f"tool {tool_growth:.1f}x, raw query (jit off) {raw_growth:.1f}x, tool/raw {ratio:.2f} "
              f"(target <= {GROWTH_TARGET:.0f})")
        cli_added = large.cli_wall_s - small.cli_wall_s
        raw_added = (large.raw_nojit_ms - small.raw_nojit_ms) / 1000
        added = cli_added / raw_added if raw_added > 0 else float("inf")
        print(f"  {verdict(added <= ADDED_TIME_TARGET)}  added time {small.size} -> {large.size} tables: CLI --format json "
              f"+{cli_added:.2f} s, tables query alone (jit off) +{raw_added:.2f} s, CLI/query {added:.2f} "
              f"(target <= {ADDED_TIME_TARGET:g})")
        print(f"  ----  client CPU added {small.size} -> {large.size} tables: +{large.cli_cpu_s - small.cli_cpu_s:.2f} s "
              f"(user + sys of the CLI; the share of the added wall time the client itself spends)")
    else:
        print("  ----  growth: needs two sizes")
    counted = [f.rt_counted for f in results]
    flat = max(counted) - min(counted) <= 1
    print(f"  {verdict(flat)}  round trips independent of table count: counted {counted}, "
          f"timed {[round(f.rt_timed, 1) for f in results]} (timed is noise once run-to-run jitter of the "
          "direct run exceeds an RTT; the counted figure is exact)")
    worst = max(counted)
    print(f"  {verdict(worst <= ROUND_TRIP_TARGET)}  round trips after connect <= {ROUND_TRIP_TARGET}: worst {worst}")
    print(f"  {verdict(large.cli_rss_mb < RSS_TARGET_MB)}  peak RSS at N={large.size}: {large.cli_rss_mb:.0f} MB "
          f"(target < {RSS_TARGET_MB:.0f} MB)")
    locked = all(f.lock_fact_ok for f in results)
    print(f"  {verdict(locked)}  tables fact completes while ACCESS EXCLUSIVE is held: "
          f"{[round(f.lock_fact_s, 2) for f in results]} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,20000", help="comma list of table counts (100000 is slow)")
    parser.add_argument("--delay-ms", type=float, default=25.0, help="proxy delay per direction (RTT = 2x)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing; the best is kept")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of the tables query")
    args = parser.parse_args(argv)
    sizes = sorted({int(s) for s in args.sizes.split(",") if s.strip()})
    if not sizes or min(sizes) < 100 or max(sizes) > 200_000:
        parser.error("sizes must be between 100 and 200000")
    delay_s = args.delay_ms / 1000
    results: list[Figures] = []
    for size in sizes:
        try:
            results.append(measure(size, delay_s, args.repeat, args.explain))
        except Exception as exc:  # report what we have; never raise
            log(f"size {size} failed: {type(exc).__name__}: {exc}")
    if results:
        print_report(results, delay_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
