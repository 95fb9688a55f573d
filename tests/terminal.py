"""Reading what a child process wrote to a pseudo-terminal (the CLI's terminal tests)."""

from __future__ import annotations

import os


def drain(master: int) -> bytes:
    """Everything written to the pty until the child closes it (EIO or EOF); closes ``master``."""
    chunks: list[bytes] = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return b"".join(chunks)
