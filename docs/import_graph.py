"""Print the import graph of the ``preflight`` package: one line per module, ``module -> imports``.

``python docs/import_graph.py`` from the repository root. Only imports of the package's own modules are
listed (standard library and third-party ones are left out). ``preflight/checks`` and
``preflight/reports`` are symlinks to the top-level ``checks/`` and ``reports/`` folders and are walked
as ``preflight.checks.*`` / ``preflight.reports.*``. Imports inside functions and under
``TYPE_CHECKING`` are listed too: the layering holds for every import, not only the ones run at start.
tests/test_architecture.py asserts the layering on this graph.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

PACKAGE = "preflight"
ROOT = Path(__file__).resolve().parent.parent


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by dotted name (``__init__`` files name their package)."""
    found: dict[str, Path] = {}
    for folder, _, files in os.walk(root / PACKAGE, followlinks=True):
        parts = Path(folder).relative_to(root).parts
        if "__pycache__" in parts:
            continue
        for name in files:
            if name.endswith(".py"):
                stem = name[:-3]
                dotted = ".".join(parts if stem == "__init__" else (*parts, stem))
                found[dotted] = Path(folder) / name
    return found


def _is_package(module: str, files: dict[str, Path]) -> bool:
    return files[module].name == "__init__.py"


def imports_of(module: str, files: dict[str, Path]) -> set[str]:
    """The package's own modules that ``module`` imports (``from a import b`` names ``a.b`` if it is a module)."""
    tree = ast.parse(files[module].read_text(), str(files[module]))
    base = module if _is_package(module, files) else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                origin = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                origin = node.module or ""
            targets = [f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in files else origin
                       for alias in node.names]
        for target in targets:
            while target and target not in files:  # ``import preflight.x.y`` of an attribute: its module
                target = target.rpartition(".")[0]
            if target and target != module:
                out.add(target)
    return out


def graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the package's modules it imports, for every module of the package."""
    files = module_files(root)
    return {module: imports_of(module, files) for module in sorted(files)}


def main() -> int:
    for module, imported in graph().items():
        print(f"{module} -> {', '.join(sorted(imported)) or '(nothing of the package)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
