"""``--all-databases`` at scale: ``.venv/bin/python -m bench.databases --databases 1000 [--repeat 3]``.

A throwaway cluster of N databases (``CREATE DATABASE ... TEMPLATE`` of one holding a few tables: a
keyed one, an unkeyed one, one with a sequence), then, alternating after a warm-up:

- the tool: ``python -m preflight check DSN --all-databases --format json`` (the CLI as a subprocess);
- the floor: a plain loop over the same databases, with the same DSN (TCP, SCRAM), each a psycopg
  connect and one catalog query (``SELECT count(*) FROM pg_catalog.pg_class``), then close, on as many
  threads as the tool opens database sessions at once (``preflight.cluster.MAX_SESSIONS``), and the same
  loop on one thread for reference.

The best of ``--repeat`` runs of each is kept; the ratio tool / floor is printed with the target (2x).
With it, where the CPU goes per database visited (medians over the runs): the client's (the tool's process,
``os.wait4``; the loop's own process) and the server's (the postmaster's own CPU and that of the backends it
reaped, from ``/proc``): on a machine whose cores are shared, CPU per database is what the wall time follows.
Figures go to stdout, progress to stderr; nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from bench.run import log
from preflight.cluster import MAX_SESSIONS
from preflight.pgserver import LocalServer, create_server

TARGET = 2.0
TEMPLATE = "bench_template"
TABLES = (
    "CREATE SCHEMA app",
    "CREATE TABLE app.orders (id bigint PRIMARY KEY, customer text NOT NULL, total numeric)",
    "CREATE TABLE app.events (at timestamptz, payload jsonb)",
    "CREATE TABLE app.customers (id bigserial PRIMARY KEY, email text UNIQUE)",
    "CREATE INDEX ON app.events (at)",
)


def build_cluster(server: LocalServer, count: int) -> list[str]:
    """The template and ``count`` databases made from it (file copy: no WAL for their pages)."""
    server.execute(f"CREATE DATABASE {TEMPLATE}")
    server.execute(*TABLES, dbname=TEMPLATE)
    names = [f"db{i:04d}" for i in range(count)]
    strategy = " STRATEGY = FILE_COPY" if server.version >= 15 else ""
    started = time.monotonic()
    with psycopg.connect(server.admin_dsn("postgres"), autocommit=True) as conn:
        for name in names:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}{strategy}")
        conn.execute(f"ALTER DATABASE {TEMPLATE} WITH ALLOW_CONNECTIONS false")  # not visited: only the N count
    log(f"{count} databases created in {time.monotonic() - started:.1f} s")
    return names


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds, and CPU seconds of the client and of the server."""

    wall: float
    client: float
    server: float


def server_cpu(server: LocalServer) -> float:
    """CPU seconds of the postmaster and of every backend it has reaped (``/proc``: utime, stime, cutime, cstime)."""
    pid = (server.data / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def run_tool(server: LocalServer, dsn: str) -> Run:
    before, children = server_cpu(server), _children_cpu()
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "preflight", "check", dsn, "--all-databases", "--format", "json"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"check --all-databases exited {proc.returncode}: {proc.stderr.strip()}")
    return Run(elapsed, _children_cpu() - children, server_cpu(server) - before)


def _children_cpu() -> float:
    """CPU seconds of this process's waited-for children: the tool is the only child running meanwhile."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_loop(server: LocalServer, dsn: str, names: list[str], threads: int) -> Run:
    def visit(name: str) -> int:
        with psycopg.connect(make_conninfo(dsn, dbname=name)) as conn:
            row = conn.execute("SELECT pg_catalog.count(*) FROM pg_catalog.pg_class").fetchone()
        return int(row[0]) if row else 0

    before, cpu = server_cpu(server), time.process_time()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(visit, names))
    return Run(time.monotonic() - started, time.process_time() - cpu, server_cpu(server) - before)


def best(runs: list[float]) -> float:
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--databases", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each; the best is kept")
    args = parser.parse_args()
    server: list[LocalServer] = []
    try:
        # Enough connections for the tool's sessions and its replication proofs; walsenders for the proofs.
        created = create_server({"wal_level": "logical", "max_connections": "60", "max_wal_senders": "20",
                                 "max_replication_slots": "20"}, prefix="pgpf-dbs-", register=server.append)
        names = build_cluster(created, args.databases)
        dsn = created.dsn()
        every = ["postgres", *names]  # what the tool visits: every connectable, non-template database
        runs: dict[str, list[Run]] = {"tool": [], f"loop x{MAX_SESSIONS}": [], "loop x1": []}
        actions: dict[str, Callable[[], Run]] = {
            "tool": lambda: run_tool(created, dsn),
            f"loop x{MAX_SESSIONS}": lambda: run_loop(created, dsn, every, MAX_SESSIONS),
            "loop x1": lambda: run_loop(created, dsn, every, 1),
        }
        for action in actions.values():  # warm-up: imports, the server's caches
            action()
        for _ in range(args.repeat):  # alternating, so a noisy neighbour weighs on each alike
            for label, action in actions.items():
                runs[label].append(action())
                log(f"{label}: {runs[label][-1].wall:.2f} s")
        tool, floor, sequential = (best([r.wall for r in runs[k]]) for k in actions)
        log("runs: " + "; ".join(f"{k} " + ", ".join(f"{r.wall:.2f}" for r in v) for k, v in runs.items()))
        ratio = tool / floor
        print(f"| {len(every)} databases | check --all-databases {tool:.2f} s | loop x{MAX_SESSIONS} {floor:.2f} s | "
              f"{ratio:.2f}x | loop x1 {sequential:.2f} s ({tool / sequential:.2f}x) | best of {args.repeat} |")
        print(f"target (within {TARGET:.0f}x of the loop at the same parallelism):", "MET" if ratio <= TARGET else "MISSED")
        for label in ("tool", f"loop x{MAX_SESSIONS}"):
            client = statistics.median(r.client for r in runs[label]) * 1000 / len(every)
            spent = statistics.median(r.server for r in runs[label]) * 1000 / len(every)
            print(f"CPU per database, {label}: client {client:.1f} ms, server {spent:.1f} ms, total {client + spent:.1f} ms")
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        for started in server:
            started.destroy()


if __name__ == "__main__":
    main()
