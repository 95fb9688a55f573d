"""The import graph keeps the layers: cli on top, then runner/registry (and the public API), then checks
and reports, then the engine in three layers: judging (the check context, remediation, suggestions), facts
(reading the server into row models), plumbing (names, text, files, models, options, connection). No import
runs back up and no import runs in a circle.

The graph is parsed with ``ast`` by docs/import_graph.py (which also prints it), so every import counts:
module level, inside functions and under ``TYPE_CHECKING``.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
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

CLI, API, PLUGINS, JUDGING, FACTS, PLUMBING = 0, 1, 2, 3, 4, 5  # top to bottom
ENGINE = (JUDGING, FACTS, PLUMBING)
LAYER_NAMES = {CLI: "cli", API: "api", PLUGINS: "checks and reports", JUDGING: "judging", FACTS: "facts",
               PLUMBING: "plumbing"}
# The engine modules above the facts: they read facts (row models, the snapshot) to judge or to suggest. Every
# other engine module outside preflight.facts is plumbing, and may import no fact.
JUDGING_MODULES = {"preflight.check", "preflight.remediation", "preflight.standby", "preflight.suggest",
                   "preflight.config"}
FACTS_MODULES = {"preflight.snapshot_io"}  # besides the preflight.facts package
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
    if module in JUDGING_MODULES:
        return JUDGING
    if in_package(module, "preflight.facts") or module in FACTS_MODULES:
        return FACTS
    return PLUMBING


def circles(graph: Graph) -> list[list[str]]:
    """Every group of modules that import each other, directly or not (strongly connected components)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def violations(graph: Graph) -> list[str]:
    """Every import that runs back up, or across from a check to a format (or the other way)."""
    found: list[str] = []
    for module, imported in graph.items():
        for target in sorted(imported):
            if layer(target) < layer(module):
                found.append(f"{module} -> {target}: imports a higher layer "
                             f"({LAYER_NAMES[layer(module)]} imports {LAYER_NAMES[layer(target)]})")
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


def test_no_import_runs_in_a_circle(graph: Graph) -> None:
    assert circles(graph) == []


def test_a_circle_is_found_through_any_number_of_modules() -> None:
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_engine_names_no_check_format_runner_or_cli(graph: Graph) -> None:
    engine = {m: i for m, i in graph.items() if layer(m) in ENGINE}
    assert {"preflight.models", "preflight.facts", "preflight.check", "preflight.connection"} <= set(engine)
    assert {m: sorted(t for t in i if layer(t) not in ENGINE) for m, i in engine.items()
            if any(layer(t) not in ENGINE for t in i)} == {}


def test_the_engine_has_its_three_layers(graph: Graph) -> None:
    """Each engine layer holds the modules it is named for (a rename would otherwise empty a layer silently)."""
    assert {m for m in graph if layer(m) == JUDGING} == JUDGING_MODULES
    assert {"preflight.facts.base", "preflight.facts.gather", "preflight.snapshot_io"} <= {
        m for m in graph if layer(m) == FACTS}
    assert {"preflight.names", "preflight.options", "preflight.models", "preflight.connection.session",
            "preflight.sqltext"} <= {m for m in graph if layer(m) == PLUMBING}


def loaded_by_import(module: str) -> set[str]:
    """The package's modules a fresh interpreter has loaded after ``import module``."""
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.split('.')[0] == 'preflight'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return set(out.stdout.split())


def what_import_may_load(graph: Graph, module: str) -> set[str]:
    """``module``, what it imports (transitively), and the packages holding them (Python runs their
    ``__init__`` first), with what those import. The top package's own imports are for type checkers only
    (its public names load on first use), so they are not followed."""
    allowed: set[str] = {"preflight"}
    todo = [module]
    while todo:
        current = todo.pop()
        if current in allowed:
            continue
        allowed.add(current)
        todo.extend(graph.get(current, ()))
        parts = current.split(".")
        todo.extend(".".join(parts[:n]) for n in range(1, len(parts)))
    return allowed


@pytest.mark.parametrize("module", ["preflight.names", "preflight.sqltext", "preflight.models",
                                    "preflight.options", "preflight.connection.session", "preflight.facts.base"])
def test_importing_a_module_loads_only_what_it_imports(graph: Graph, module: str) -> None:
    """No package ``__init__`` loads more than its own imports: the top package loads its public names lazily."""
    loaded = loaded_by_import(module)
    assert module in loaded
    assert loaded <= what_import_may_load(graph, module)
    assert {m: LAYER_NAMES[layer(m)] for m in loaded - {"preflight"} if layer(m) < layer(module)} == {}


def test_importing_the_names_module_loads_nothing_else_of_the_package() -> None:
    assert loaded_by_import("preflight.names") == {"preflight", "preflight.names"}


def test_the_public_names_load_on_first_use() -> None:
    import preflight

    assert sorted(preflight.__all__) == sorted(preflight._PUBLIC)
    assert {name: getattr(preflight, name).__module__ for name in ("Options", "run_preflight", "Finding")} == {
        "Options": "preflight.options", "run_preflight": "preflight.runner", "Finding": "preflight.models"}
    with pytest.raises(AttributeError):
        _ = preflight.no_such_name


def test_what_reports_may_import_is_a_closed_set_of_leaves(graph: Graph) -> None:
    assert {m: graph[m] - REPORT_DEPENDENCIES for m in REPORT_DEPENDENCIES} == {m: set() for m in REPORT_DEPENDENCIES}


@pytest.mark.parametrize(("edge", "why"), [
    (("preflight.models", "preflight.cli.main"), "higher layer"),
    (("preflight.facts.gather", "preflight.checks.grants"), "higher layer"),
    (("preflight.checks.grants", "preflight.registry"), "higher layer"),
    (("preflight.runner", "preflight.cli"), "higher layer"),
    (("preflight.options", "preflight.facts.base"), "plumbing imports facts"),
    (("preflight.facts.selection", "preflight.check"), "facts imports judging"),
    (("preflight.names", "preflight.suggest"), "plumbing imports judging"),
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
