"""The import graph keeps the layers: cli on top, then runner/registry (and the public API), then checks
and reports, then the engine (facts, models, connection, ...). No import runs back up.

The graph is parsed with ``ast`` by docs/import_graph.py (which also prints it), so every import counts:
module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import cast

import pytest

ROOT = Path(__file__).parent.parent
Graph = dict[str, set[str]]


def _load_graph_script() -> Callable[[Path], Graph]:
    spec = importlib.util.spec_from_file_location("import_graph", ROOT / "docs" / "import_graph.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[[Path], Graph], module.graph)


build_graph = _load_graph_script()

CLI, API, PLUGINS, ENGINE = 0, 1, 2, 3  # top to bottom
# What a report format may import besides other report modules: the report contract, the
# ``schema.table`` name syntax, and the text helpers (visible escapes, SQL text, the statement values and
# the setting units they write). Together they are a closed set of leaves, shared with the checks.
REPORT_DEPENDENCIES = {"preflight.models", "preflight.names", "preflight.terminal", "preflight.sqltext",
                       "preflight.statements", "preflight.settings"}


def in_package(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer(module: str) -> int:
    if module == "preflight.__main__" or in_package(module, "preflight.cli"):
        return CLI
    if module in ("preflight", "preflight.runner", "preflight.registry", "preflight.cluster"):
        return API
    if in_package(module, "preflight.checks") or in_package(module, "preflight.reports"):
        return PLUGINS
    return ENGINE


def violations(graph: Graph) -> list[str]:
    """Every import that runs back up, or across from a check to a format (or the other way)."""
    found: list[str] = []
    for module, imported in graph.items():
        for target in sorted(imported):
            if layer(target) < layer(module):
                found.append(f"{module} -> {target}: imports a higher layer")
            elif in_package(module, "preflight.checks") and in_package(target, "preflight.reports"):
                found.append(f"{module} -> {target}: a check imports a report format")
            elif in_package(module, "preflight.reports") and not (
                    in_package(target, "preflight.reports") or target in REPORT_DEPENDENCIES):
                found.append(f"{module} -> {target}: a report format imports more than the report contract")
    return found


@pytest.fixture(scope="module")
def graph() -> Graph:
    return build_graph(ROOT)


def test_every_module_is_in_the_graph_checks_and_reports_through_their_symlinks(graph: Graph) -> None:
    on_disk = {p.stem for p in (ROOT / "checks").glob("*.py") if p.stem != "__init__"}
    assert {m.rpartition(".")[2] for m in graph if m.startswith("preflight.checks.")} == on_disk
    formats = {p.stem for p in (ROOT / "reports").glob("*.py") if p.stem != "__init__"}
    assert {m.rpartition(".")[2] for m in graph if m.startswith("preflight.reports.")} == formats
    assert {"preflight", "preflight.cli.main", "preflight.runner", "preflight.facts.gather"} <= set(graph)
    assert not [m for m in graph if m.split(".")[0] != "preflight"]


def test_no_import_runs_back_up(graph: Graph) -> None:
    assert violations(graph) == []


def test_the_engine_names_no_check_format_runner_or_cli(graph: Graph) -> None:
    engine = {m: i for m, i in graph.items() if layer(m) == ENGINE}
    assert {"preflight.models", "preflight.facts", "preflight.check", "preflight.connection"} <= set(engine)
    assert {m: sorted(t for t in i if layer(t) != ENGINE) for m, i in engine.items()
            if any(layer(t) != ENGINE for t in i)} == {}


def test_what_reports_may_import_is_a_closed_set_of_leaves(graph: Graph) -> None:
    assert {m: graph[m] - REPORT_DEPENDENCIES for m in REPORT_DEPENDENCIES} == {m: set() for m in REPORT_DEPENDENCIES}


@pytest.mark.parametrize(("edge", "why"), [
    (("preflight.models", "preflight.cli.main"), "higher layer"),
    (("preflight.facts.gather", "preflight.checks.grants"), "higher layer"),
    (("preflight.checks.grants", "preflight.registry"), "higher layer"),
    (("preflight.runner", "preflight.cli"), "higher layer"),
    (("preflight.checks.grants", "preflight.reports.sql"), "a check imports a report format"),
    (("preflight.reports.json", "preflight.checks.grants"), "more than the report contract"),
    (("preflight.reports.json", "preflight.facts"), "more than the report contract"),
])
def test_each_rule_catches_its_violation(edge: tuple[str, str], why: str) -> None:
    found = violations({edge[0]: {edge[1]}})
    assert len(found) == 1 and why in found[0], found


def test_imports_are_resolved_to_modules(tmp_path: Path) -> None:
    package = tmp_path / "preflight"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from preflight.a import thing\n")
    (package / "a.py").write_text("import json\nfrom . import sub\nfrom .sub import b\nthing = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..a import thing\n"
        "def late():\n    import preflight.sub\n")
    assert build_graph(tmp_path) == {
        "preflight": {"preflight.a"},
        "preflight.a": {"preflight.sub", "preflight.sub.b"},
        "preflight.sub": set(),
        "preflight.sub.b": {"preflight.a", "preflight.sub"},
    }
