"""Gather facts into a snapshot in a constant number of round trips (psycopg pipeline mode).

All catalog queries go out in one pipeline inside one read-only transaction. If one fails, the
facts before it are kept, it is cached as its failure, and the rest are sent again in a new
pipeline: the worst case is one round per fact, never one per table.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import RowMaker, tuple_row

from preflight.connection import scrub
from preflight.connection.session import local_settings, strict_text, transaction_in_one_round
from preflight.facts.base import Fact, FactContext, ProbeFact, SqlFact, wrap_json
from preflight.pg_versions import JIT, TRANSACTION_TIMEOUT, supports
from preflight.unvalidated import buildable, row_builder


def describe_error(exc: BaseException, secrets: list[str]) -> str:
    """One line: the SQLSTATE (when there is one) and the server's message, scrubbed."""
    sqlstate = getattr(exc, "sqlstate", None)
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    prefix = f"{sqlstate}: " if sqlstate else ""
    return scrub(f"{prefix}{text}", secrets)


def row_model_factory(row: type[Any]) -> Callable[[psycopg.Cursor[Any]], RowMaker[Any]]:
    """A psycopg row factory building ``row`` from each result row: without validation when the columns are
    all the model's fields in order (``unvalidated.row_builder``: the query is ours, its types are the
    model's), by the model's ``__init__`` otherwise (and for a model the builder cannot fill)."""
    names = [f.name for f in dataclasses.fields(row)]
    build = row_builder(row) if buildable(row) else (lambda values: row(*values))

    def factory(cursor: psycopg.Cursor[Any]) -> RowMaker[Any]:
        columns = [c.name for c in cursor.description or []]
        if columns == names:
            return build
        if columns == names[: len(columns)]:
            return lambda values: row(*values)
        return lambda values: row(**dict(zip(columns, values, strict=True)))

    return factory


def _store(fact: SqlFact[Any], cursor: psycopg.Cursor[Any]) -> Any:
    if fact.shape == "records":
        return cursor.fetchall()
    row: Sequence[Any] | None = cursor.fetchone()
    value = row[0] if row else None
    if value is None and fact.shape == "row":
        raise psycopg.DataError(f"fact {fact.name!r}: the query returned no row")
    return fact.decode(value)


def _one_round(
    conn: psycopg.Connection[Any], pending: list[SqlFact[Any]], ctx: FactContext, facts: dict[str, Any],
    strict: bool = False,
) -> tuple[int, BaseException | None]:
    """Send ``pending`` in one pipeline; store results; return how many succeeded and the error.

    ``strict``: the per-table results are decoded by psycopg's own text loaders (``strict_text``); one they
    cannot decode stops the round with ``UnicodeDecodeError``."""
    cursors: list[psycopg.Cursor[Any]] = []
    error: BaseException | None = None
    try:
        with transaction_in_one_round(conn):  # BEGIN READ ONLY, every query, ROLLBACK: one round trip
            for statement in local_settings(conn):  # only where a pooler refused the startup options
                conn.execute(statement)
            if supports(ctx.version_num, TRANSACTION_TIMEOUT):
                # A transaction_timeout stored for the role or database would end the catalog transaction (an
                # unknown name in the startup options would refuse the connection before 17): off, no round trip.
                # One of a few milliseconds can still end the session first (a new backend's first statement).
                conn.execute("SET LOCAL transaction_timeout = 0")
            if supports(ctx.version_num, JIT):
                # Over 100k relations the tables query crosses jit_above_cost, and compiling it costs
                # more than it saves. SET LOCAL rides in the same pipeline (no round trip).
                conn.execute("SET LOCAL jit = off")
            for fact in pending:
                query, params = fact.build(ctx)
                if fact.shape == "records":
                    cursor = conn.cursor(row_factory=row_model_factory(fact.row))
                    if strict:
                        strict_text(cursor)
                    cursors.append(cursor.execute(query, params))
                else:
                    cursors.append(conn.cursor().execute(wrap_json(query, fact.shape), params))
    except psycopg.Error as exc:
        error = exc
    done = 0
    for fact, cursor in zip(pending, cursors, strict=False):
        try:
            facts[fact.name] = _store(fact, cursor)
        except (psycopg.Error, UnicodeDecodeError) as exc:
            error = error or exc
            break
        done += 1
    if error is None and done < len(pending):
        error = RuntimeError("no result returned")
    return done, error


