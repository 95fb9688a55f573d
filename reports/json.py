"""The JSON report: the stable contract (``schema_version`` "1"), as the models define it.

``chunks`` yields the document piece by piece (each check, finding and table on its own, gathered into
pieces of about 64 kB), so the CLI can write a 100k-table report without holding it as one giant
string or one giant dict; ``render`` joins the pieces. The result is the document ``Report.to_json()``
gives, with every non-printable character written as a ``\\uXXXX`` escape so that nothing in it acts on
a terminal.

Findings and table entries (one per table on large databases) are written by a fast path straight
from their attributes; any value it does not know exactly how to write (a float, a mutated field)
sends that one record through the model's own serialisation instead, so both give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from functools import cache
from json.encoder import encode_basestring
from typing import Any, get_args

from pydantic import TypeAdapter

from preflight.models import (
    CheckResult,
    Decision,
    Finding,
    FindingRef,
    Persistence,
    Remediation,
    ReplicaIdentity,
    Report,
    Severity,
    TableEntry,
    TableKind,
    TableStatus,
)
from preflight.terminal import json_visible

_FINDING = TypeAdapter(Finding)
_TABLE = TypeAdapter(TableEntry)
PIECE_CHARS = 1 << 16  # small pieces cost a write (and a flush on stdout) each


def _dump(value: Any, indent: int) -> str:
    """``value`` as indent-2 JSON, nested ``indent`` spaces deep."""
    return json_visible(json.dumps(value, indent=2, ensure_ascii=False)).replace("\n", "\n" + " " * indent)


class _Unusual(Exception):
    """A value the fast path does not write: the record goes through its model instead."""


def _text(value: str) -> str:
    """A string as ``json.dumps(ensure_ascii=False)`` then ``json_visible`` write it. ASCII text without DEL
    is printable once encoded (JSON escapes every other ASCII control): no per-character scan."""
    encoded = encode_basestring(value)
    if value.isascii() and "\x7f" not in value:
        return encoded
    return encoded if value.isprintable() else json_visible(encoded)


@cache
def _fields(cls: type) -> tuple[tuple[str, str], ...]:
    """(attribute, JSON key) of a record dataclass, in the order its serialiser writes them."""
    aliases = getattr(cls, "__pydantic_fields__", {})
    out = []
    for field in dataclasses.fields(cls):
        info = aliases.get(field.name)
        key = info.alias if info is not None and info.alias else field.name
        out.append((field.name, encode_basestring(key)))
    return tuple(out)


def _value(value: Any, indent: int) -> str:
    """One value as indent-2 JSON nested ``indent`` spaces deep, or ``_Unusual``."""
    kind = type(value)
    if kind is str:
        return _text(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if kind is list:
        if not value:
            return "[]"
        opening, sep, closing = _list_pads(indent)
        return opening + sep.join([_value(item, indent + 2) for item in value]) + closing
    if isinstance(value, Enum) and type(value.value) is str:
        return _text(value.value)
    if dataclasses.is_dataclass(value) and hasattr(kind, "__pydantic_fields__"):
        return _record(value, indent)
    raise _Unusual


def _record(record: Any, indent: int) -> str:
    p, close = _pads(indent)
    cls: type = type(record)
    return "{" + p[1:] + p.join([key + ": " + _value(getattr(record, attr), indent + 2) for attr, key in _fields(cls)]) + close


# The two records written by the hundred thousand get a writer with their fields spelled out (four times
# faster than ``_record``); it is used only while the model's fields are exactly these, in this order.
_TABLE_FIELDS = ("schema_", "name", "kind", "persistence", "has_primary_key", "replica_identity", "identity_index",
                 "candidate_index", "decision", "status", "size_bytes")
_FINDING_FIELDS = ("code", "severity", "message", "object", "observed", "expected", "remediation", "waived",
                   "waiver_reason")
_REMEDIATION_FIELDS = ("sql", "steps", "requires_restart", "destructive", "after")
_REF_FIELDS = ("check", "object")


def _str(value: Any) -> str:
    """``_text`` for a field that must hold a ``str`` (anything else goes to the model)."""
    if type(value) is not str:
        raise _Unusual
    return _text(value)


# The values of the enumerated fields (kind, status, ...) written once, not per table.
_WORDS: dict[Any, str] = {None: "null", **{w: encode_basestring(w) for w in (
    *get_args(TableKind), *get_args(Persistence), *get_args(ReplicaIdentity), *get_args(TableStatus), *get_args(Decision))}}


def _bool(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    raise _Unusual


@cache
def _pads(indent: int) -> tuple[str, str]:
    """Between the fields of a record nested ``indent`` deep, and its closing line."""
    return ",\n" + " " * (indent + 2), "\n" + " " * indent + "}"


def _table(t: TableEntry, indent: int) -> str:
    p, close = _pads(indent)
    try:
        words = _WORDS
        kind, persistence, identity = words[t.kind], words[t.persistence], words[t.replica_identity]
        decision, status = words[t.decision], words[t.status]
    except (KeyError, TypeError):  # not one of the model's words: left to the model
        raise _Unusual from None
    index, candidate, size = t.identity_index, t.candidate_index, t.size_bytes
    return (f'{{{p[1:]}"schema": {_str(t.schema_)}{p}"name": {_str(t.name)}{p}"kind": {kind}{p}'
            f'"persistence": {persistence}{p}"has_primary_key": {_bool(t.has_primary_key)}{p}'
            f'"replica_identity": {identity}{p}"identity_index": {"null" if index is None else _str(index)}{p}'
            f'"candidate_index": {"null" if candidate is None else _str(candidate)}{p}"decision": {decision}{p}'
            f'"status": {status}{p}"size_bytes": {size if type(size) is int else _value(size, 0)}{close}')


@cache
def _list_pads(indent: int) -> tuple[str, str, str]:
    """The opening, the separator and the closing of a non-empty list nested ``indent`` deep."""
    return "[\n" + " " * (indent + 2), ",\n" + " " * (indent + 2), "\n" + " " * indent + "]"


def _list(values: Any, item: Callable[[Any, int], str], indent: int) -> str:
    """A list field (``sql``, ``steps``, ``after``), each element written by ``item`` at its depth."""
    if type(values) is not list:
        raise _Unusual
    if not values:
        return "[]"
    opening, sep, closing = _list_pads(indent)
    return opening + sep.join([item(value, indent + 2) for value in values]) + closing


def _string(value: Any, indent: int) -> str:
    return _str(value)


def _ref(ref: Any, indent: int) -> str:
    """One ``FindingRef`` of ``after`` (tens of thousands when a CREATE PUBLICATION waits for every unkeyed table)."""
    if type(ref) is not FindingRef:
        raise _Unusual
    p, close = _pads(indent)
    return f'{{{p[1:]}"check": {_str(ref.check)}{p}"object": {_str(ref.object)}{close}'


def _finding(f: Finding, indent: int) -> str:
    r = f.remediation
    severity = f.severity
    if type(severity) is not Severity or type(r) is not Remediation:
        raise _Unusual
    p, close = _pads(indent)
    q, close_remediation = _pads(indent + 2)  # the remediation's fields
    reason = f.waiver_reason
    return (f'{{{p[1:]}"code": {_str(f.code)}{p}"severity": "{severity._value_}"{p}"message": {_str(f.message)}{p}'
            f'"object": {"null" if f.object is None else _str(f.object)}{p}"observed": {_value(f.observed, indent + 2)}{p}'
            f'"expected": {_value(f.expected, indent + 2)}{p}"remediation": {{{q[1:]}"sql": {_list(r.sql, _string, indent + 4)}'
            f'{q}"steps": {_list(r.steps, _string, indent + 4)}{q}"requires_restart": {_bool(r.requires_restart)}{q}'
            f'"destructive": {_bool(r.destructive)}{q}"after": {_list(r.after, _ref, indent + 4)}{close_remediation}{p}'
            f'"waived": {_bool(f.waived)}{p}"waiver_reason": {"null" if reason is None else _str(reason)}{close}')


def _names(cls: type) -> tuple[str, ...]:
    return tuple(attr for attr, _ in _fields(cls))


_SPELLED_OUT = (_names(TableEntry) == _TABLE_FIELDS and _names(Finding) == _FINDING_FIELDS
                and _names(Remediation) == _REMEDIATION_FIELDS and _names(FindingRef) == _REF_FIELDS)


def _fast_or_model(adapter: TypeAdapter[Any], spelled: Callable[[Any, int], str]) -> Callable[[Any, int], str]:
    fast = spelled if _SPELLED_OUT else _record

    def write(record: Any, indent: int) -> str:
        try:
            return fast(record, indent)
        except _Unusual:
            return _dump(adapter.dump_python(record, mode="json", by_alias=True), indent)

    return write


write_finding = _fast_or_model(_FINDING, _finding)
write_table = _fast_or_model(_TABLE, _table)


def model_finding(finding: Finding, indent: int) -> str:
    """A finding through its model's serialisation (what the fast path must equal)."""
    return _dump(_FINDING.dump_python(finding, mode="json", by_alias=True), indent)


