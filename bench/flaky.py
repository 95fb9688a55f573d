"""Flakiness benchmark: ``.venv/bin/python -m bench.flaky --runs 50 [--clients 4]``.

Starts a throwaway PostgreSQL (logical, prepared transactions allowed), a CDC role with the usual grants
(LOGIN REPLICATION, USAGE and SELECT on the replicated schema, the publication it consumes), and a
sustained pgbench-like write load from several clients (tests/write_load.py: BEGIN; UPDATE; SELECT;
INSERT; COMMIT, each statement on its own). Under that load it runs the whole ``check`` N times as the
CDC role itself and N times as the superuser with ``--role cdc``, alternating, and counts false alarms:
on this healthy server any verdict other than ``ready``, or any ``long_transactions`` status other than
``pass``, is one. Prints the count per role, the time per run (and of the ``activity`` fact's watch, when one ran) and the
load's rate; ``--pg 18`` runs it on another major of the test matrix. The target is 0 of N
for both roles. Nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

from bench.run import log
from preflight import Options, run_checks
from preflight.pgserver import create_server
from preflight.runner import snapshot_for
from tests.pgversions import bindir
from tests.servers import CDC_USER, add_cdc_role
from tests.write_load import WriteLoad, prepare

PUBLICATION = "cdc_publication"


@dataclass
class Figures:
    """One role's runs: how many were false alarms, what they said, how long each took."""

    who: str
    alarms: int = 0
    said: Counter[str] = field(default_factory=Counter)
    seconds: list[float] = field(default_factory=list)
    watched: list[float] = field(default_factory=list)  # the activity fact's watch, when one ran

    def line(self, runs: int) -> str:
        times = sorted(self.seconds)
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        watch = (f"   watch ran {len(self.watched)} times: median {statistics.median(self.watched):.3f}s  max "
                 f"{max(self.watched):.3f}s" if self.watched else "")
        return (f"{self.who:<18} false alarms {self.alarms:>3} of {runs}   time per run: median "
                f"{statistics.median(times):.3f}s  p95 {p95:.3f}s  max {times[-1]:.3f}s{watch}")


def healthy_source(admin_dsn: str) -> None:
    """The load's tables, the CDC role's grants, and the publication it consumes."""
    prepare(admin_dsn, CDC_USER)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f"CREATE PUBLICATION {PUBLICATION} FOR TABLES IN SCHEMA load")


def once(dsn: str, role: str | None, figures: Figures) -> None:
    options = Options(dsn=dsn, schemas=["load"], publication=PUBLICATION, role=role)
    started = time.perf_counter()
    dsn_, snapshot = snapshot_for(options)
    report = run_checks(snapshot, options, dsn_)  # what run_preflight does, with the snapshot kept
    figures.seconds.append(time.perf_counter() - started)
    watch = getattr(snapshot.facts.get("activity"), "watch", None)  # (none before the watch existed)
    if watch is not None and watch.running:
        figures.watched.append(watch.watched_s)
    long = report.check("long_transactions")
    if report.status.value != "ready" or long.status.value != "pass":
        figures.alarms += 1
        failing = [c for c in report.checks if c.status.value in ("fail", "error") or c is long]
        for check in failing:
            codes = sorted({f.code for f in check.findings if f.severity.value != "info"})
            figures.said[f"{check.id} {check.status.value} {','.join(codes)}"] += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flaky", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="runs per role (default 50)")
    parser.add_argument("--clients", type=int, default=4, help="write-load clients (default 4)")
    parser.add_argument("--pg", type=int, default=None, help="a major of the test matrix (14, 16, 17, 18); "
                        "default: the local server")
    args = parser.parse_args(argv)
    server = create_server({"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10",
                            "max_prepared_transactions": "5"}, bindir=bindir(args.pg) if args.pg else None,
                           prefix="pgpf-flaky-")
    try:
        cdc = add_cdc_role(server)
        healthy_source(server.admin_dsn())
        quiet = Figures("quiet (cdc)")
        once(cdc, None, quiet)
        log(f"quiet server: {'ready' if not quiet.alarms else quiet.said}")
        roles = [(Figures("cdc"), cdc, None), (Figures("admin --role cdc"), server.dsn(), CDC_USER)]
        load = WriteLoad(server.dsn(), clients=args.clients, seconds=3600).start().started()
        started, committed_before = time.perf_counter(), sum(load.committed)
        try:
            for n in range(args.runs):
                for figures, dsn, role in roles:
                    once(dsn, role, figures)
                if (n + 1) % 10 == 0:
                    log(f"{n + 1} runs per role")
        finally:
            elapsed, committed = time.perf_counter() - started, sum(load.committed) - committed_before
            load.stop()
        print(f"server {server.version}, write load: {args.clients} clients, {committed / elapsed:.0f} tps over "
              f"{elapsed:.0f} s ({committed} transactions, errors: {len(load.errors)})")
        for figures, _, _ in roles:
            print(figures.line(args.runs))
            for what, count in figures.said.most_common():
                print(f"    {count} x {what}")
        return 0
    finally:
        server.destroy()


if __name__ == "__main__":
    sys.exit(main())
