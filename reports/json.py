"""The JSON report: the stable contract (``schema_version`` "1"), as the models define it.

``encoded`` yields the document as UTF-8 piece by piece (each check's head, and its findings and the table
entries a batch of records at a time, gathered into pieces of about 64 kB), so the CLI can write a
100k-table report without holding it as one giant string; ``chunks`` is the same as text, ``render``
joins the pieces. The text is what ``Report.to_json()`` gives (pydantic's serialiser, indent 2), byte for
byte, except that every non-printable character is written as a ``\\uXXXX`` escape so that nothing in it
acts on a terminal (and that text which was not valid in its encoding, which pydantic cannot write at
all, is written escaped too).

Every part is serialised by pydantic-core; findings and table entries (one per table on large
databases) a batch per call, written straight at their depth (see ``_Records``). The pieces stay the
bytes pydantic-core writes, cut once and joined to their separator: the ~120 MB of a 100k-table report
are not decoded, re-sliced and encoded again on their way to a file or stdout.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError, to_json

from preflight.models import CheckResult, Finding, Report, TableEntry
from preflight.terminal import json_visible

PIECE_CHARS = 1 << 16  # bytes (characters, in ASCII); small pieces cost a write (and a flush on stdout) each
BATCH = 256  # records serialised per call: one call per record costs twice as much


def _printable(text: bytes) -> bytes:
    """``json_visible``, skipped for ASCII text without DEL (JSON escapes every other ASCII control)."""
    return text if text.isascii() and b"\x7f" not in text else json_visible(text.decode()).encode()


def _nested(text: bytes, indent: int) -> bytes:
    """Indent-2 JSON made printable and nested ``indent`` spaces deep."""
    return _printable(text).replace(b"\n", b"\n" + b" " * indent)


def _dump(value: Any, indent: int) -> bytes:
    """A JSON-mode value (``model_dump(mode="json")``) as pydantic writes it, nested ``indent`` deep."""
    try:
        text = to_json(value, indent=2)
    except PydanticSerializationError:  # a lone surrogate (text that was not valid in its encoding)
        text = json_visible(json.dumps(value, indent=2, ensure_ascii=False)).encode()  # escaped: encodable
    return _nested(text, indent)


@cache
def _wrapped(model: type, levels: int) -> tuple[TypeAdapter[Any], int, int]:
    """The adapter of a list of ``model`` inside ``levels`` lists, and the length of the text before and
    after that list when it is written."""
    kind: Any = list[model]  # type: ignore[valid-type]
    for _ in range(levels):
        kind = list[kind]
    before = "".join("[\n" + " " * (2 * level + 2) for level in range(levels))
    after = "".join("\n" + " " * (2 * level) + "]" for level in reversed(range(levels)))
    return TypeAdapter(kind), len(before), len(after)


class _Records:
    """How one kind of record is written: a batch in one call, or one record (the fallback for a batch
    pydantic cannot write).

    A batch nested ``indent`` deep is serialised inside ``indent / 2`` lists of one element, so that
    pydantic writes every line at its final depth (re-indenting the text afterwards cost a fifth of the
    time), and the wrapping and the batch's own brackets are cut off in one slice.
    """

    def __init__(self, model: type) -> None:
        self.model = model
        self.one: TypeAdapter[Any] = TypeAdapter(model)

    def record(self, record: Any, indent: int) -> bytes:
        try:
            text = self.one.dump_json(record, indent=2, by_alias=True)
        except PydanticSerializationError:
            return _dump(self.one.dump_python(record, mode="json", by_alias=True), indent)
        return _nested(text, indent)

    def items(self, records: list[Any], indent: int) -> bytes:
        """The items of the JSON array of ``records`` nested ``indent`` (an even number) spaces deep, without
        its brackets: each record on a new line ``indent + 2`` deep, separated by commas."""
        adapter, before, after = _wrapped(self.model, indent // 2)
        value: Any = records
        for _ in range(indent // 2):
            value = [value]
        try:
            text = adapter.dump_json(value, indent=2, by_alias=True)
        except PydanticSerializationError:  # each record on its own, so only the odd one takes the slow way
            opening, sep = b"\n" + b" " * (indent + 2), b",\n" + b" " * (indent + 2)
            return opening + sep.join([self.record(r, indent + 2) for r in records])
        closing = len("\n]") + indent
        return _printable(text[before + 1:len(text) - after - closing])


FINDINGS = _Records(Finding)
TABLES = _Records(TableEntry)


def _array(items: Iterable[Iterator[bytes]], indent: int) -> Iterator[bytes]:
    """A JSON array whose items are already rendered pieces (one item per inner iterator)."""
    empty = True
    for item in items:
        yield (b"[" if empty else b",") + b"\n" + b" " * (indent + 2)
        yield from item
        empty = False
    yield b"[]" if empty else b"\n" + b" " * indent + b"]"


def _records(items: list[Any], kind: _Records, indent: int, batch: int) -> Iterator[bytes]:
    """A JSON array of records (findings, table entries), a batch per piece."""
    if not items:
        yield b"[]"
        return
    for start in range(0, len(items), batch):
        yield b"[" if start == 0 else b","  # the brackets once, around every batch
        yield kind.items(items[start:start + batch], indent)
    yield b"\n" + b" " * indent + b"]"


def _object(fields: Iterable[tuple[str, Iterator[bytes]]], indent: int) -> Iterator[bytes]:
    yield b"{"
    for position, (name, value) in enumerate(fields):
        yield (b"," if position else b"") + b"\n" + b" " * (indent + 2) + _dump(name, 0) + b": "
        yield from value
    yield b"\n" + b" " * indent + b"}"


def _check(check: CheckResult, indent: int, batch: int) -> Iterator[bytes]:
    head = check.model_dump(mode="json", by_alias=True, exclude={"findings"})
    fields = [(name, iter([_dump(head[name], indent + 2)])) for name in CheckResult.model_fields if name != "findings"]
    fields.append(("findings", _records(check.findings, FINDINGS, indent + 2, batch)))
    return _object(fields, indent)


def _pieces(report: Report, batch: int) -> Iterator[bytes]:
    head = report.model_dump(mode="json", by_alias=True, exclude={"checks", "tables", *report.absent_fields()})

    def value(name: str) -> Iterator[bytes]:
        if name == "checks":
            return _array((_check(c, 4, batch) for c in report.checks), 2)
        if name == "tables":
            return _records(report.tables, TABLES, 2, batch)
        return iter([_dump(head[name], 2)])

    yield from _object(((name, value(name)) for name in Report.model_fields if name in head or name in ("checks", "tables")), 0)
    yield b"\n"


def _gathered(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """The same bytes in pieces of at least ``PIECE_CHARS`` bytes (the last one shorter)."""
    batch: list[bytes] = []
    size = 0
    for piece in pieces:
        if not batch and len(piece) >= PIECE_CHARS:  # a batch of records is big enough as it is: no copy
            yield piece
            continue
        batch.append(piece)
        size += len(piece)
        if size >= PIECE_CHARS:
            yield b"".join(batch)
            batch, size = [], 0
    if batch:
        yield b"".join(batch)


def encoded(report: Report, batch: int = BATCH) -> Iterator[bytes]:
    """The report as indent-2 JSON in UTF-8, in pieces; ``batch`` records serialised per call (any size gives
    the same text)."""
    return _gathered(_pieces(report, batch))


def chunks(report: Report, batch: int = BATCH) -> Iterator[str]:
    """``encoded`` as text (every piece holds whole characters)."""
    return (piece.decode() for piece in encoded(report, batch))


def render(report: Report) -> str:
    return b"".join(encoded(report)).decode()
