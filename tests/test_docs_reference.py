"""The generated reference (docs/reference.md, docs/cli.md) is the code's own words: stale, it fails here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from preflight.codes import ENGINE_CODES
from preflight.registry import declared_codes

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
    for code in ("wal_level_not_logical", "no_select", "connect_timeout", "waiver_expired", "waiver_unmatched"):
        assert f"`{code}`" in text
    assert "| 4 | could not check" in text


def test_the_reference_gives_every_declared_code_its_severity_meaning_and_fix() -> None:
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    owners = [*declared_codes(include_plugins=False).values(), *ENGINE_CODES.values()]
    codes = [code for declared in owners for code in declared.values()]
    assert len(codes) > 150
    for code in codes:
        row = f"| `{code.name}` | {code.severity_text()} | {code.meaning.replace('|', chr(92) + '|')} |"
        assert row in text, code.name
    assert "| `slot_predates_publication` | info or warning or error |" in text
