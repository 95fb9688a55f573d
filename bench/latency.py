"""Latency benchmark: ``.venv/bin/python -m bench.latency [--rtt-ms 50,150] [--repeat 5]``.

A full ``check`` (every default check, in process: ``run_preflight``) through the loopback delay
proxy, as a multiple of the floor any client pays at that RTT: one bare connect (the tool's own safe
session) plus one query. Run-to-run CPU time is taken out by also timing both without the proxy.
Figures go to stdout; nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from functools import partial

from bench.delay_proxy import DelayProxy
from bench.generate import generate
from bench.run import best_of, log, tool_once, with_port
from preflight.connection import open_session, parse_dsn
from preflight.pgserver import create_server

TABLES = 200  # a small schema: this bench is about round trips, not catalog size


def connect_and_query(dsn: str) -> None:
    """The floor: the tool's own session opened, one query, closed."""
    conn = open_session(parse_dsn(dsn), 10, 30, 5)
    try:
        conn.execute("SELECT 1").fetchone()
    finally:
        conn.close()


@dataclass
class Latency:
    rtt_ms: float
    floor_s: float
    tool_s: float
    floor_direct_s: float
    tool_direct_s: float
    connections: int
    turns: int

    @property
    def multiple(self) -> float:
        return self.tool_s / self.floor_s

    @property
    def added_multiple(self) -> float:
        """What the RTT adds to the tool, over what it adds to the floor (CPU time taken out)."""
        return (self.tool_s - self.tool_direct_s) / (self.floor_s - self.floor_direct_s)


def measure(rtts_ms: list[float], repeat: int) -> list[Latency]:
    server = create_server({"wal_level": "logical"}, prefix="pgpf-latency-")
    try:
        generate(server.admin_dsn(), TABLES, progress=log)
        dsn = with_port(server.dsn(), server.port)
        tool_once(dsn)  # warm-up: imports, plugin discovery, server caches
        tool_direct, _ = best_of(repeat, lambda: tool_once(dsn))
        floor_direct, _ = best_of(repeat, lambda: connect_and_query(dsn))
        out: list[Latency] = []
        for rtt in rtts_ms:
            with DelayProxy(server.port, rtt / 2000) as proxy:
                pdsn = with_port(server.dsn(), proxy.port)
                log(f"RTT {rtt:.0f} ms")
                floor, _ = best_of(repeat, partial(connect_and_query, pdsn))
                proxy.reset()
                tool_once(pdsn)
                connections, turns = proxy.snapshot()
                tool, _ = best_of(repeat, partial(tool_once, pdsn))
                out.append(Latency(rtt, floor, tool, floor_direct, tool_direct, connections, turns))
        return out
    finally:
        server.destroy()


def print_report(results: list[Latency]) -> None:
    print(f"\n{'RTT ms':>7} {'connect+query s':>16} {'check s':>8} {'check / floor':>14} "
          f"{'added by RTT, check / floor':>28} {'connections':>12} {'client turns':>13}")
    for r in results:
        print(f"{r.rtt_ms:>7.0f} {r.floor_s:>16.3f} {r.tool_s:>8.3f} {r.multiple:>13.2f}x "
              f"{r.added_multiple:>27.2f}x {r.connections:>12} {r.turns:>13}")
    if results:
        r = results[0]
        print(f"(without the proxy: connect+query {r.floor_direct_s:.3f} s, check {r.tool_direct_s:.3f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rtt-ms", default="50,150", help="comma list of round-trip times in ms")
    parser.add_argument("--repeat", type=int, default=5, help="runs per timing; the best is kept")
    args = parser.parse_args(argv)
    rtts = [float(s) for s in args.rtt_ms.split(",") if s.strip()]
    if not rtts or min(rtts) < 0 or max(rtts) > 2000:
        parser.error("RTTs must be between 0 and 2000 ms")
    started = time.perf_counter()
    print_report(measure(rtts, args.repeat))
    log(f"done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
