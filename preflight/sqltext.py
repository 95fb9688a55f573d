"""Render ``psycopg.sql`` compositions to text without a connection, for remediation scripts."""

from __future__ import annotations

from psycopg import sql


def render(statement: sql.Composable) -> str:
    """The statement as it will be pasted: identifiers quoted by psycopg, never by hand."""
    return statement.as_string(None)
