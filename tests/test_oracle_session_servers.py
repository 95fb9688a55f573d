"""Oracle scenarios for the consumer's sessions: PostgreSQL's own verdict on a timeout stored for the CDC role.

A native subscription copies the published tables through the CDC role's sessions, which start with what
``ALTER ROLE ... IN DATABASE ... SET`` stored. pg-preflight must fail exactly when the copy is cancelled, and
its printed script (applied as printed) must let the copy through without removing the role's value elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests import oracle
from tests.oracle import failing, native, preflight, run, script
from tests.servers import CDC_USER, Server
from tests.test_oracle_servers import PUB, agree, healthy

pytestmark = [pytest.mark.server, pytest.mark.only_on("local")]


@pytest.fixture(scope="module")
def subscriber(servers: Callable[..., Server]) -> Server:
    return servers(wal_retrieve_retry_interval="200ms")


@pytest.fixture()
def source(servers: Callable[..., Server]) -> Iterator[Server]:
    server = servers()
    yield server
    server.destroy()


def test_role_statement_timeout_cancels_the_initial_copy_until_the_script_runs(source: Server,
                                                                             subscriber: Server) -> None:
    tables = ["app.orders"]
    dsn = healthy(source, *tables)
    run(source, "CREATE TABLE app.bulk (id int PRIMARY KEY, v text)",
        "INSERT INTO app.bulk SELECT g, repeat('x', 60) FROM generate_series(1, 150000) AS g",
        f"GRANT SELECT ON app.bulk TO {CDC_USER}", f"ALTER PUBLICATION {PUB} ADD TABLE app.bulk", "ANALYZE app.bulk",
        f"ALTER ROLE {CDC_USER} SET statement_timeout = '5ms'")  # role-wide (every database): it must stay
    report = preflight(dsn, "-s", "app")
    assert failing(report) == {"session_timeouts": ["stored_timeout_breaks_copy"]}
    outcome = native(source, subscriber, dsn, PUB, tables)
    assert outcome.said("statement timeout"), str(outcome)
    agree(report, [outcome])

    errors = oracle.apply(source, script(dsn, "-s", "app"))
    assert errors == ""
    after = preflight(dsn, "-s", "app")
    outcome = native(source, subscriber, dsn, PUB, tables)
    assert outcome.works, str(outcome)
    agree(after, [outcome])
    stored = run(source, "SELECT s.setconfig FROM pg_db_role_setting AS s JOIN pg_roles AS r ON r.oid = s.setrole "
                         f"WHERE r.rolname = '{CDC_USER}' AND s.setdatabase = 0")
    assert stored == [(["statement_timeout=5ms"],)]
