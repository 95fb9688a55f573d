"""The tables a consumer's regular-expression selection captures, as Debezium computes them.

Debezium lists the database's tables as PgJDBC's ``getTables`` types ``TABLE`` and ``PARTITIONED TABLE`` do
(relkind ``r`` and ``p``, partitions included, in schemas not starting with ``pg_`` nor ``information_schema``),
leaves out its built-in ``spatial_ref_sys`` (``table.ignore.builtin``, on by default), then keeps a table when
the schema filter accepts its schema name and the table filter its ``schema.table`` name (both unquoted):
each entry must match the whole name, ignoring ASCII case. An include list wins over its exclude list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg

from preflight.connection import Dsn, open_session
from preflight.consumers.javaregex import compile_java
from preflight.consumers.model import TableFilter
from preflight.names import QualifiedName

BUILTIN_TABLES = ("spatial_ref_sys",)
CANDIDATES = """
    SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text
      FROM pg_catalog.pg_class AS c JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p') AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
     ORDER BY 1, 2"""


class Matcher:
    """``TableFilter`` compiled: ``accepts(schema, table)`` is Debezium's decision for one table."""

    def __init__(self, spec: TableFilter) -> None:
        self.schema_in = [compile_java(p) for p in spec.schema_include]
        self.schema_out = [compile_java(p) for p in spec.schema_exclude]
        self.table_in = [compile_java(p) for p in spec.table_include]
        self.table_out = [compile_java(p) for p in spec.table_exclude]

    def accepts(self, schema: str, table: str) -> bool:
        if table.lower() in BUILTIN_TABLES:
            return False
        if self.schema_in:
            if not any(p.fullmatch(schema) for p in self.schema_in):
                return False
        elif self.schema_out and any(p.fullmatch(schema) for p in self.schema_out):
            return False
        whole = f"{schema}.{table}"
        if self.table_in:
            return any(p.fullmatch(whole) for p in self.table_in)
        return not (self.table_out and any(p.fullmatch(whole) for p in self.table_out))

    def select(self, names: Iterable[tuple[str, str]]) -> list[QualifiedName]:
        return [QualifiedName(s, t) for s, t in names if self.accepts(s, t)]


def candidate_tables(dsn: Dsn, timeouts: tuple[float, float, float]) -> list[tuple[str, str]]:
    """Every table Debezium considers, read in one catalog query on a read-only session."""
    conn: psycopg.Connection[Any] = open_session(dsn, *timeouts)
    try:
        with conn.transaction():
            return [(str(s), str(t)) for s, t in conn.execute(CANDIDATES).fetchall()]
    finally:
        conn.close()
