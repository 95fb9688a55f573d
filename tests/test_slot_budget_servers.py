"""slot_budget on a real server: the WAL rate sampled while inserts generate WAL, and the budget arithmetic
checked against the WAL positions the test reads itself around the run."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.facts import MIN_RATE_WINDOW_S
from preflight.facts.wal_sample import lsn_bytes
from preflight.models import Finding
from preflight.statements import RELOAD, SettingChange
from tests.conftest import LOGICAL
from tests.servers import LocalBackend, Server, wait_for_setting

KEEP_MB = 100 * 1024
SAMPLE_S = 1.5
SOURCE = re.compile(r"measured over ([0-9.]+) s \(([0-9A-F]+/[0-9A-F]+) to ([0-9A-F]+/[0-9A-F]+)\)")


def current_lsn(server: Server) -> int:
    return lsn_bytes(str(server.execute("SELECT pg_current_wal_lsn()::text")[0][0]))


@contextmanager
def generating_wal(server: Server) -> Iterator[None]:
    """Insert rows on a thread until the block ends; waits until the first insert committed."""
    server.execute("CREATE TABLE IF NOT EXISTS public.churn (id bigserial PRIMARY KEY, pad text)")
    stop, started = threading.Event(), threading.Event()

    def insert() -> None:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            while not stop.is_set():
                conn.execute("INSERT INTO public.churn (pad) SELECT repeat('x', 500) FROM generate_series(1, 20)")
                started.set()

    thread = threading.Thread(target=insert, daemon=True)
    thread.start()
    assert started.wait(30), "the WAL generator never inserted"
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def sampled(server: Server, **options: object) -> tuple[list[Finding], int, float]:
    """The check's findings, the WAL the server wrote around the run (bytes) and the run's wall time."""
    before, started = current_lsn(server), time.monotonic()
    report = run_preflight(Options(dsn=server.dsn(), checks=["slot_budget"], sample=SAMPLE_S, **options))
    written, elapsed = current_lsn(server) - before, time.monotonic() - started
    return report.check("slot_budget").findings, written, elapsed


def measured(finding: Finding, outer_bytes: int, outer_s: float) -> tuple[float, int]:
    """The (seconds, bytes) the report says it measured, checked against the run's outer bounds."""
    match = SOURCE.search(finding.message)
    assert match, finding.message
    seconds, wal = float(match[1]), lsn_bytes(match[3]) - lsn_bytes(match[2])
    assert SAMPLE_S <= seconds <= outer_s
    assert 0 < wal <= outer_bytes
    return seconds, wal


@pytest.fixture(scope="module")
def limited(servers: Callable[..., Server]) -> Server:
    return servers(max_slot_wal_keep_size=f"{KEEP_MB}MB")


def test_budget_hours_follow_the_sampled_rate(limited: Server) -> None:
    with generating_wal(limited):
        limited.execute("VACUUM public.churn")  # the copy size is pg_class's page count: make it current
        findings, outer_bytes, outer_s = sampled(limited)
    by_code = {f.code: f for f in findings}
    budget = by_code.get("slot_budget_low") or by_code["slot_budget"]
    seconds, wal = measured(budget, outer_bytes, outer_s)
    keep = KEEP_MB * 1024**2
    expected_h = keep / (wal / seconds) / 3600
    assert isinstance(budget.observed, float)
    assert budget.observed == pytest.approx(expected_h, rel=0.01, abs=0.001)
    # independent of the message: the server wrote at most outer_bytes in at least SAMPLE_S seconds
    assert budget.observed >= keep / (outer_bytes / SAMPLE_S) / 3600 * 0.99
    assert budget.expected == 24.0
    assert budget.code == ("slot_budget_low" if expected_h < 24 else "slot_budget")
    pages = limited.execute("SELECT sum(relpages)::int8 * current_setting('block_size')::int8 FROM pg_class"
                            " WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relpersistence = 'p'")
    assert pages[0][0] > 0
    assert by_code["initial_copy_size"].observed == pages[0][0]


