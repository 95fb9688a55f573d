"""The command line: click commands (``main``, ``fleet``, ``diff``, ``decisions``), the option groups
they share (``options``), where renderings go (``output``) and one-line usage errors (``errors``).
Thin: all logic lives in the engine."""

from preflight.cli.main import main, run

__all__ = ["main", "run"]
