"""Reading the user's input files (config, profile, request, snapshot, DSN list) with one kind of
error message: the file and the reason on one line, never a traceback."""

from __future__ import annotations

from pathlib import Path


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