def test_an_existing_slot_spends_its_retained_wal(limited: Server) -> None:
    limited.execute("SELECT pg_create_logical_replication_slot('budget_slot', 'pgoutput')")
    try:
        with generating_wal(limited):
            findings, outer_bytes, outer_s = sampled(limited, slot_name="budget_slot")
        budget = next(f for f in findings if f.code in ("slot_budget", "slot_budget_low"))
        seconds, wal = measured(budget, outer_bytes, outer_s)
        retained_after = limited.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots"
            " WHERE slot_name = 'budget_slot'")[0][0]
        keep = KEEP_MB * 1024**2
        # the slot retained at least the sampled WAL when the check read it, and at most what it retains now
        assert isinstance(budget.observed, float)
        assert budget.observed <= (keep - wal) / (wal / seconds) / 3600 * 1.01
        assert budget.observed >= (keep - int(retained_after)) / (wal / seconds) / 3600 * 0.99
        assert "budget_slot" in budget.message
    finally:
        limited.execute("SELECT pg_drop_replication_slot('budget_slot')")


def test_unlimited_retention_reports_a_day_of_wal(servers: Callable[..., Server]) -> None:
    server = servers(max_slot_wal_keep_size="-1")
    with generating_wal(server):
        findings, outer_bytes, outer_s = sampled(server)
    unlimited = next(f for f in findings if f.code == "slot_retention_unlimited")
    seconds, wal = measured(unlimited, outer_bytes, outer_s)
    assert unlimited.observed == round(wal / seconds * 86400)


def test_without_sample_the_rate_comes_from_pg_stat_wal(limited: Server) -> None:
    """pg_stat_wal's average when its statistics are an hour old or more; else (a server started minutes ago,
    as the test servers are) no rate at all."""
    report = run_preflight(Options(dsn=limited.dsn(), checks=["slot_budget"]))
    age = float(limited.execute("SELECT EXTRACT(EPOCH FROM now() - stats_reset) FROM pg_stat_wal")[0][0])
    findings = {f.code: f for f in report.check("slot_budget").findings}
    if age >= MIN_RATE_WINDOW_S:
        budget = findings.get("slot_budget") or findings["slot_budget_low"]
        assert "pg_stat_wal average since its reset" in budget.message
        assert "measured over" not in budget.message
    else:
        assert "wal_rate_unknown" in findings and "--sample SECONDS" in findings["wal_rate_unknown"].message
        assert not {"slot_budget", "slot_budget_low", "slot_retention_unlimited"} & set(findings)


def wait_until_streaming(primary: Server, standby: Server, timeout: float = 60) -> None:
    """Poll until the standby has received WAL the primary wrote after this call (its walreceiver is up)."""
    target = current_lsn(primary)
    deadline = time.monotonic() + timeout
    while True:
        received = standby.execute("SELECT pg_last_wal_receive_lsn()::text")[0][0]
        if received is not None and lsn_bytes(str(received)) >= target:
            return
        assert time.monotonic() < deadline, "the standby never streamed"
        time.sleep(0.05)


def test_on_a_standby_the_received_position_is_sampled() -> None:
    """On the local binaries only: there a pg_basebackup standby streams (the receive position moves)."""
    backend = LocalBackend()
    primary = backend.start({**LOGICAL, "max_slot_wal_keep_size": f"{KEEP_MB}MB"})
    standby = backend.standby_of(primary)
    try:
        with generating_wal(primary):
            wait_until_streaming(primary, standby)
            before = current_lsn(primary)
            report = run_preflight(Options(dsn=standby.dsn(), checks=["slot_budget"], sample=SAMPLE_S))
            written = current_lsn(primary) - before
        budget = next(f for f in report.check("slot_budget").findings if f.code in ("slot_budget", "slot_budget_low"))
        match = SOURCE.search(budget.message)
        assert match, budget.message
        assert 0 < lsn_bytes(match[3]) - lsn_bytes(match[2]) <= written
        assert report.target.in_recovery is True
    finally:
        standby.destroy()
        primary.destroy()


