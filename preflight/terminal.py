"""Server text made visible: every character that could move the cursor, recolour, reorder or hide text
is written as an escape (``\\x1b``, ``\\u202e``), so no name, ``application_name`` or error message can
rewrite a reader's screen.

"Printable" is Python's ``str.isprintable`` (no control, format, separator other than the ASCII
space, surrogate, private-use or unassigned code point), the same rule ``preflight.sqltext`` uses to
decide when an identifier needs PostgreSQL's ``U&"..."`` form. Bytes that were not valid text in the
connection's encoding arrive as ``UNDECODABLE_BASE + byte`` (see ``undecodable``) and show as ``\\xHH``.
"""

from __future__ import annotations

import codecs
import os
from typing import TextIO

import click

# Bytes the server sent that are not text in the client encoding (a SQL_ASCII database holding \xff)
# are decoded to these private-use code points, one per byte, so that no name is lost or crashes a
# report, and nothing can mistake the result for a name that can be written back exactly.
UNDECODABLE_BASE = 0x10FF00
UNDECODABLE_HANDLER = "pg-preflight-undecodable"


def _undecodable(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(UNDECODABLE_BASE + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(UNDECODABLE_HANDLER, _undecodable)


def decode(data: bytes, encoding: str = "utf-8") -> str:
    """``data`` as text; bytes invalid in ``encoding`` become ``UNDECODABLE_BASE + byte``."""
    return data.decode(encoding, UNDECODABLE_HANDLER)


def undecodable(text: str) -> bool:
    """Whether ``text`` holds bytes that were not valid in the client encoding (never when it is printable:
    those code points are private-use, so the per-character scan is needed only for the rare rest)."""
    return not text.isprintable() and any(ord(ch) >= UNDECODABLE_BASE for ch in text)


def escape_char(ch: str) -> str:
    """One character as a Python-style escape: ``\\x1b``, ``\\u202e``, ``\\U000e0001``; undecodable bytes as ``\\xff``."""
    code = ord(ch)
    if code >= UNDECODABLE_BASE:
        return f"\\x{code - UNDECODABLE_BASE:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: object, keep: str = "\n") -> str:
    """``str(text)`` with every non-printable character escaped, except those in ``keep`` (newline)."""
    value = text if isinstance(text, str) else str(text)
    if value.isprintable() or ("\n" in keep and value.replace("\n", "").isprintable()):
        return value
    return "".join(ch if ch.isprintable() or ch in keep else escape_char(ch) for ch in value)


def json_visible(text: str) -> str:
    """JSON text with every non-printable character (outside the structural newlines) as a ``\\uXXXX``
    escape: the same document, but nothing in it acts on a terminal."""
    if text.replace("\n", "").isprintable():
        return text
    out: list[str] = []
    for ch in text:
        if ch.isprintable() or ch == "\n":
            out.append(ch)
            continue
        code = ord(ch)
        if code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:  # JSON spells a character beyond the BMP as a surrogate pair
            code -= 0x10000
            out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
    return "".join(out)


def echo(message: object = "", err: bool = False, nl: bool = True) -> None:
    """``click.echo`` of ``message`` made visible: how every CLI line reaches a terminal."""
    click.echo(visible(message), err=err, nl=nl, color=True)


def terminal_width(stream: TextIO) -> int | None:
    """The width to wrap at: ``$COLUMNS`` when set, else the terminal's, else None (a file or a pipe)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(stream.fileno()).columns if stream.isatty() else None
    except (OSError, ValueError, AttributeError):  # no real file behind the stream (a test runner's)
        return None


def use_colour(choice: str, stream: TextIO) -> bool:
    """``--color always|never|auto``: auto colours a terminal unless ``NO_COLOR`` is set (to anything but
    the empty string) or ``TERM`` is ``dumb``."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR", "") != "" or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (ValueError, AttributeError):
        return False
