"""Fixtures: server backends (local binaries, and testcontainers where Docker runs) and scenarios."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from preflight.cli import main
from tests.servers import Backend, DockerBackend, LocalBackend, Server, docker_available

LOGICAL = {"wal_level": "logical", "max_replication_slots": "10", "max_wal_senders": "10"}


@pytest.fixture(scope="session", params=["local", "docker"])
def backend(request: pytest.FixtureRequest) -> Backend:
    """Every server scenario runs on each backend; docker is skipped where no engine answers."""
    if request.param == "docker":
        if not docker_available():
            pytest.skip("no Docker engine: the testcontainers backend cannot run here")
        return DockerBackend()
    return LocalBackend()


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


def run_cli(*args: str, env: dict[str, Any] | None = None) -> Result:
    """Run the CLI in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
