"""Throwaway PostgreSQL servers from local binaries, for ``pg-preflight demo`` (the test suite builds on it).

Finds ``initdb``/``pg_ctl`` (``PG_BINDIR``, ``pg_config --bindir``, ``/usr/lib/postgresql/*/bin``),
keeps a template data directory per version (initdb once, copy after), and runs the server as an
unprivileged user when we are root (``runuser -u postgres``), since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from preflight.interrupts import signals_deferred

SUPERUSER = "postgres"

HOW_TO_GET_BINARIES = (
    "No PostgreSQL server binaries (initdb, pg_ctl) were found. Install them "
    "(Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql) "
    "or point PG_BINDIR at the directory holding initdb and pg_ctl."
)


class ServerError(RuntimeError):
    """The local server could not be created or started."""


def _version_of(bindir: Path) -> int:
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout
    return int(out.split()[-1].split(".")[0].split("beta")[0].split("rc")[0])


def find_bindir(explicit: str | None = None) -> Path | None:
    """The directory holding initdb/pg_ctl/postgres, or None."""
    candidates: list[Path] = []
    for value in (explicit, os.environ.get("PG_BINDIR")):
        if value:
            candidates.append(Path(value))
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=True).stdout
            candidates.append(Path(out.strip()))
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0, reverse=True)
    candidates.extend(Path(p) for p in debian)
    for path in candidates:
        if all((path / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_as() -> list[str]:
    """The prefix that runs a server tool as an unprivileged user when we are root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerError("running as root needs a 'postgres' OS user to run the server (useradd postgres)") from None
    return ["runuser", "-u", "postgres", "--"]