def gather_sql(
    conn: psycopg.Connection[Any], sql_facts: list[SqlFact[Any]], ctx: FactContext, secrets: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run every SQL fact; return (facts, failures)."""
    facts: dict[str, Any] = {}
    failures: dict[str, str] = {}
    pending = list(sql_facts)
    strict = True  # until a per-table result holds bytes invalid in the encoding: then read it again, tolerant
    while pending:
        done, error = _one_round(conn, pending, ctx, facts, strict)
        if error is None:
            break
        if isinstance(error, UnicodeDecodeError) and strict:
            strict, pending = False, pending[done:]
            continue
        failed = pending[done]
        failures[failed.name] = describe_error(error, secrets)
        pending = pending[done + 1 :]
        if conn.closed or conn.broken:
            for fact in pending:
                failures[fact.name] = f"connection lost before this fact was read ({failures[failed.name]})"
            break
    return facts, failures


def follow_up(
    conn: psycopg.Connection[Any], sql_facts: list[SqlFact[Any]], facts: dict[str, Any], ctx: FactContext,
    secrets: list[str],
) -> dict[str, str]:
    """Each read fact's follow-up, in place (after the pipeline, before the probes); a failure replaces the fact."""
    failures: dict[str, str] = {}
    for fact in sql_facts:
        if fact.follow is None or fact.name not in facts:
            continue
        try:
            facts[fact.name] = fact.follow(conn, facts[fact.name], ctx)
        except Exception as exc:  # the follow-up is more I/O: its failure is that fact's cause
            del facts[fact.name]
            failures[fact.name] = describe_error(exc, secrets)
            if not conn.closed:
                with contextlib.suppress(psycopg.Error):
                    conn.rollback()
    return failures


def gather_probes(
    conn: psycopg.Connection[Any], probes: list[ProbeFact[Any]], ctx: FactContext, secrets: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Run each probe on its own; a probe's exception is cached as that fact's failure."""
    facts: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for probe in probes:
        try:
            facts[probe.name] = probe.run(conn, ctx)
        except Exception as exc:  # a probe is foreign I/O: any failure is that fact's cause
            failures[probe.name] = describe_error(exc, secrets)
    return facts, failures


def gather(
    conn: psycopg.Connection[Any], facts_to_read: list[Fact], ctx: FactContext, secrets: list[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Catalog facts first (one pipeline), then their follow-ups, then probes."""
    sql_facts = [p for p in facts_to_read if isinstance(p, SqlFact)]
    facts, failures = gather_sql(conn, sql_facts, ctx, secrets)
    failures.update(follow_up(conn, sql_facts, facts, ctx, secrets))
    more, more_failures = gather_probes(conn, [p for p in facts_to_read if isinstance(p, ProbeFact)], ctx, secrets)
    facts.update(more)
    failures.update(more_failures)
    return facts, failures


def batch_prefix(version_num: int) -> list[str]:
    """What opens the batch: the read-only transaction and the settings ``_one_round``'s pipeline sets in it."""
    statements = ["BEGIN READ ONLY"]
    if supports(version_num, TRANSACTION_TIMEOUT):
        statements.append("SET LOCAL transaction_timeout = 0")  # as _one_round: a stored one would end the batch
    if supports(version_num, JIT):
        statements.append("SET LOCAL jit = off")
    return statements


def batch_text(cursor: psycopg.ClientCursor[Any], facts: list[SqlFact[Any]], ctx: FactContext) -> str:
    """The facts' statements as one simple-protocol query string, parameters bound by psycopg's own quoting,
    inside one read-only transaction that is rolled back."""
    statements = batch_prefix(ctx.version_num)
    for fact in facts:
        query, params = fact.build(ctx)
        text = query if fact.shape == "records" else wrap_json(query, fact.shape)
        statements.append(cursor.mogrify(text, params).strip())
    return ";\n".join([*statements, "ROLLBACK"])


# Batch texts already rendered, by what their bytes depend on besides the run's options: the server version,
# the session's encoding and string-literal syntax, and the facts. Each run of many databases keeps its own.
BatchKey = tuple[int, str, str | None, tuple[str, ...]]
BatchTexts = dict[BatchKey, bytes]


def _batch_bytes(cursor: psycopg.ClientCursor[Any], facts: list[SqlFact[Any]], ctx: FactContext,
                 texts: BatchTexts | None) -> bytes:
    """``batch_text`` encoded for the session; rendered once per ``texts`` (a run whose options are the same for
    every database it reads: the statements take no value from the database they run in)."""
    info = cursor.connection.info
    key = (ctx.version_num, info.encoding, info.parameter_status("standard_conforming_strings"),
           tuple(f.name for f in facts))
    text = texts.get(key) if texts is not None else None
    if text is None:
        text = batch_text(cursor, facts, ctx).encode(info.encoding)
        if texts is not None:
            texts[key] = text
    return text


def _simple_round(conn: psycopg.Connection[Any], facts: list[SqlFact[Any]], ctx: FactContext,
                  out: dict[str, Any], strict: bool, texts: BatchTexts | None = None) -> None:
    """One simple-protocol query holding every fact's statement; each result read into its fact. Raises."""
    cursor = psycopg.ClientCursor(conn)
    if strict:
        strict_text(cursor)
    try:
        cursor.execute(_batch_bytes(cursor, facts, ctx, texts))
        read: dict[str, Any] = {}
        for _ in batch_prefix(ctx.version_num):  # BEGIN, SET LOCAL ...
            cursor.nextset()
        for fact in facts:
            if fact.shape == "records":
                cursor.row_factory = row_model_factory(fact.row)
            else:
                cursor.row_factory = tuple_row
            read[fact.name] = _store(fact, cursor)
            cursor.nextset()
        out.update(read)
    finally:
        cursor.close()


def gather_simple(
    conn: psycopg.Connection[Any], sql_facts: list[SqlFact[Any]], ctx: FactContext, secrets: list[str],
    texts: BatchTexts | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every SQL fact in one simple-protocol query (an autocommit connection in ``replication=database`` mode
    accepts no other): one round trip, as ``gather_sql``'s pipeline. If the batch fails, each fact is read
    again alone, so one fact's failure is its own, as in ``gather_sql``; a result holding bytes invalid in
    the encoding is read again with the tolerant loaders. ``texts``: the batches a run of many databases
    rendered already (``_batch_bytes``)."""
    facts: dict[str, Any] = {}
    failures: dict[str, str] = {}
    for strict in (True, False):
        try:
            _simple_round(conn, sql_facts, ctx, facts, strict, texts)
            return facts, failures
        except UnicodeDecodeError:
            _rollback(conn)
            continue
        except psycopg.Error:
            _rollback(conn)
            break
    for fact in sql_facts:  # the batch failed: one at a time, each failure its fact's own
        if conn.closed or conn.broken:
            failures[fact.name] = "connection lost before this fact was read"
            continue
        error: BaseException | None = None
        for strict in (True, False):
            try:
                _simple_round(conn, [fact], ctx, facts, strict)
                error = None
                break
            except UnicodeDecodeError as exc:
                error = exc
                _rollback(conn)
            except psycopg.Error as exc:
                error = exc
                _rollback(conn)
                break
        if error is not None:
            failures[fact.name] = describe_error(error, secrets)
    return facts, failures


def _rollback(conn: psycopg.Connection[Any]) -> None:
    """End a transaction a failed batch left open (autocommit: psycopg sends nothing by itself)."""
    if not conn.closed and conn.info.transaction_status != TransactionStatus.IDLE:
        with contextlib.suppress(psycopg.Error):
            conn.execute("ROLLBACK")
