"""A loopback TCP proxy that delays every chunk by a fixed time in each direction (simulated RTT).

Each chunk is forwarded ``delay`` seconds after it arrived, in order, without serialising the
delays (a latency line, not a bandwidth cap): one request/response exchange costs 2 x delay.
The proxy also counts, per connection, the client's "turns": a run of client->server chunks that
follows server->client data (or opens the connection). On a request/response protocol that is
the number of round trips, counted without any clock.

Bounded: it listens on 127.0.0.1 only, forwards only to a loopback upstream, and stops by itself
after ``max_lifetime_s`` (or when the ``with`` block ends). It runs its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

LOOPBACK = "127.0.0.1"
CHUNK = 65536


@dataclass
class ConnStats:
    """One proxied connection: client turns (round trips) and chunks each way."""

    turns: int = 0
    up_chunks: int = 0
    down_chunks: int = 0
    last: str = "down"  # the direction of the last chunk seen; a new connection starts a turn
    trace: list[str] = field(default_factory=list)  # per turn: the client's message types (P B E S Q X ...)


def message_types(chunk: bytes, first: bool) -> str:
    """The frontend message type letters in a chunk (best effort: a message may span chunks)."""
    if first:
        return "startup"
    kinds: list[str] = []
    pos = 0
    for _ in range(64):  # bounded
        if pos + 5 > len(chunk):
            break
        kinds.append(chr(chunk[pos]))
        pos += 1 + int.from_bytes(chunk[pos + 1 : pos + 5], "big")
    return "".join(kinds) + ("..." if pos < len(chunk) else "")


@dataclass
class ProxyStats:
    connections: list[ConnStats] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return sum(c.turns for c in self.connections)


class DelayProxy:
    """``with DelayProxy(upstream_port, delay_s=0.025) as proxy: connect to proxy.port``."""

    def __init__(self, upstream_port: int, delay_s: float, upstream_host: str = LOOPBACK,
                 max_lifetime_s: float = 1800.0) -> None:
        if not ipaddress.ip_address(upstream_host).is_loopback:
            raise ValueError("the delay proxy forwards to loopback addresses only")
        if not 0 <= delay_s <= 5:
            raise ValueError("delay must be between 0 and 5 seconds")
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.max_lifetime_s = max_lifetime_s
        self.port = 0
        self.stats = ProxyStats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    @property
    def rtt_s(self) -> float:
        return 2 * self.delay_s

    def reset(self) -> None:
        """Forget the counters (between measurements)."""
        with self._lock:
            self.stats = ProxyStats()

    def traces(self) -> list[list[str]]:
        """Per connection, per turn: the message types the client sent (for the README's breakdown)."""
        with self._lock:
            return [list(c.trace) for c in self.stats.connections]

    def snapshot(self, settle_s: float = 0.2) -> tuple[int, int]:
        """(connections, client turns) counted since the last reset, after the last bytes settled."""
        time.sleep(settle_s)  # a Terminate sent just before this call may not be read yet
        with self._lock:
            return len(self.stats.connections), self.stats.turns

    # --- the event loop thread ---------------------------------------------------------------
    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, stats: ConnStats,
                    direction: str) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    break
                pause = due - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                writer.write(data)
                await writer.drain()
            with contextlib.suppress(OSError, RuntimeError):
                if writer.can_write_eof():
                    writer.write_eof()

        sender = asyncio.ensure_future(send())
        try:
            while True:
                data = await reader.read(CHUNK)
                with self._lock:
                    if data:
                        if direction == "up":
                            stats.up_chunks += 1
                            if stats.last == "down":
                                stats.turns += 1
                                stats.trace.append(message_types(data, stats.turns == 1))
                            elif stats.trace:
                                stats.trace[-1] += "+" + message_types(data, False)
                        else:
                            stats.down_chunks += 1
                        stats.last = direction
                await queue.put((time.monotonic() + self.delay_s, data))
                if not data:
                    break
            await sender
        except (OSError, asyncio.IncompleteReadError):
            sender.cancel()
        finally:
            with contextlib.suppress(OSError, RuntimeError):
                writer.close()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        stats = ConnStats()
        with self._lock:
            self.stats.connections.append(stats)
        try:
            server_r, server_w = await asyncio.open_connection(self.upstream_host, self.upstream_port)
        except OSError:
            client_w.close()
            return
        try:
            await asyncio.gather(self._pump(client_r, server_w, stats, "up"),
                                 self._pump(server_r, client_w, stats, "down"), return_exceptions=True)
        except asyncio.CancelledError:  # the proxy is stopping: end quietly
            for writer in (client_w, server_w):
                with contextlib.suppress(OSError, RuntimeError):
                    writer.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, LOOPBACK, 0)
        self.port = int(server.sockets[0].getsockname()[1])
        self._ready.set()
        async with server:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), timeout=self.max_lifetime_s)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # surfaced by start()
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    # --- the caller's side --------------------------------------------------------------------
    def start(self) -> DelayProxy:
        self._thread = threading.Thread(target=self._run, name="delay-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10) or self._error is not None:
            raise RuntimeError(f"the delay proxy did not start: {self._error!r}")
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
