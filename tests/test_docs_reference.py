"""The generated reference (docs/reference.md, docs/cli.md) is the code's own words: stale, it fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_generated_reference_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("reference", ROOT / "docs" / "reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path, build in module.GENERATED.items():
        assert path.read_text(encoding="utf-8") == build(), f"{path.name} is stale: run 'python docs/reference.py'"


def test_the_reference_names_every_check_and_exit_code() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for code in ("wal_level_not_logical", "no_select", "connect_{kind}", "waiver_expired", "waiver_unmatched"):
        assert f"`{code}`" in text
    assert "| 4 | could not check" in text
