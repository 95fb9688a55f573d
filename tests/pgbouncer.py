"""A real PgBouncer (Debian's package) in front of a test server, started and stopped by the test."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg.conninfo import make_conninfo

from preflight import pgserver
from tests.servers import Server

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
START_BOUND = 20.0


def require() -> None:
    """The suite needs PgBouncer (.ci/setup installs Debian's package): missing, the tests fail, never skip."""
    if not Path(PGBOUNCER).is_file():
        raise RuntimeError("pgbouncer is not installed: run .ci/setup (apt-get install pgbouncer)")


class Bouncer:
    """One PgBouncer process: ``dsn()`` connects through it to the server's database."""

    def __init__(self, server: Server, mode: str, users: dict[str, str], **settings: str) -> None:
        require()
        self.port = pgserver.free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"pgbouncer-{mode}-"))
        host, port = server.host, server.port  # type: ignore[attr-defined]
        (self.root / "userlist.txt").write_text("".join(f'"{u}" "{p}"\n' for u, p in users.items()))
        extra = "".join(f"{k} = {v}\n" for k, v in settings.items())
        (self.root / "pgbouncer.ini").write_text(
            f"[databases]\n* = host={host} port={port}\n"
            f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {self.root / 'userlist.txt'}\npool_mode = {mode}\n"
            f"logfile = {self.root / 'pgbouncer.log'}\npidfile = {self.root / 'pgbouncer.pid'}\n"
            f"default_pool_size = 4\n{extra}")
        pgserver.chown_for_server(self.root)
        self.process = subprocess.Popen([*pgserver.run_as(), PGBOUNCER, str(self.root / "pgbouncer.ini")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_until_listening(next(iter(users)))

    def dsn(self, user: str, dbname: str = "postgres") -> str:
        return make_conninfo(host="127.0.0.1", port=self.port, user=user, dbname=dbname)

    def _wait_until_listening(self, user: str) -> None:
        deadline = time.monotonic() + START_BOUND
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                                   f"{self.log()}")
            with contextlib.suppress(psycopg.OperationalError):
                psycopg.connect(self.dsn(user), connect_timeout=2).close()
                return
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pgbouncer did not accept connections within {START_BOUND:.0f} s: {self.log()}")
            time.sleep(0.05)  # polling a condition with a bound, not a fixed wait

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def bouncer(server: Server, mode: str, users: dict[str, str], **settings: str) -> Iterator[Bouncer]:
    running = Bouncer(server, mode, users, **settings)
    try:
        yield running
    finally:
        running.stop()