def model_table(table: TableEntry, indent: int) -> str:
    """A table entry through its model's serialisation (what the fast path must equal)."""
    return _dump(_TABLE.dump_python(table, mode="json", by_alias=True), indent)


def _array(items: Iterable[Any], indent: int) -> Iterator[str]:
    """A JSON array whose items are already rendered pieces (one item per inner iterator)."""
    empty = True
    for item in items:
        yield ("[" if empty else ",") + "\n" + " " * (indent + 2)
        yield from item
        empty = False
    yield "[]" if empty else "\n" + " " * indent + "]"


BATCH = 256  # records written per piece: one piece (and one trip through the generators) per record costs more


def _records(items: list[Any], write: Callable[[Any, int], str], indent: int) -> Iterator[str]:
    """A JSON array of records (findings, table entries), each written by ``write``, a batch per piece."""
    if not items:
        yield "[]"
        return
    opening, sep, closing = _list_pads(indent)
    for start in range(0, len(items), BATCH):
        yield (opening if start == 0 else sep) + sep.join([write(item, indent + 2) for item in items[start:start + BATCH]])
    yield closing


def _object(fields: Iterable[tuple[str, Iterator[str]]], indent: int) -> Iterator[str]:
    yield "{"
    for position, (name, value) in enumerate(fields):
        yield ("," if position else "") + "\n" + " " * (indent + 2) + json_visible(json.dumps(name, ensure_ascii=False)) + ": "
        yield from value
    yield "\n" + " " * indent + "}"


