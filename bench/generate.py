"""Build a database of N tables across many schemas, server-side (DO blocks, format('%I')).

Layout (100 tables per schema, schema ``bench_00000`` ... and every 50th schema with a name that
needs quoting, ``Bench Sch 00050``), by table slot ``i`` in its schema:

- ``i % 4 in (0, 1)``: no key at all (half); ``i % 20 == 0`` of them REPLICA IDENTITY FULL,
  ``i % 20 == 1`` of them UNLOGGED (not publishable).
- ``i % 4 == 2``: a unique index on NOT NULL columns, no primary key (a quarter).
- ``i % 4 == 3``: a primary key (a quarter).
- slot 99 of every 10th schema is instead a partitioned table (primary key) with two leaves; the
  leaves are extra relations on top of N.

One DO block per schema (one transaction each: a single transaction creating 100k relations would
exhaust the lock table), sent from ``workers`` connections in parallel. With ``fsync=off`` (the
throwaway server's default) 100k tables take a few minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg

TABLES_PER_SCHEMA = 100

SCHEMA_DDL = """
DO $bench$
DECLARE
    s_no int := %(schema_no)s;
    n int := %(count)s;
    s text := CASE WHEN %(schema_no)s %% 50 = 0 AND %(schema_no)s > 0
                   THEN pg_catalog.format('Bench Sch %%s', pg_catalog.lpad(%(schema_no)s::text, 5, '0'))
                   ELSE pg_catalog.format('bench_%%s', pg_catalog.lpad(%(schema_no)s::text, 5, '0')) END;
    t text;
    i int;
BEGIN
    EXECUTE pg_catalog.format('CREATE SCHEMA %%I', s);
    FOR i IN 0 .. n - 1 LOOP
        t := pg_catalog.format('t_%%s', pg_catalog.lpad(i::text, 3, '0'));
        IF i = 99 AND s_no %% 10 = 0 THEN
            EXECUTE pg_catalog.format(
                'CREATE TABLE %%I.%%I (id int8 NOT NULL, v text, PRIMARY KEY (id)) PARTITION BY RANGE (id)', s, t);
            EXECUTE pg_catalog.format(
                'CREATE TABLE %%I.%%I PARTITION OF %%I.%%I FOR VALUES FROM (0) TO (1000000)', s, t || '_p0', s, t);
            EXECUTE pg_catalog.format(
                'CREATE TABLE %%I.%%I PARTITION OF %%I.%%I FOR VALUES FROM (1000000) TO (2000000)', s, t || '_p1', s, t);
        ELSIF i %% 4 IN (0, 1) THEN
            IF i %% 20 = 1 THEN
                EXECUTE pg_catalog.format('CREATE UNLOGGED TABLE %%I.%%I (id int8, v text)', s, t);
            ELSE
                EXECUTE pg_catalog.format('CREATE TABLE %%I.%%I (id int8, v text)', s, t);
            END IF;
            IF i %% 20 = 0 THEN
                EXECUTE pg_catalog.format('ALTER TABLE %%I.%%I REPLICA IDENTITY FULL', s, t);
            END IF;
        ELSIF i %% 4 = 2 THEN
            EXECUTE pg_catalog.format('CREATE TABLE %%I.%%I (id int8 NOT NULL, v text)', s, t);
            EXECUTE pg_catalog.format('CREATE UNIQUE INDEX %%I ON %%I.%%I (id)', t || '_uq', s, t);
        ELSE
            EXECUTE pg_catalog.format('CREATE TABLE %%I.%%I (id int8 PRIMARY KEY, v text)', s, t);
        END IF;
    END LOOP;
END
$bench$
"""


@dataclass(frozen=True)
class Generated:
    """What was built and how long it took."""

    tables: int
    schemas: int
    relations: int
    seconds: float


def schema_plan(tables: int) -> list[tuple[int, int]]:
    """(schema number, table count) for each schema: full schemas of 100, the remainder last."""
    plan = [(no, TABLES_PER_SCHEMA) for no in range(tables // TABLES_PER_SCHEMA)]
    if tables % TABLES_PER_SCHEMA:
        plan.append((len(plan), tables % TABLES_PER_SCHEMA))
    return plan


def _build_some(dsn: str, plan: list[tuple[int, int]], deadline: float) -> None:
    # Client-side binding: a DO block takes no server-side parameters.
    with psycopg.connect(dsn, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        for schema_no, count in plan:
            if time.monotonic() > deadline:
                raise TimeoutError("generation exceeded its time budget")
            conn.execute(SCHEMA_DDL, {"schema_no": schema_no, "count": count})


def generate(dsn: str, tables: int, workers: int = 2, budget_s: float = 1800.0,
             progress: Callable[[str], None] | None = None) -> Generated:
    """Create ``tables`` tables (plus partition leaves) in the database at ``dsn``."""
    started = time.monotonic()
    deadline = started + budget_s
    plan = schema_plan(tables)
    workers = max(1, min(workers, len(plan)))
    slices = [plan[k::workers] for k in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_build_some, dsn, part, deadline) for part in slices]:
            future.result()
    with psycopg.connect(dsn, autocommit=True) as conn:
        # What autovacuum does on a real server: catalogs with fresh statistics (this is what makes the
        # planner's cost of the tables query cross jit_above_cost, as it would in production).
        for catalog in ("pg_class", "pg_namespace", "pg_index", "pg_attribute", "pg_inherits", "pg_type"):
            conn.execute(f"VACUUM ANALYZE pg_catalog.{catalog}")
        row = conn.execute(
            "SELECT count(*) FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace"
            " WHERE n.nspname LIKE 'bench%%' OR n.nspname LIKE 'Bench%%'"
        ).fetchone()
    seconds = time.monotonic() - started
    if progress:
        progress(f"generated {tables} tables in {len(plan)} schemas in {seconds:.1f} s")
    return Generated(tables, len(plan), int(row[0]) if row else 0, seconds)


def main() -> None:
    """``python bench/generate.py N``: build N tables in a throwaway server, print timing, destroy it."""
    import sys

    from preflight.pgserver import create_server

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    server = create_server({"wal_level": "logical"}, prefix="pgpf-bench-")
    try:
        result = generate(server.admin_dsn(), count, progress=print)
        print(result)
    finally:
        server.destroy()


if __name__ == "__main__":
    main()
