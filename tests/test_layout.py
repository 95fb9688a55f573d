"""The layout: top-level checks/ and reports/ in the repo, one import package (``preflight``) installed.

``preflight/checks`` and ``preflight/reports`` are symlinks to the top-level folders (docs/layout.md).
Proven here: the wheel, the editable install, and ``python -m preflight`` beside a ``checks.py``.
``mypy --strict`` is proven by tests/test_quality.py, and ``python -m pytest`` from the repo root by
this suite running at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
GROUP = "pg_preflight.checks"
NOT_SOURCES = shutil.ignore_patterns(".venv", "venv", ".git", "build", "dist", "*.egg-info", "__pycache__",
                                     ".*_cache", ".hypothesis", "tests", "bench", "docs")


def modules(folder: str) -> set[str]:
    return {p.name for p in (ROOT / folder).glob("*.py")}


def declared_builtins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return dict(project["entry-points"][GROUP])


def test_the_package_folders_are_symlinks_to_the_top_level_ones() -> None:
    for name in ("checks", "reports"):
        link = ROOT / "preflight" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (the build leaves build/ and *.egg-info behind)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    shutil.copytree(ROOT, source, symlinks=True, ignore=NOT_SOURCES)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "out"), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [built] = (tmp / "out").glob("pg_preflight-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_installs_one_import_package_with_the_checks_and_reports_inside(wheel: zipfile.ZipFile) -> None:
    names = wheel.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"preflight"}
    assert {n.rpartition("/")[2] for n in names if n.startswith("preflight/checks/")} == modules("checks")
    assert {n.rpartition("/")[2] for n in names if n.startswith("preflight/reports/")} == modules("reports")
    dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/RECORD"))
    assert wheel.read(f"{dist_info}/top_level.txt").decode().split() == ["preflight"]


def test_the_wheel_registers_every_builtin_through_the_entry_point_group(wheel: zipfile.ZipFile) -> None:
    text = next(wheel.read(n).decode() for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt"))
    section = text.split(f"[{GROUP}]", 1)[1].split("\n[", 1)[0]
    found = dict(line.split(" = ") for line in section.strip().splitlines())
    assert found == declared_builtins()
    assert all(target.startswith("preflight.checks.") for target in found.values())


def test_the_editable_install_finds_the_builtins_in_the_repo_folders() -> None:
    installed = {e.name: e for e in entry_points(group=GROUP)}
    assert {name: e.value for name, e in installed.items() if name in declared_builtins()} == declared_builtins()
    for entry in installed.values():
        if entry.name in declared_builtins():
            check = entry.load()
            source = Path(sys.modules[check.__module__].__file__ or "")
            assert source.resolve().parent == (ROOT / "checks").resolve(), (entry.name, source)
    script = Path(sys.executable).parent / "pg-preflight"
    proc = subprocess.run([str(script), "list-checks"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert set(declared_builtins()) <= listed


def test_python_m_preflight_works_beside_a_checks_py_and_a_reports_py(tmp_path: Path) -> None:
    for name in ("checks.py", "reports.py"):
        (tmp_path / name).write_text("raise SystemExit('the folder ' + __file__ + ' was imported')\n")
    proc = subprocess.run([sys.executable, "-m", "preflight", "list-checks"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = {line.split()[0] for line in proc.stdout.splitlines()[1:] if line.strip()}
    assert set(declared_builtins()) <= listed
