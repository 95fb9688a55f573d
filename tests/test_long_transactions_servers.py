"""long_transactions on a real server, quiet and under sustained write load, as the CDC role and as an admin.

The load (tests/write_load.py) is short transactions from several clients, each statement sent on its own:
every reading catches some of them holding an xid, some "idle in transaction". They must pass, checked as the
CDC role itself (no pg_read_all_stats) and by an admin with ``--role``, run after run; real blockers under the
same load (an idle session holding an xid, a prepared transaction, a long write) must fail for both, named,
with how long they have been held.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import CheckResult, CheckStatus, Severity
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role
from tests.write_load import WriteLoad, prepare

pytestmark = [pytest.mark.server, pytest.mark.only_on("local", "pg14", "pg18")]

RUNS = 5
# --max-xact-age for the blocker scenarios: the watch bound, small so that they stay fast, and well above how long
# the load's own transactions hold their xid even on a loaded CI machine (the load shares this process's GIL)
WATCH_S = 3.0


@dataclass
class Busy:
    server: Server
    admin: str  # the superuser's DSN (checks with --role cdc)
    cdc: str  # the CDC role's own DSN: no pg_read_all_stats


def long_check(dsn: str, role: str | None = None, max_age: float = 600.0) -> CheckResult:
    report = run_preflight(Options(dsn=dsn, checks=["long_transactions"], role=role, max_xact_age=max_age))
    return report.check("long_transactions")


def both_roles(busy: Busy, max_age: float = 600.0) -> dict[str, CheckResult]:
    return {"admin --role cdc": long_check(busy.admin, CDC_USER, max_age), "cdc": long_check(busy.cdc, None, max_age)}


def not_info(result: CheckResult) -> list[tuple[str, str | None]]:
    return [(f.code, f.object) for f in result.findings if f.severity is not Severity.INFO]


def watched(text: str, pattern: str) -> int:
    """The whole seconds a finding says the watch lasted."""
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return int(match.group(1))


def poll(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(scope="module")
def busy(servers: Callable[..., Server]) -> Iterator[Busy]:
    """A server with the load's tables, a CDC role that may read them, and the write load running."""
    server = servers(max_prepared_transactions="5")
    cdc = add_cdc_role(server)
    prepare(server.dsn(), CDC_USER)
    with WriteLoad(server.dsn(), clients=4, seconds=300):
        yield Busy(server, server.dsn(), cdc)


def test_quiet_server_passes_without_watching(servers: Callable[..., Server]) -> None:
    server = servers()
    result = long_check(server.dsn())
    assert result.status is CheckStatus.PASS, result
    assert result.findings == []
    assert result.summary == "none blocking slot creation, none older than 10min"  # no running xid: nothing watched


def test_a_healthy_busy_primary_passes_for_the_cdc_role_and_an_admin_run_after_run(busy: Busy) -> None:
    watched = 0
    for _ in range(RUNS):
        for who, result in both_roles(busy).items():
            assert result.status is CheckStatus.PASS, (who, result)
            assert not_info(result) == [], (who, result)
            watched += "running xid(s) watched" in result.summary
    # the load was seen: the first reading caught running xids, which ended during the watch
    assert watched >= RUNS, watched
    cdc = long_check(busy.cdc)
    assert [(f.code, f.severity) for f in cdc.findings] == [("sessions_not_visible", Severity.INFO)]


@pytest.fixture(scope="module")
def blockers(busy: Busy) -> Iterator[dict[str, int]]:
    """Under the load: an idle session holding an xid, a prepared transaction, and a write still running."""
    admin = busy.admin
    with psycopg.connect(admin) as idle, psycopg.connect(admin, autocommit=True) as prep, \
            psycopg.connect(admin) as writer:
        prep.execute("BEGIN")
        prep.execute("INSERT INTO load.history (account, delta) VALUES (2, 2)")
        prep.execute("PREPARE TRANSACTION 'pf_prepared_1'")
        idle.execute("INSERT INTO load.history (account, delta) VALUES (1, 1)")  # holds an xid, stays idle
        writer.execute("INSERT INTO load.history (account, delta) VALUES (3, 3)")
        sleeping = threading.Thread(target=_sleep_until_cancelled, args=(writer,), daemon=True)
        sleeping.start()
        pid = writer.info.backend_pid
        poll(lambda: busy.server.execute(f"SELECT state FROM pg_stat_activity WHERE pid = {pid}")[0][0] == "active",
             "the long write to be running")
        try:
            yield {"idle": idle.info.backend_pid, "writer": pid}
        finally:
            busy.server.execute(f"SELECT pg_cancel_backend({pid})")
            sleeping.join(30)
            idle.rollback()
            busy.server.execute("ROLLBACK PREPARED 'pf_prepared_1'")


def _sleep_until_cancelled(conn: psycopg.Connection[Any]) -> None:
    """A write transaction whose statement is still running (bounded: the fixture cancels it, else 120 s)."""
    try:
        conn.execute("SELECT pg_sleep(120)")
    except psycopg.errors.QueryCanceled:
        conn.rollback()


def test_real_blockers_under_load_fail_for_both_roles_with_how_long_they_were_held(
        busy: Busy, blockers: dict[str, int]) -> None:
    results = both_roles(busy, max_age=WATCH_S)
    expected = {("prepared_transaction", "prepared pf_prepared_1"), ("blocking_transaction", f"pid {blockers['idle']}"),
                ("blocking_transaction", f"pid {blockers['writer']}")}
    for who, result in results.items():
        assert result.status is CheckStatus.FAIL, (who, result)
        assert set(not_info(result)) == expected, (who, result)  # the load's short writes are not among them
        for finding in result.findings:
            assert "write-load" not in finding.message and "-0" not in str(finding.observed), finding
    admin = {f.object: f for f in results["admin --role cdc"].findings}
    idle, writer = admin[f"pid {blockers['idle']}"], admin[f"pid {blockers['writer']}"]
    assert str(idle.observed).endswith("s idle in transaction"), idle
    assert "user postgres" in idle.message and watched(idle.message, r"still running after a (\d+)s watch") >= WATCH_S
    assert "ends only when its client acts" in idle.message
    assert str(writer.observed).endswith("s active"), writer
    cdc = {f.object: f for f in results["cdc"].findings}
    for pid in blockers.values():
        assert watched(str(cdc[f"pid {pid}"].observed), r"^held for at least (\d+)s \(watched\)$") >= WATCH_S
        assert "user postgres" in cdc[f"pid {pid}"].message and "hidden from role cdc" in cdc[f"pid {pid}"].message
    for result in results.values():
        prepared = next(f for f in result.findings if f.code == "prepared_transaction")
        assert "owner postgres" in prepared.message and "has been waiting for" in prepared.message
    assert results["cdc"].findings[-1].code == "sessions_not_visible"


def test_the_state_is_shown_to_a_cdc_role_granted_pg_read_all_stats(busy: Busy, blockers: dict[str, int]) -> None:
    busy.server.execute(f"GRANT pg_read_all_stats TO {CDC_USER}")
    try:
        seen = long_check(busy.server.dsn(user=CDC_USER, password=CDC_PASSWORD), max_age=WATCH_S)
        idle = next(f for f in seen.findings if f.object == f"pid {blockers['idle']}")
        assert idle.code == "blocking_transaction" and "idle in transaction" in str(idle.observed)
        assert "sessions_not_visible" not in [f.code for f in seen.findings]
    finally:
        busy.server.execute(f"REVOKE pg_read_all_stats FROM {CDC_USER}")
