"""Progress on stderr while a run waits on purpose (``--sample SECONDS``): a person at a terminal sees
the seconds pass instead of a frozen prompt; a log gets one line saying how long the wait will be."""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator

import click

TICK = 1.0  # seconds between updates of the terminal line


@contextlib.contextmanager
def sampling(seconds: float) -> Iterator[None]:
    """Say that the WAL rate is being measured for ``seconds`` (nothing when 0), ticking on a terminal."""
    if seconds <= 0:
        yield
        return
    tty = sys.stderr.isatty()
    total = f"{seconds:g} s"
    if not tty:
        click.echo(f"pg-preflight: measuring the WAL rate over {total} (--sample) ...", err=True)
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(TICK):
            elapsed = min(time.monotonic() - started, seconds)
            click.echo(f"\rpg-preflight: measuring the WAL rate (--sample): {elapsed:.0f} of {total}\033[K",
                       err=True, nl=False)

    ticker = threading.Thread(target=tick, name="pg-preflight-progress", daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        click.echo("\r\033[K", err=True, nl=False)
