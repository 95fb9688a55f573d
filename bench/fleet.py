"""Fleet benchmark: ``.venv/bin/python -m bench.fleet [--healthy 450] [--hanging 50] [--jobs 64]``.

A fleet of DSNs where some servers hang must finish within about one connect timeout of the time the
healthy ones take alone. The healthy lines are a few throwaway local servers reused under many
names; the hanging ones are silent TCP peers (they accept the connection and never answer, like a
black-holing proxy or a frozen host). The CLI runs as a subprocess, twice: the healthy lines alone,
then every line. Figures go to stdout; nothing is asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from psycopg.conninfo import conninfo_to_dict

from bench.run import log
from preflight.pgserver import LocalServer, create_server


def uri(server: LocalServer) -> str:
    params = conninfo_to_dict(server.dsn())
    return f"postgresql://postgres:{quote(str(params['password']), safe='')}@{params['host']}:{params['port']}/postgres"


@contextlib.contextmanager
def silent_peers(count: int) -> Iterator[list[int]]:
    """Listening sockets that never accept: the kernel completes the handshake, nothing ever answers."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sock.listen(512)
            sockets.append(sock)
        yield [int(s.getsockname()[1]) for s in sockets]
    finally:
        for sock in sockets:
            sock.close()


def run_fleet(inventory: Path, jobs: int, connect_timeout: int) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "preflight", "fleet", "--dsn-file", str(inventory), "--jobs", str(jobs),
                           "--connect-timeout", str(connect_timeout)], capture_output=True, text=True)
    return time.monotonic() - started, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--healthy", type=int, default=450)
    parser.add_argument("--hanging", type=int, default=50)
    parser.add_argument("--servers", type=int, default=4, help="local servers the healthy lines share")
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--connect-timeout", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each; the medians are compared")
    args = parser.parse_args()
    started: list[LocalServer] = []
    try:
        for _ in range(args.servers):
            create_server({"wal_level": "logical", "max_connections": "200"}, prefix="pgpf-fleet-",
                          register=started.append)
        with silent_peers(5) as ports, tempfile.TemporaryDirectory(prefix="pgpf-fleet-") as tmp:
            healthy = [f"ok{i:04d}={uri(started[i % len(started)])}" for i in range(args.healthy)]
            hanging = [f"hang{i:04d}=postgresql://u:pw@127.0.0.1:{ports[i % len(ports)]}/db" for i in range(args.hanging)]
            only_healthy, everything = Path(tmp) / "healthy.txt", Path(tmp) / "all.txt"
            only_healthy.write_text("\n".join(healthy) + "\n")
            # The hanging lines spread through the file; the shard-free run hands them out in file order.
            mixed = healthy[:]
            for n, line in enumerate(hanging):
                mixed.insert((n * len(mixed)) // max(1, len(hanging)) + n, line)
            everything.write_text("\n".join(mixed) + "\n")
            log(f"{args.healthy} healthy lines on {len(started)} servers, {args.hanging} hanging, --jobs {args.jobs}, "
                f"--connect-timeout {args.connect_timeout}")
            run_fleet(only_healthy, args.jobs, args.connect_timeout)  # warm-up: imports, server caches
            healthy_runs: list[float] = []
            all_runs: list[float] = []
            for _ in range(args.repeat):  # alternating, so a noisy neighbour weighs on both alike
                healthy_s, healthy_tail = run_fleet(only_healthy, args.jobs, args.connect_timeout)
                log(f"healthy alone: {healthy_s:.1f} s ({healthy_tail})")
                healthy_runs.append(healthy_s)
                all_s, all_tail = run_fleet(everything, args.jobs, args.connect_timeout)
                log(f"with the hanging ones: {all_s:.1f} s ({all_tail})")
                all_runs.append(all_s)
        healthy_s, all_s = statistics.median(healthy_runs), statistics.median(all_runs)
        extra = all_s - healthy_s
        log("runs: healthy " + ", ".join(f"{t:.1f}" for t in healthy_runs) + "; all " + ", ".join(f"{t:.1f}" for t in all_runs))
        print(f"| {args.healthy + args.hanging} DSNs ({args.hanging} hanging) | --jobs {args.jobs} | "
              f"connect timeout {args.connect_timeout} s | median of {args.repeat}: healthy alone {healthy_s:.1f} s ({healthy_tail}) | "
              f"all {all_s:.1f} s ({all_tail}) | extra {extra:.1f} s = {extra / args.connect_timeout:.2f} x connect timeout |")
        print("target (within one connect timeout of the healthy time):", "MET" if extra <= args.connect_timeout else "MISSED")
    finally:
        for server in started:
            server.destroy()


if __name__ == "__main__":
    main()
