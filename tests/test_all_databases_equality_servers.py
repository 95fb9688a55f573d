"""Every database's section of ``--all-databases`` is what a run pointed at that database alone reports.

A real cluster of 23 databases (``postgres`` and ``db00``..``db21`` made from one template) whose
databases differ where a database can differ: publications (one ``FOR ALL TABLES`` reaching a table
without a replica identity outside the selection, filtered ones elsewhere), tables an extension owns
(left out of the default selection), sequences and large objects, the checker's privileges, a
per-database ``default_transaction_read_only``, and tables the decisions file names (a decision names
``schema.table``: the same file applies to every database; per-database decisions are not in the file's
format). The run starts from ``postgres``, which is unlike any of them; it is made with the default
selection and with ``-s app``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import pytest

from preflight import Options, run_preflight
from preflight.cluster import database_dsn, run_all_databases
from preflight.connection import parse_dsn
from preflight.models import CheckResult, Report, verdict
from tests.servers import Server, add_cdc_role

pytestmark = [pytest.mark.server, pytest.mark.only_on("local")]

DATABASES = [f"db{i:02d}" for i in range(22)]
ALL_TABLES_DB = "db01"  # FOR ALL TABLES reaches side.unkeyed, outside -s app: table_keys fails here
FILTERED_DBS = DATABASES[2:12]  # FOR TABLE app.keyed, app.other: side.unkeyed is not published
EXTENSION_DBS = DATABASES[3:6]  # app.ext_owned belongs to an extension: left out of the selection
READ_ONLY_DB = "db07"  # ALTER DATABASE ... SET default_transaction_read_only = on
NO_SELECT_DB = "db08"  # the checker may not read app.keyed there
OBJECTS_DB = "db09"  # sequences and a large object, which logical replication never carries
DECIDED_DBS = DATABASES[10:14]  # app.legacy exists, and the decisions file excludes it
PUBLICATION = "cdc_pub"

# Figures measured at the instant of each run, which two runs a moment apart read differently for a real
# reason: the connect latency, the WAL position IDENTIFY_SYSTEM reports, the WAL rate averaged up to now
# (and the copy time derived from it), the connections free (an --all-databases run holds a few sessions of
# its own meanwhile). Only their figures are masked: every other character is compared.
MEASURED_FINDINGS = frozenset({("reachability", "connected"), ("grants", "replication_connection_ok"),
                               ("existing_slots", "wal_rate"), ("slot_budget", "slot_retention_unlimited"),
                               ("slot_budget", "initial_copy_size"), ("slot_budget", "wal_rate_unknown")})
MEASURED_SUMMARIES = frozenset({"reachability", "slot_budget", "grants"})
DIGITS = re.compile(r"\b[0-9][0-9A-F]*(?:[./][0-9A-F]+)*")
# Judged for the whole plan (--slots-needed per database times the databases): the single run asks for one
# database's slots. Its plan is tested in test_all_databases_servers.py.
CLUSTER_PLAN_ONLY = frozenset({"slot_capacity"})


@pytest.fixture(scope="module")
def cluster(servers: Callable[..., Server]) -> tuple[Server, str]:
    server = servers(max_replication_slots="10", max_wal_senders="20")
    dsn = add_cdc_role(server)
    server.execute("CREATE DATABASE tmpl")
    server.execute("CREATE SCHEMA app", "CREATE TABLE app.keyed (id int PRIMARY KEY, note text)",
                   "CREATE TABLE app.other (id int PRIMARY KEY)", "GRANT USAGE ON SCHEMA app TO cdc",
                   "GRANT SELECT ON ALL TABLES IN SCHEMA app TO cdc", dbname="tmpl")
    server.execute(*(f"CREATE DATABASE {name} TEMPLATE tmpl" for name in DATABASES), "DROP DATABASE tmpl")
    unkeyed = ("CREATE SCHEMA side", "GRANT USAGE ON SCHEMA side TO cdc", "CREATE TABLE side.unkeyed (v int)",
               "GRANT SELECT ON side.unkeyed TO cdc")
    server.execute(*unkeyed, f"CREATE PUBLICATION {PUBLICATION} FOR ALL TABLES", dbname=ALL_TABLES_DB)
    for name in FILTERED_DBS:
        server.execute(*unkeyed, f"CREATE PUBLICATION {PUBLICATION} FOR TABLE app.keyed, app.other", dbname=name)
    for name in EXTENSION_DBS:
        server.execute("CREATE TABLE app.ext_owned (v int)", "ALTER EXTENSION plpgsql ADD TABLE app.ext_owned",
                       dbname=name)
    server.execute(f"ALTER DATABASE {READ_ONLY_DB} SET default_transaction_read_only = on")
    server.execute("REVOKE SELECT ON app.keyed FROM cdc", dbname=NO_SELECT_DB)
    server.execute("CREATE SEQUENCE app.counter", "SELECT pg_catalog.lo_create(0)", dbname=OBJECTS_DB)
    for name in DECIDED_DBS:
        server.execute("CREATE TABLE app.legacy (v int)", "GRANT SELECT ON app.legacy TO cdc", dbname=name)
    return server, dsn


SELECTIONS: dict[str, dict[str, Any]] = {"default": {}, "app": {"schemas": ["app"]}}


def options(dsn: str, selection: str, **more: Any) -> Options:
    return Options(dsn=dsn, publication=PUBLICATION, decisions={"app.legacy": "exclude"}, **SELECTIONS[selection],
                   **more)


def comparable(result: CheckResult) -> dict[str, Any]:
    """What a check concluded: status, summary and every finding (code, severity, object, message,
    remediation, ...); not how long it took, nor the figures of the instant (``MEASURED_*``)."""
    view = result.model_dump(mode="json", exclude={"duration_ms"})
    if result.id in MEASURED_SUMMARIES:
        view["summary"] = DIGITS.sub("#", view["summary"])
    for finding in view["findings"]:
        if (result.id, finding["code"]) in MEASURED_FINDINGS:
            finding["message"] = DIGITS.sub("#", finding["message"])
            finding["observed"] = DIGITS.sub("#", str(finding["observed"]))
    return view


@pytest.fixture(scope="module", params=sorted(SELECTIONS))
def runs(cluster: tuple[Server, str], request: pytest.FixtureRequest) -> tuple[Report, dict[str, Report]]:
    dsn, selection = cluster[1], request.param
    whole = run_all_databases(options(dsn, selection, all_databases=True))
    alone = {name: run_preflight(options(database_dsn(parse_dsn(dsn), name).raw or "", selection))
             for name in ["postgres", *DATABASES]}
    return whole, alone


def codes(report: Report, check_id: str) -> list[str]:
    return [f.code for f in report.check(check_id).findings]


def test_the_cluster_is_what_the_test_says(runs: tuple[Report, dict[str, Report]]) -> None:
    """The databases really differ: otherwise equal sections would prove nothing."""
    whole, alone = runs
    assert whole.databases is not None
    assert [db.dbname for db in whole.databases] == sorted(["postgres", *DATABASES])
    assert all(db.status == "checked" for db in whole.databases)
    verdicts = {name: {c.id: c.status.value for c in report.checks} for name, report in alone.items()}
    assert "no_replica_identity" in codes(alone[ALL_TABLES_DB], "table_keys")
    assert verdicts[ALL_TABLES_DB]["publication"] == "pass"
    assert "nothing_to_publish" in codes(alone["postgres"], "publication")  # no publication of that name there
    assert verdicts[READ_ONLY_DB]["writer_status"] == "warn" and verdicts["postgres"]["writer_status"] == "pass"
    assert "no_select" in codes(alone[NO_SELECT_DB], "grants") and "no_select" not in codes(alone["postgres"], "grants")
    assert "sequences_not_replicated" in codes(alone[OBJECTS_DB], "table_keys")
    assert "sequences_not_replicated" not in codes(alone["postgres"], "table_keys")
    assert {t.name: t.status for t in alone[DECIDED_DBS[0]].tables}["legacy"] == "excluded"
    assert "legacy" not in {t.name for t in alone["postgres"].tables}
    if whole.options["schemas"]:  # -s app: side.unkeyed is reached through db01's publication only
        assert "no_replica_identity" not in codes(alone[FILTERED_DBS[0]], "table_keys")
        assert verdicts[FILTERED_DBS[0]]["publication"] == "pass"
        # naming the schema selects the extension's table too, and the filtered publication leaves it out
        assert "table_not_in_publication" in codes(alone[EXTENSION_DBS[0]], "publication")
    else:  # the default selection leaves the extension's table out, and says so
        assert "extension_tables_not_selected" in codes(alone[EXTENSION_DBS[0]], "table_keys")
        assert "extension_tables_not_selected" not in codes(alone["postgres"], "table_keys")
        assert "ext_owned" not in {t.name for t in alone[EXTENSION_DBS[0]].tables}


@pytest.mark.parametrize("name", ["postgres", *DATABASES])
def test_each_section_equals_the_run_pointed_at_that_database(runs: tuple[Report, dict[str, Report]],
                                                              name: str) -> None:
    whole, alone = runs
    assert whole.databases is not None
    section = next(db for db in whole.databases if db.dbname == name)
    single = alone[name]
    cluster_ids = {c.id for c in whole.checks}
    assert [c.id for c in section.checks] == [c.id for c in single.checks if c.id not in cluster_ids]
    by_id = {c.id: c for c in single.checks}
    assert [comparable(c) for c in section.checks] == [comparable(by_id[c.id]) for c in section.checks]
    assert [asdict(t) for t in section.tables] == [asdict(t) for t in single.tables]
    assert section.verdict == verdict([c for c in single.checks if c.id not in cluster_ids])


@pytest.mark.parametrize("name", ["postgres", ALL_TABLES_DB, READ_ONLY_DB])
def test_cluster_wide_checks_equal_any_single_run(runs: tuple[Report, dict[str, Report]], name: str) -> None:
    """The checks run once judge the server: a run pointed at any database says the same of them."""
    whole, alone = runs
    by_id = {c.id: c for c in alone[name].checks}
    judged = [c for c in whole.checks if c.id not in CLUSTER_PLAN_ONLY]
    assert judged, [c.id for c in whole.checks]
    assert [comparable(c) for c in judged] == [comparable(by_id[c.id]) for c in judged]
