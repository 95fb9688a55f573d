"""long_transactions on a real server: an idle-in-transaction session and a prepared transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import CheckResult, CheckStatus
from tests.servers import Server, add_cdc_role


def long_check(dsn: str, max_age: float = 0.5) -> CheckResult:
    report = run_preflight(Options(dsn=dsn, checks=["long_transactions"], max_xact_age=max_age))
    return report.check("long_transactions")


def wait_until_older_than(server: Server, pid: int, seconds: float, timeout: float = 30) -> None:
    """Poll until the session's transaction and every prepared transaction are older than ``seconds``."""
    query = ("SELECT (SELECT now() - xact_start FROM pg_stat_activity WHERE pid = {pid}) > {age}"
             " AND (SELECT COALESCE(bool_and(now() - prepared > {age}), true) FROM pg_prepared_xacts)")
    deadline = time.monotonic() + timeout
    while not server.execute(query.format(pid=int(pid), age=f"interval '{seconds} seconds'"))[0][0]:
        assert time.monotonic() < deadline, "the transactions never got old enough"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def busy(servers: Callable[..., Server]) -> Iterator[tuple[Server, int]]:
    """A server with one idle-in-transaction session (pid yielded) and one prepared transaction."""
    server = servers(max_prepared_transactions="5")
    server.execute("CREATE TABLE IF NOT EXISTS public.t (i int primary key)")
    with psycopg.connect(server.dsn()) as idle, psycopg.connect(server.dsn(), autocommit=True) as prep:
        prep.execute("BEGIN")
        prep.execute("INSERT INTO public.t VALUES (2)")
        prep.execute("PREPARE TRANSACTION 'pf_prepared_1'")
        idle.execute("INSERT INTO public.t VALUES (1)")
        wait_until_older_than(server, idle.info.backend_pid, seconds=1.0)
        try:
            yield server, idle.info.backend_pid
        finally:
            idle.rollback()
            server.execute("ROLLBACK PREPARED 'pf_prepared_1'")


def test_quiet_server_passes(servers: Callable[..., Server]) -> None:
    server = servers()
    result = long_check(server.dsn(), max_age=600)
    assert result.status is CheckStatus.PASS, result
    assert result.findings == []


def test_idle_session_and_prepared_transaction_are_named(busy: tuple[Server, int]) -> None:
    server, pid = busy
    result = long_check(server.dsn())
    assert result.status is CheckStatus.FAIL, result
    by_code = {f.code: f for f in result.findings}
    idle = by_code["idle_in_transaction"]
    assert idle.object == f"pid {pid}" and f"pid {pid}" in idle.message and idle.severity.value == "error"
    assert "user postgres" in idle.message and "idle in transaction" in idle.message
    assert "holds a transaction ID" in idle.message
    prepared = by_code["prepared_transaction"]
    assert "pf_prepared_1" in prepared.message and "owner postgres" in prepared.message
    assert prepared.severity.value == "error"
    assert "sessions_not_visible" not in by_code
    # age is irrelevant to what blocks slot creation: a larger --max-xact-age changes nothing
    assert {f.code for f in long_check(server.dsn(), max_age=3600).findings} == {"idle_in_transaction",
                                                                                   "prepared_transaction"}


def test_unprivileged_role_says_could_not_see(busy: tuple[Server, int]) -> None:
    server, _ = busy
    result = long_check(add_cdc_role(server))
    codes = [f.code for f in result.findings]
    assert "sessions_not_visible" in codes and "idle_in_transaction" not in codes
    # the fixture's two sessions are the hidden client backends: the server's background processes are not
    assert "Could not see 2 client session(s)" in next(f.message for f in result.findings
                                                       if f.code == "sessions_not_visible")
    assert "hidden_sessions_hold_xid" in codes  # its backend_xid is visible to every role
    hidden = next(f for f in result.findings if f.code == "sessions_not_visible")
    assert "Could not see" in hidden.message
    assert "prepared_transaction" in codes  # pg_prepared_xacts is readable by everyone
    assert result.summary.startswith("could not see")
    server.execute("GRANT pg_read_all_stats TO cdc")
    try:
        seen = long_check(server.dsn(user="cdc", password="cdc-Secret-pw-42"))
        assert "idle_in_transaction" in [f.code for f in seen.findings]
        assert "sessions_not_visible" not in [f.code for f in seen.findings]
    finally:
        server.execute("REVOKE pg_read_all_stats FROM cdc")
