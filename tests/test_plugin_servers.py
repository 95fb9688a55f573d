"""plugin_availability on real servers: Debian's (wal2json installed) and 16.15 from PyPI (allow-list)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from preflight import Options, pgserver, run_preflight
from preflight.models import CheckResult, CheckStatus
from tests.conftest import LOGICAL
from tests.pgversions import bindir
from tests.servers import CDC_PASSWORD, Server, add_cdc_role


def plugin_check(dsn: str, plugin: str, probe: bool = False, **more: Any) -> CheckResult:
    options = Options(dsn=dsn, plugin=plugin, probe=probe, checks=["plugin_availability"], **more)
    return run_preflight(options).check("plugin_availability")


def no_slots(server: Server) -> None:
    assert server.execute("SELECT slot_name FROM pg_catalog.pg_replication_slots") == []


@pytest.fixture(scope="module")
def pg16() -> Iterator[pgserver.LocalServer]:
    """A 16.15 server (has output_plugin_libraries); missing binaries make these tests fail, not skip."""
    server = pgserver.create_server(dict(LOGICAL), bindir=bindir(16))
    yield server
    server.destroy()


def test_pgoutput_passes_without_probe(logical_server: Server) -> None:
    result = plugin_check(add_cdc_role(logical_server), "pgoutput")
    assert result.status is CheckStatus.PASS, result
    assert "built in" in result.summary


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server; 16.15+ allow-lists it out
def test_wal2json_without_probe_warns(logical_server: Server) -> None:
    result = plugin_check(add_cdc_role(logical_server), "wal2json")
    assert result.status is CheckStatus.WARN, result
    assert [f.code for f in result.findings] == ["plugin_not_verified"]
    assert "--probe" in result.findings[0].message


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server; 16.15+ allow-lists it out
def test_installed_wal2json_probe_passes_and_leaves_no_slot(logical_server: Server) -> None:
    dsn = add_cdc_role(logical_server)
    for plugin in ("wal2json", "pgoutput", "test_decoding"):
        result = plugin_check(dsn, plugin, probe=True)
        assert result.status is CheckStatus.PASS, result
        assert "loads (probed" in result.summary
        no_slots(logical_server)


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server; 16.15+ allow-lists it out
def test_missing_plugin_probe_fails_with_58p01_and_leaves_no_slot(logical_server: Server) -> None:
    result = plugin_check(add_cdc_role(logical_server), "no_such_plugin_pf", probe=True)
    assert result.status is CheckStatus.FAIL, result
    finding = result.findings[0]
    assert finding.code == "plugin_library_missing"
    assert "58P01" in finding.message and 'could not access file "no_such_plugin_pf"' in finding.message
    assert CDC_PASSWORD not in result.model_dump_json()
    no_slots(logical_server)


@pytest.mark.only_on("local")  # wal2json is installed for Debian's server; 16.15+ allow-lists it out
def test_probe_is_bounded_by_an_open_transaction_and_names_it(servers: Callable[..., Server]) -> None:
    server = servers()
    dsn = add_cdc_role(server)
    server.execute("CREATE TABLE IF NOT EXISTS public.t (i int primary key)")
    with psycopg.connect(server.dsn()) as blocker:
        blocker.execute("INSERT INTO public.t VALUES (1)")  # holds an xid: slot creation must wait for it
        started = time.monotonic()
        result = plugin_check(dsn, "wal2json", probe=True, lock_timeout=1.0)
        assert time.monotonic() - started < 20
        assert result.status is CheckStatus.WARN, result
        finding = result.findings[0]
        assert finding.code == "plugin_probe_timeout"
        assert str(blocker.info.backend_pid) in finding.message
        blocker.rollback()
    no_slots(server)


def test_allowlist_refuses_wal2json_on_16_15_and_its_sql_works(pg16: pgserver.LocalServer) -> None:
    result = plugin_check(pg16.dsn(), "wal2json")
    assert result.status is CheckStatus.FAIL, result
    finding = next(f for f in result.findings if f.code == "plugin_not_allowed")
    assert finding.observed == "pgoutput, test_decoding"
    assert finding.remediation.sql_text()[0] == (
        "ALTER SYSTEM SET \"output_plugin_libraries\" = 'pgoutput', 'test_decoding', 'wal2json';")
    probed = plugin_check(pg16.dsn(), "wal2json", probe=True)
    assert [f.code for f in probed.findings] == ["plugin_not_allowed"]
    assert "Confirmed by the probe" in probed.findings[0].message
    no_slots(pg16)
    try:
        pg16.execute(*finding.remediation.sql_text())
        assert pg16.execute("SHOW output_plugin_libraries") == [("pgoutput, test_decoding, wal2json",)]
        after = plugin_check(pg16.dsn(), "wal2json", probe=True)
        # allowed now: the wheel-based server has no wal2json library, so the probe gets one step further
        assert [f.code for f in after.findings] == ["plugin_library_missing"], after
        no_slots(pg16)
    finally:
        pg16.execute("ALTER SYSTEM RESET output_plugin_libraries", "SELECT pg_catalog.pg_reload_conf()")


def test_unprivileged_role_on_16_15_could_not_see_allowlist(pg16: pgserver.LocalServer) -> None:
    dsn = add_cdc_role(pg16)
    result = plugin_check(dsn, "wal2json")
    assert result.status is CheckStatus.WARN, result
    finding = next(f for f in result.findings if f.code == "allowlist_not_visible")
    assert "Could not see output_plugin_libraries" in finding.message
    assert finding.remediation.sql_text() == ['GRANT pg_read_all_settings TO "cdc";']
    probed = plugin_check(dsn, "wal2json", probe=True)
    assert probed.status is CheckStatus.FAIL, probed
    refused = next(f for f in probed.findings if f.code == "plugin_not_allowed_probe")
    assert "42501" in refused.message and "output_plugin_libraries" in refused.message
    no_slots(pg16)
    pg16.execute("GRANT pg_read_all_settings TO cdc")
    try:
        assert [f.code for f in plugin_check(dsn, "wal2json").findings] == ["plugin_not_allowed"]
    finally:
        pg16.execute("REVOKE pg_read_all_settings FROM cdc")
