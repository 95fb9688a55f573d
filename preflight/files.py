"""Reading the user's input files (config, profile, request, snapshot, decisions, DSN list, reports)
with one kind of error message: the file and the reason on one line, never a traceback.

Every file is untrusted input (a snapshot attached to a ticket, a request body from another team):
deep nesting that would exhaust Python's recursion, bytes that are not UTF-8 and values of the
wrong type all end as one line.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

MAX_ERRORS_SHOWN = 3


def one_line(text: str) -> str:
    """Several lines as one: the pieces joined with "; ", blank ones dropped."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())


def validation_message(exc: ValidationError) -> str:
    """A pydantic error as one line: ``where: what`` for the first few problems, and how many more."""
    errors = exc.errors(include_url=False)
    parts = [f"{'.'.join(map(str, e['loc'])) or 'value'}: {e['msg']}" for e in errors[:MAX_ERRORS_SHOWN]]
    if len(errors) > MAX_ERRORS_SHOWN:
        parts.append(f"and {len(errors) - MAX_ERRORS_SHOWN} more")
    return one_line("; ".join(parts))


def read_text(path: Path, error: type[ValueError]) -> str:
    """The file's text; ``error(f"{path}: reason")`` when it is missing, a directory, unreadable or not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except IsADirectoryError:
        raise error(f"{path}: is a directory") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None


def read_json(path: Path, error: type[ValueError],
              object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """The file parsed as JSON; ``error`` (one line) for anything wrong, too deep nesting included."""
    text = read_text(path, error)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        raise error(f"{path}: not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise error(f"{path}: not usable JSON: nested too deeply") from None
    except error as exc:  # raised by object_pairs_hook
        raise error(f"{path}: {exc}") from None


def read_toml(path: Path, error: type[ValueError]) -> dict[str, Any]:
    """The file parsed as TOML; ``error`` (one line) for anything wrong, too deep nesting included."""
    text = read_text(path, error)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: invalid TOML: {one_line(str(exc))}") from None
    except RecursionError:
        raise error(f"{path}: not usable TOML: nested too deeply") from None


def validated(path: Path, error: type[ValueError], validate: Callable[[], Any]) -> Any:
    """``validate()``'s result; a pydantic error (or nesting too deep for it) becomes ``error`` naming the file."""
    try:
        return validate()
    except ValidationError as exc:
        raise error(f"{path}: {validation_message(exc)}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply") from None