def _check(check: CheckResult, indent: int, finding: Callable[[Finding, int], str]) -> Iterator[str]:
    head = check.model_dump(mode="json", by_alias=True, exclude={"findings"})
    fields = [(name, iter([_dump(head[name], indent + 2)])) for name in CheckResult.model_fields if name != "findings"]
    fields.append(("findings", _records(check.findings, finding, indent + 2)))
    return _object(fields, indent)


def _pieces(report: Report, finding: Callable[[Finding, int], str], table: Callable[[TableEntry, int], str]) -> Iterator[str]:
    head = report.model_dump(mode="json", by_alias=True, exclude={"checks", "tables", *report.absent_fields()})

    def value(name: str) -> Iterator[str]:
        if name == "checks":
            return _array((_check(c, 4, finding) for c in report.checks), 2)
        if name == "tables":
            return _records(report.tables, table, 2)
        return iter([_dump(head[name], 2)])

    yield from _object(((name, value(name)) for name in Report.model_fields if name in head or name in ("checks", "tables")), 0)
    yield "\n"


def _gathered(pieces: Iterator[str]) -> Iterator[str]:
    """The same text in pieces of at least ``PIECE_CHARS`` characters (the last one shorter)."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        if not batch and len(piece) >= PIECE_CHARS:  # a batch of records is big enough as it is: no copy
            yield piece
            continue
        batch.append(piece)
        size += len(piece)
        if size >= PIECE_CHARS:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def chunks(report: Report) -> Iterator[str]:
    """The report as indent-2 JSON, in pieces."""
    return _gathered(_pieces(report, write_finding, write_table))


def model_chunks(report: Report) -> Iterator[str]:
    """The same document with every finding and table written through its model (the reference)."""
    return _pieces(report, model_finding, model_table)


def render(report: Report) -> str:
    return "".join(chunks(report))
