"""Latency benchmark: ``.venv/bin/python -m bench.latency [--rtt-ms 50,150] [--repeat 5] [--traces]``.

Round trips, measured through the loopback delay proxy (``bench.delay_proxy``), against what libpq itself
needs: a plain ``psycopg.connect`` (nothing else: the floor of any client), the same plus one query (what
``psql -c`` costs), the tool's own session opened and closed, and a full ``check`` (every default check, in
process: ``run_preflight``). Each is timed direct and through the proxy; the time the RTT adds, divided by
the RTT, is how many round trips of wall time it costs (CPU time taken out). The proxy also counts the
client's turns per connection (a closing Terminate counts as one, though nothing waits for it). Figures go
to stdout; nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import psycopg

from bench.delay_proxy import DelayProxy
from bench.generate import generate
from bench.run import best_of, log, tool_once, with_port
from preflight.connection import open_session, parse_dsn
from preflight.pgserver import create_server

TABLES = 200  # a small schema: this bench is about round trips, not catalog size


def plain_connect(dsn: str) -> None:
    """libpq's floor: connect (startup, authentication) and close, nothing else."""
    psycopg.connect(dsn).close()


def plain_connect_and_query(dsn: str) -> None:
    """What ``psql -c 'SELECT 1'`` costs: connect, one query in autocommit, close."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT 1").fetchone()


def session_open(dsn: str) -> None:
    """The tool's own safe session (settings in the startup packet), opened and closed."""
    open_session(parse_dsn(dsn), 10, 30, 5).close()


def whole_check(dsn: str) -> None:
    tool_once(dsn)


ACTIONS: list[tuple[str, Callable[[str], None]]] = [
    ("psycopg.connect (libpq alone)", plain_connect),
    ("connect + 1 query (psql -c)", plain_connect_and_query),
    ("the tool's session opened", session_open),
    ("a whole check", whole_check),
]


@dataclass
class Row:
    label: str
    rtt_ms: float
    direct_s: float
    proxied_s: float
    connections: int
    turns: int
    traces: list[list[str]]

    @property
    def round_trips(self) -> float:
        """Round trips of wall time: what the RTT adds, in RTTs."""
        return (self.proxied_s - self.direct_s) / (self.rtt_ms / 1000)


def measure(rtts_ms: list[float], repeat: int) -> list[Row]:
    server = create_server({"wal_level": "logical"}, prefix="pgpf-latency-")
    try:
        generate(server.admin_dsn(), TABLES, progress=log)
        dsn = with_port(server.dsn(), server.port)
        tool_once(dsn)  # warm-up: imports, plugin discovery, server caches
        direct = {label: best_of(repeat, partial(action, dsn))[0] for label, action in ACTIONS}
        rows: list[Row] = []
        for rtt in rtts_ms:
            with DelayProxy(server.port, rtt / 2000) as proxy:
                pdsn = with_port(server.dsn(), proxy.port)
                log(f"RTT {rtt:.0f} ms")
                for label, action in ACTIONS:
                    proxy.reset()
                    action(pdsn)
                    connections, turns = proxy.snapshot()
                    traces = proxy.traces()
                    proxied, _ = best_of(repeat, partial(action, pdsn))
                    rows.append(Row(label, rtt, direct[label], proxied, connections, turns, traces))
        return rows
    finally:
        server.destroy()


def print_report(rows: list[Row], traces: bool) -> None:
    print(f"\n{'RTT ms':>7}  {'what':<32} {'direct s':>9} {'via proxy s':>12} {'round trips (wall)':>19} "
          f"{'connections':>12} {'client turns':>13}")
    for r in rows:
        print(f"{r.rtt_ms:>7.0f}  {r.label:<32} {r.direct_s:>9.3f} {r.proxied_s:>12.3f} {r.round_trips:>19.1f} "
              f"{r.connections:>12} {r.turns:>13}")
    floors = {r.rtt_ms: r for r in rows if r.label.startswith("connect + 1 query")}
    for r in rows:
        if r.label == "a whole check":
            floor = floors[r.rtt_ms]
            print(f"RTT {r.rtt_ms:.0f} ms: a whole check is {r.proxied_s / floor.proxied_s:.2f}x connect + 1 query "
                  f"({r.round_trips:.1f} against {floor.round_trips:.1f} round trips of wall time)")
    if traces:
        last = {r.label: r for r in rows}
        for label, r in last.items():
            print(f"{label}: client turns per connection (message types): {r.traces}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rtt-ms", default="50,150", help="comma list of round-trip times in ms")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; the best is kept")
    parser.add_argument("--traces", action="store_true", help="print each connection's client turns (last RTT)")
    args = parser.parse_args(argv)
    rtts = [float(s) for s in args.rtt_ms.split(",") if s.strip()]
    if not rtts or min(rtts) <= 0 or max(rtts) > 2000:
        parser.error("RTTs must be above 0 and at most 2000 ms")
    started = time.perf_counter()
    print_report(measure(rtts, args.repeat), args.traces)
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
