"""Issue 19, PostgreSQL as the judge of two consumer rules: what a pgoutput consumer really receives before and after
the fix pg-preflight prints for the profile.

- Materialize needs REPLICA IDENTITY FULL: under a primary key's identity an UPDATE carries no old row and a DELETE
  only the key, so a consumer that retracts old rows has nothing to retract; after the printed fix both carry it.
- Estuary and Sequin need publish_via_partition_root: without it a partition's change arrives under the leaf's
  name, not the partitioned table the consumer captures; after the printed fix it arrives under the root's.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from preflight import Options, run_preflight
from preflight.models import Finding, Severity
from tests.conftest import PLUMBING
from tests.oracle import Change, decoded
from tests.servers import Server, add_cdc_role

pytestmark = PLUMBING


@pytest.fixture(scope="module")
def server(servers: Callable[..., Server]) -> Server:
    started = servers()
    add_cdc_role(started)
    return started


def failures(server: Server, dbname: str, check: str, profile: str, publication: str) -> list[Finding]:
    report = run_preflight(Options(dsn=server.dsn(dbname=dbname), checks=[check], profile=profile,
                                   publication=publication))
    return [f for f in report.check(check).findings if f.severity is Severity.ERROR]


def test_materialize_needs_the_old_row_that_only_full_sends(server: Server) -> None:
    cdc_dsn = add_cdc_role(server)
    server.execute("CREATE DATABASE mz")
    server.execute("CREATE TABLE public.orders (id int PRIMARY KEY, total int)",
                   "INSERT INTO public.orders VALUES (1, 10), (2, 20)",
                   "CREATE PUBLICATION mz_source FOR TABLE public.orders", dbname="mz")
    dml = ["UPDATE public.orders SET total = total + 1 WHERE id = 1", "DELETE FROM public.orders WHERE id = 2"]
    [short] = failures(server, "mz", "table_keys", "materialize", "mz_source")
    assert short.code == "replica_identity_not_full"
    assert decoded(server, cdc_dsn, "mz_source", dml, "mz") == [
        Change("public.orders", "UPDATE", "none"), Change("public.orders", "DELETE", "key")]
    server.execute(*short.remediation.sql_text(), dbname="mz")
    assert failures(server, "mz", "table_keys", "materialize", "mz_source") == []
    server.execute("INSERT INTO public.orders VALUES (2, 20)", dbname="mz")
    assert decoded(server, cdc_dsn, "mz_source", dml, "mz") == [
        Change("public.orders", "UPDATE", "full"), Change("public.orders", "DELETE", "full")]


@pytest.mark.parametrize("profile", ["estuary", "sequin"])
def test_the_root_name_arrives_only_with_publish_via_partition_root(server: Server, profile: str) -> None:
    cdc_dsn = add_cdc_role(server)
    dbname = f"root_{profile}"
    server.execute(f"CREATE DATABASE {dbname}")
    server.execute("CREATE TABLE public.events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)",
                   "CREATE TABLE public.events_2025 PARTITION OF public.events "
                   "FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')",
                   "CREATE PUBLICATION flow FOR TABLE public.events", dbname=dbname)
    insert = ["INSERT INTO public.events VALUES (1, '2025-06-01')"]
    [short] = failures(server, dbname, "publication", profile, "flow")
    assert short.code == "partition_root_required"
    assert decoded(server, cdc_dsn, "flow", insert, dbname) == [Change("public.events_2025", "INSERT", "none")]
    server.execute(*short.remediation.sql_text(), dbname=dbname)
    assert failures(server, dbname, "publication", profile, "flow") == []
    assert decoded(server, cdc_dsn, "flow", ["INSERT INTO public.events VALUES (2, '2025-06-02')"], dbname) == [
        Change("public.events", "INSERT", "none")]
