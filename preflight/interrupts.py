"""Ctrl-C and SIGTERM: one exception for both, the shell's exit status for each (130, 143), and
short sections that must not be cut in half (a server started but not yet registered for removal).

A CI reads exit 1 as "not ready": an interrupted run must never exit 1.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``except KeyboardInterrupt`` cleanup runs for it too."""


def exit_status(exc: BaseException | None) -> int:
    """The status a shell reports for a process ended by the signal: 128 + its number."""
    return 128 + (signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT)


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def sigterm_raises() -> Iterator[None]:
    """Within the block SIGTERM raises ``Terminated`` (Python's default would end the process with no cleanup)."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, then raise them: for a few steps that must finish
    together (start a server and register it for removal; remove it)."""
    if not _in_main_thread():
        yield
        return
    received: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    previous = {signum: signal.signal(signum, record) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        raise Terminated if received[0] == signal.SIGTERM else KeyboardInterrupt
