"""Every connection failure kind, produced for real and classified in plain words."""

from __future__ import annotations

import time

import pytest

from preflight import Options, pgserver, run_preflight
from preflight.models import CheckStatus
from tests.servers import CDC_PASSWORD, Server, add_cdc_role


def failure_code(dsn: str, **options: float) -> str:
    report = run_preflight(Options(dsn=dsn, **options))
    reach = report.check("reachability")
    assert reach.status is CheckStatus.FAIL
    assert all(c.status is CheckStatus.SKIP for c in report.checks if c.id != "reachability")
    assert reach.findings[0].remediation.steps_text(), "every failure kind says what to do"
    return reach.findings[0].code


def test_unknown_database(logical_server: Server) -> None:
    assert failure_code(logical_server.dsn(dbname="no_such_db")) == "connect_unknown_database"


def test_unknown_role(logical_server: Server) -> None:
    assert failure_code(logical_server.dsn(user="no_such_role", password="whatever-pw")) in (
        "connect_authentication", "connect_unknown_role")  # scram hides whether the role exists


def test_tls_required_but_not_offered(logical_server: Server) -> None:
    assert failure_code(logical_server.dsn() + " sslmode=require") == "connect_tls"


def test_dns_failure() -> None:
    assert failure_code("host=no-such-host.invalid user=u dbname=d", connect_timeout=5) == "connect_dns"


def test_silent_peer_times_out_within_connect_timeout(silent_peer: int) -> None:
    started = time.monotonic()
    code = failure_code(f"host=127.0.0.1 port={silent_peer} user=u dbname=d password=silent-pw", connect_timeout=2)
    assert code == "connect_timeout"
    assert time.monotonic() - started < 10


def test_pg_hba_rejection(servers: object) -> None:
    server = servers()  # type: ignore[operator]
    if not isinstance(server, pgserver.LocalServer):
        pytest.skip("editing pg_hba.conf needs the local backend")
    add_cdc_role(server)
    hba = server.data / "pg_hba.conf"
    hba.write_text(f"host all cdc 127.0.0.1/32 reject\n{hba.read_text()}")
    server.reload()
    assert failure_code(server.dsn(user="cdc", password=CDC_PASSWORD)) == "connect_pg_hba"


def test_too_many_connections(servers: object) -> None:
    server = servers(max_connections="5", superuser_reserved_connections="1")  # type: ignore[operator]
    if not isinstance(server, pgserver.LocalServer):
        pytest.skip("needs the local backend")
    import psycopg

    dsn = add_cdc_role(server)
    held = [psycopg.connect(dsn) for _ in range(4)]
    try:
        assert failure_code(dsn) == "connect_too_many_connections"
    finally:
        for conn in held:
            conn.close()
