"""Probes that run on their own thread alongside the catalog session, so their connections overlap.

Every connection pays its set-up round trips (TCP, startup, SCRAM: about four) before its first
query. Run one after the other, the catalog session and the ``replication=database`` proof paid that
twice; started together they pay it once. Only a probe that needs nothing from the catalog session
(neither its connection nor the server version) may start this way: the replication-path proof. The
plugin probe stays after the catalog reads, on the catalog connection's turn: its temporary slot and
its transaction would otherwise be read by them (the ``slots`` and ``activity`` facts), and it looks up
the transactions it would wait for just before creating the slot.

The probe's connection is bounded by the run's own connect, statement and lock timeouts; an exception
becomes that fact's failure (scrubbed); the runner waits for the thread, so no connection outlives the run.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from preflight.connection import Dsn
from preflight.facts.base import FactContext, ProbeFact
from preflight.facts.gather import describe_error
from preflight.facts.replication_probe import REPLICATION_PROBE
from preflight.options import Options

# Probes that read neither the catalog connection nor the server version.
ALONGSIDE = frozenset({REPLICATION_PROBE.name})

# The probe starts before the server has told its version; the probes in ALONGSIDE do not read it.
UNKNOWN_VERSION = 0

# Over the probe's own timeouts, how long to wait for its thread before calling it lost.
GRACE_S = 5.0


@dataclass
class _Running:
    probe: ProbeFact[Any]
    thread: threading.Thread
    result: dict[str, Any]


class ProbesAlongside:
    """``start()`` before the catalog session connects, ``finish()`` after its reads: (facts, failures)."""

    def __init__(self, probes: list[ProbeFact[Any]], dsn: Dsn, options: Options) -> None:
        self.probes = [p for p in probes if p.name in ALONGSIDE]
        self.names = {p.name for p in self.probes}
        self._secrets = dsn.secrets()
        self._options = options
        hosts = max(1, len([h for h in dsn.effective().get("host", "").split(",") if h]))
        # libpq gives each host its own connect_timeout; then the probe's one statement.
        self._bound_s = hosts * options.connect_timeout + options.statement_timeout + GRACE_S
        self._running: list[_Running] = []

    def start(self) -> ProbesAlongside:
        ctx = FactContext(UNKNOWN_VERSION, self._options)
        for probe in self.probes:
            result: dict[str, Any] = {}
            thread = threading.Thread(target=self._run, args=(probe, ctx, result), name=f"pg-preflight {probe.name}",
                                      daemon=True)
            self._running.append(_Running(probe, thread, result))
            thread.start()
        return self

    def _run(self, probe: ProbeFact[Any], ctx: FactContext, result: dict[str, Any]) -> None:
        try:
            result["fact"] = probe.run(None, ctx)
        except Exception as exc:  # a probe is foreign I/O: any failure is that fact's cause
            result["failure"] = describe_error(exc, self._secrets)

    def finish(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Wait for every probe (within its timeouts); a probe still running then is that fact's failure."""
        facts: dict[str, Any] = {}
        failures: dict[str, str] = {}
        for running in self._running:
            running.thread.join(self._bound_s)
            name = running.probe.name
            if running.thread.is_alive():
                failures[name] = f"did not finish within {self._bound_s:.0f} s (connect and statement timeouts)"
            elif "fact" in running.result:
                facts[name] = running.result["fact"]
            else:
                failures[name] = running.result.get("failure", "ended without a result")
        return facts, failures
