"""Class 12: formatting settings stored for the CDC role or database, and the text a slot really writes."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from preflight import Options, run_preflight
from preflight.models import Finding
from tests.conftest import PLUMBING
from tests.servers import CDC_PASSWORD, CDC_USER, Server, add_cdc_role

pytestmark = PLUMBING
EXACT = "0.30000000000000004"


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    started = servers()
    add_cdc_role(started)
    started.execute("CREATE TABLE public.measures (id int PRIMARY KEY, x float8, d date)")
    return started


def findings(server: Server, profile: str) -> dict[str, Finding]:
    report = run_preflight(Options(dsn=server.dsn(user=CDC_USER, password=CDC_PASSWORD), checks=["text_settings"],
                                   profile=profile))
    return {str(f.object): f for f in report.check("text_settings").findings}


def decoded_text(server: Server, key: int) -> str:
    """What test_decoding writes for one inserted row in the CDC role's own session (its stored settings apply)."""
    with psycopg.connect(server.dsn(user=CDC_USER, password=CDC_PASSWORD), autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot('text_probe', 'test_decoding', true)")
        # the test servers run synchronous_commit=off: the commit is decodable once flushed (WAL writer, ms)
        server.execute("SET synchronous_commit = on",
                       f"INSERT INTO public.measures VALUES ({key}, 0.1::float8 + 0.2::float8, '2024-03-01')")
        rows = conn.execute("SELECT data FROM pg_logical_slot_get_changes('text_probe', NULL, NULL) "
                            "WHERE data LIKE 'table public.measures: INSERT%'").fetchall()
    assert len(rows) == 1, rows
    return str(rows[0][0])


def test_stored_formats_change_the_decoded_text_and_the_fix_restores_it(server: Server) -> None:
    server.execute(f"ALTER ROLE {CDC_USER} IN DATABASE postgres SET extra_float_digits = 0",
                   "ALTER DATABASE postgres SET DateStyle = 'SQL, DMY'", "ALTER DATABASE postgres SET bytea_output = 'escape'")
    try:
        text = decoded_text(server, 1)  # the judge: the slot's own text
        assert EXACT not in text and "x[double precision]:0.3 " in text and "01/03/2024" in text
        dms = findings(server, "aws-dms")
        assert {k: (f.code, f.severity.value) for k, f in dms.items()} == {
            "extra_float_digits": ("text_format_lossy", "error"), "datestyle": ("text_format_changed", "error"),
            "bytea_output": ("text_format_changed", "warning")}
        generic = findings(server, "generic")
        assert {f.severity.value for f in generic.values()} == {"warning"}
        native = findings(server, "native")
        assert {f.code for f in native.values()} == {"text_format_overridden"}
        for finding in dms.values():
            server.execute(*finding.remediation.sql_text())
        assert findings(server, "aws-dms") == {}
        fixed = decoded_text(server, 2)
        assert EXACT in fixed and "2024-03-01" in fixed
        still = server.execute("SELECT s.setconfig FROM pg_db_role_setting AS s WHERE s.setrole = 0 "
                               "AND s.setdatabase = (SELECT oid FROM pg_database WHERE datname = 'postgres')")
        assert sorted(still[0][0]) == ["DateStyle=SQL, DMY", "bytea_output=escape"]  # other roles keep theirs
    finally:
        server.execute("ALTER DATABASE postgres RESET ALL", f"ALTER ROLE {CDC_USER} IN DATABASE postgres RESET ALL")