def chown_for_server(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(path):
            os.chown(root, entry.pw_uid, entry.pw_gid)
            for name in dirs + files:
                with contextlib.suppress(FileNotFoundError):
                    os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def _cache_dir() -> Path:
    """Where templates live; as root, somewhere the server's own user can traverse (not /root)."""
    if os.environ.get("PG_PREFLIGHT_CACHE"):
        return Path(os.environ["PG_PREFLIGHT_CACHE"])
    if os.geteuid() == 0:
        return Path("/var/cache/pg-preflight")
    return Path(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache"))) / "pg-preflight"


def _template(bindir: Path) -> Path:
    """A freshly initdb'ed data directory for this server version, made once and reused."""
    version = _version_of(bindir)
    digest = hashlib.sha256(str(bindir.resolve()).encode()).hexdigest()[:12]  # stable across processes
    target = _cache_dir() / f"template-{version}-{digest}"
    if (target / "PG_VERSION").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(target.parent, 0o755)
    with signals_deferred():
        work = Path(tempfile.mkdtemp(prefix="tmpl-", dir=target.parent))
    try:
        os.chmod(work, 0o755)
        data = work / "data"
        chown_for_server(work)
        cmd = run_as() + [str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth-local=trust",
                          "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
        proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
        if proc.returncode != 0:
            raise ServerError(f"initdb failed: {proc.stderr.strip() or proc.stdout.strip()}")
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 scram-sha-256\n")
        with contextlib.suppress(OSError):  # another process won the race; theirs is as good as ours
            os.rename(data, target)
    finally:  # interrupted or not, the work directory goes
        shutil.rmtree(work, ignore_errors=True)
    return target


@dataclass
class LocalServer:
    """One running throwaway server. ``dsn()`` connects over TCP with a password."""

    bindir: Path
    root: Path
    port: int
    settings: dict[str, str] = field(default_factory=dict)
    version: int = 0
    # Set over the trusted Unix socket once the server runs: random, so no password is written in the code.
    superuser_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    @property
    def host(self) -> str:
        return "127.0.0.1"

    def dsn(self, user: str = SUPERUSER, password: str | None = "", dbname: str = "postgres") -> str:
        """TCP, password authentication; ``password=""`` means the superuser's, None means none."""
        from psycopg.conninfo import make_conninfo

        params: dict[str, Any] = {"host": self.host, "port": self.port, "user": user, "dbname": dbname}
        if password == "" and user == SUPERUSER:
            password = self.superuser_password
        if password:
            params["password"] = password
        return make_conninfo(**params)

    def admin_dsn(self, dbname: str = "postgres") -> str:
        """Superuser over the Unix socket (trust): for the test suite's set-up, never the checker."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=str(self.socket_dir), port=self.port, user=SUPERUSER, dbname=dbname)

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """pg_ctl in its own session: a Ctrl-C at the terminal reaches us, not a half-started server."""
        cmd = run_as() + [str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, start_new_session=True)
        if check and proc.returncode != 0:
            log = (self.root / "server.log")
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ServerError(f"pg_ctl {' '.join(args[:1])} failed: {proc.stderr.strip()}\n{tail}")
        return proc

    def _options(self) -> str:
        """Only the address is on the command line: settings live in postgresql.conf, where ALTER SYSTEM
        can override them as it would on a real server."""
        base = {"port": str(self.port), "listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.socket_dir)}
        return " ".join(f"-c {k}={v}" for k, v in base.items())

    def write_settings(self) -> None:
        base = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off", "shared_buffers": "16MB",
                "max_connections": "40"}
        base.update(self.settings)
        lines = "".join(f"{k} = '{v}'\n" for k, v in base.items())
        conf = self.data / "postgresql.conf"
        with conf.open("a") as handle:
            handle.write("\n# pg-preflight test server\n" + lines)

    def start(self) -> None:
        """Start and wait until it accepts connections. Ctrl-C and SIGTERM wait for pg_ctl (a few seconds at
        most): interrupted half way, it would leave a postmaster starting that nothing knows to stop."""
        with signals_deferred():
            self._ctl("start", "-w", "-t", "60", "-l", str(self.root / "server.log"), "-o", self._options())
        if not self.is_standby():
            self.execute(f"ALTER ROLE {SUPERUSER} PASSWORD '{self.superuser_password}'")

    def is_standby(self) -> bool:
        return (self.data / "standby.signal").exists()

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-w", "-m", mode, check=False)

    def restart(self) -> None:
        self._ctl("restart", "-w", "-t", "60", "-m", "fast", "-l", str(self.root / "server.log"), "-o", self._options())

    def reload(self) -> None:
        self._ctl("reload")

    def destroy(self) -> None:
        """Stop (if it runs) and remove the directory; safe to call more than once."""
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def execute(self, *statements: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        """Run statements as the superuser in autocommit; return the last statement's rows."""
        import psycopg

        rows: list[tuple[Any, ...]] = []
        with psycopg.connect(self.admin_dsn(dbname), autocommit=True) as conn:
            for statement in statements:
                cur = conn.execute(statement)
                rows = cur.fetchall() if cur.description else []
        return rows


def create_server(settings: dict[str, str] | None = None, bindir: Path | None = None, prefix: str = "pgpf-",
                  register: Callable[[LocalServer], None] | None = None) -> LocalServer:
    """Copy the template data directory, start a server on a free port, return it (caller destroys).

    ``register`` receives the server as soon as its directory exists, before it starts, in one step
    that Ctrl-C cannot split: a caller that destroys what was registered leaves nothing behind
    whenever the interrupt comes. Failures and interrupts inside remove the server here too.
    """
    found = bindir or find_bindir()
    if found is None:
        raise ServerError(HOW_TO_GET_BINARIES)
    template = _template(found)
    version = _version_of(found)
    with signals_deferred():
        server = LocalServer(found, Path(tempfile.mkdtemp(prefix=prefix)), free_port(), dict(settings or {}), version)
        if register is not None:
            register(server)
    try:
        os.chmod(server.root, 0o755)
        shutil.copytree(template, server.data, symlinks=True)
        os.chmod(server.data, 0o700)
        server.socket_dir.mkdir()
        chown_for_server(server.root)
        server.write_settings()
        for attempt in range(3):
            try:
                server.start()
                return server
            except ServerError:
                if attempt == 2:
                    raise
                server.port = free_port()
                time.sleep(0.2)
    except BaseException:
        with signals_deferred():
            server.destroy()
        raise
    raise AssertionError("unreachable")