@pytest.mark.only_on("local")  # pg_stat_wal (14+) and its reset behave alike on every version that has them
def test_moments_after_a_wal_stats_reset_the_rate_is_unknown_not_extrapolated(limited: Server) -> None:
    limited.execute("SELECT pg_stat_reset_shared('wal')")
    with generating_wal(limited):  # the demo's case: a data load right after the reset
        written = wait_for_wal_stats(limited, 1024**2)
        report = run_preflight(Options(dsn=limited.dsn(), checks=["slot_budget", "existing_slots"]))
    seconds = float(limited.execute("SELECT EXTRACT(EPOCH FROM now() - stats_reset) FROM pg_stat_wal")[0][0])
    assert seconds < MIN_RATE_WINDOW_S and written > 0
    budget = {f.code: f for f in report.check("slot_budget").findings}
    assert set(budget) == {"wal_rate_unknown", "initial_copy_size"}, budget
    unknown = budget["wal_rate_unknown"].message
    assert "reset" in unknown and "not extrapolated" in unknown and "--sample SECONDS" in unknown
    assert "/day" not in report.check("slot_budget").summary and "0.0 h" not in unknown
    rate = next(f for f in report.check("existing_slots").findings if f.code == "wal_rate")
    assert rate.observed is None and "unknown" in rate.message and "--sample" in rate.message
    sampled = run_preflight(Options(dsn=limited.dsn(), checks=["slot_budget"], sample=SAMPLE_S))
    assert "wal_rate_unknown" not in {f.code for f in sampled.check("slot_budget").findings}  # --sample measures


def wait_for_wal_stats(server: Server, at_least: int) -> int:
    """Poll pg_stat_wal until it counts ``at_least`` bytes (backends report their WAL statistics in batches)."""
    deadline = time.monotonic() + 30
    while True:
        written = int(server.execute("SELECT wal_bytes FROM pg_stat_wal")[0][0])
        if written >= at_least:
            return written
        assert time.monotonic() < deadline, f"pg_stat_wal counted only {written} bytes"
        time.sleep(0.05)


UNIT = re.compile(r"'[0-9]+(kB|MB|GB|TB|us|ms|s|min|h|d)'")


def test_every_size_and_duration_change_carries_its_unit_and_the_server_applies_it_as_printed(
        servers: Callable[..., Server]) -> None:
    """A throwaway server whose settings make the checks change sizes and durations (a small
    max_slot_wal_keep_size, a short budget at the sampled rate, a short wal_sender_timeout): every typed
    setting change of a setting that has a unit is printed with one, and PostgreSQL runs the printed
    ALTER SYSTEM and applies exactly the value the change holds (its magnitude, in bytes or ms)."""
    server = servers(max_slot_wal_keep_size="64MB", wal_sender_timeout="5s")
    try:
        with generating_wal(server):
            report = run_preflight(Options(dsn=server.dsn(), sample=SAMPLE_S))
        changes = [s for c in report.checks for f in c.findings for s in f.remediation.sql if isinstance(s, SettingChange)]
        units = dict(server.execute("SELECT name, unit FROM pg_settings WHERE unit IS NOT NULL"))
        sized = {c.name: c for c in changes if c.name in units}  # the last change of each setting wins when run
        assert set(sized) >= {"max_slot_wal_keep_size", "wal_sender_timeout"}, changes
        for change in changes:
            if change.name in sized:
                assert UNIT.search(change.text()), change.text()
                server.execute(change.text())  # ALTER SYSTEM validates the value: a unit it does not know fails here
        server.execute(RELOAD.text())
        for name, change in sized.items():
            wanted = change.magnitude()
            assert wanted is not None
            applied = wait_for_setting(server, name, wanted)
            assert applied == wanted, (change.text(), applied)
    finally:
        server.destroy()
