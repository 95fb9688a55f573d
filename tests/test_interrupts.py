"""Ctrl-C and SIGTERM in a real process: exit 130 / 143 (never 1, which a CI reads as "not ready"),
fleet stops at once with the summary of what finished, demo leaves no server and no directory.

Each test waits for the state it interrupts (a connection accepted, a postmaster pid file written)
by polling, never by sleeping a fixed time."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import PLUMBING
from tests.servers import Server

SIGNALS = [(signal.SIGINT, 130), (signal.SIGTERM, 143)]
GUARD = 60.0  # a hung test fails after this long; no assertion depends on timing


class SilentPeers:
    """TCP peers that accept connections and never answer; they tell when a client has connected."""

    def __init__(self, count: int) -> None:
        self.listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(count)]
        self.accepted: list[socket.socket] = []

    @property
    def ports(self) -> list[int]:
        return [int(s.getsockname()[1]) for s in self.listeners]

    def wait_connected(self, count: int) -> None:
        deadline = time.monotonic() + GUARD
        while len(self.accepted) < count:
            assert time.monotonic() < deadline, "the client never connected"
            ready, _, _ = select.select(self.listeners, [], [], 0.1)
            self.accepted += [listener.accept()[0] for listener in ready]

    def close(self) -> None:
        for sock in self.accepted + self.listeners:
            sock.close()


@pytest.fixture()
def peers() -> Iterator[Callable[[int], SilentPeers]]:
    made: list[SilentPeers] = []

    def make(count: int) -> SilentPeers:
        made.append(SilentPeers(count))
        return made[-1]

    yield make
    for group in made:
        group.close()


def _interruptible() -> None:
    """In the child: Ctrl-C as a terminal delivers it. A suite started in the background (``cmd &``) ignores
    SIGINT, children inherit that, and Python then never turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "preflight", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
                            preexec_fn=_interruptible)


@pytest.mark.parametrize("command", ["check", "decisions"])
@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_interrupted_while_connecting(peers: Callable[[int], SilentPeers], signum: int, status: int,
                                      command: str) -> None:
    group = peers(1)
    proc = cli(command, f"host=127.0.0.1 port={group.ports[0]} user=u dbname=d", "--connect-timeout", "600")
    group.wait_connected(1)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == status, err
    assert "interrupted" in err and "Traceback" not in err


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=["SIGINT", "SIGTERM"])
@PLUMBING
def test_fleet_stops_at_once_with_partial_summary(tmp_path: Path, logical_server: Server,
                                                  peers: Callable[[int], SilentPeers], signum: int, status: int) -> None:
    group = peers(3)
    port = logical_server.port  # type: ignore[attr-defined]
    lines = [f"ready_one=postgresql://127.0.0.1:{port}/postgres?user=postgres&password="
             f"{logical_server.superuser_password}"]  # type: ignore[attr-defined]
    lines += [f"silent_{n}=postgresql://u@127.0.0.1:{p}/d" for n, p in enumerate(group.ports)]
    (tmp_path / "fleet.txt").write_text("\n".join(lines) + "\n")
    proc = cli("fleet", "--dsn-file", str(tmp_path / "fleet.txt"), "--jobs", "3", "--connect-timeout", "600",
               "--output-dir", str(tmp_path / "out"))
    group.wait_connected(2)
    while not (tmp_path / "out" / "ready_one.json").exists():  # the reachable server has finished
        assert proc.poll() is None, proc.communicate()
        select.select([], [], [], 0.05)
    group.wait_connected(3)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=GUARD)
    assert proc.returncode == status, err
    assert "ready_one" in out and "silent_0" not in out, out
    assert "1/1 servers ready" in err
    assert "3 of 4 servers not checked: silent_0, silent_1, silent_2" in err, err


def demo_dirs(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("pg-preflight-demo-*"))


def postmasters(path: Path) -> str:
    return subprocess.run(["pgrep", "-f", str(path)], capture_output=True, text=True).stdout.strip()


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + GUARD
    while not condition():
        assert proc.poll() is None, f"the demo ended first: {proc.communicate()}"
        assert time.monotonic() < deadline, "the state never came"
        select.select([], [], [], 0.01)


@pytest.mark.parametrize(("signum", "status"), SIGNALS, ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("moment", ["directory", "pid_file", "server_up"])
def test_demo_interrupted_leaves_nothing(signum: int, status: int, moment: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="pf-interrupt-"))
    os.chmod(tmp, 0o755)  # the server's own user must reach the demo directory inside
    try:
        proc = cli("demo", "-f", "json", env={"TMPDIR": str(tmp)})
        up = threading.Event()

        def watch_stderr() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                if "Demo server up" in line:
                    up.set()

        if moment == "server_up":
            threading.Thread(target=watch_stderr, daemon=True).start()
            wait_for(up.is_set, proc)
        elif moment == "pid_file":
            wait_for(lambda: any((d / "data" / "postmaster.pid").exists() for d in demo_dirs(tmp)), proc)
        else:
            wait_for(lambda: bool(demo_dirs(tmp)), proc)
        root = demo_dirs(tmp)[0]
        proc.send_signal(signum)
        proc.wait(timeout=GUARD)
        assert proc.returncode == status
        assert demo_dirs(tmp) == []
        assert postmasters(root) == ""
    finally:  # only when the test failed: stop this test's own process and servers, by pid
        if proc.poll() is None:
            proc.kill()
        for pid_file in tmp.glob("*/data/postmaster.pid"):
            with contextlib.suppress(OSError, ValueError):
                os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)
        shutil.rmtree(tmp, ignore_errors=True)
