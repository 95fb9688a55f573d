"""Property tests: whatever malformed input arrives (DSNs, option values, decisions/config/profile
files), the CLI answers with exit 2 and one line, never a traceback."""

from __future__ import annotations

import json
import string
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preflight.models import ExitCode
from preflight.pgserver import free_port
from tests.conftest import run_cli

CLOSED = f"host=127.0.0.1 port={free_port()} user=u dbname=d password=closed-pw-4 connect_timeout=1"
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_usage_error(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2, (args, result.output)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) >= 1
    assert result.stdout == ""


# a key=value DSN with a bare word (no '=') is always malformed for libpq
bare_word = st.text(alphabet=string.ascii_letters, min_size=1, max_size=12)


@FAST
@given(prefix=st.text(alphabet=string.ascii_letters + "=_ ", max_size=20), word=bare_word)
def test_malformed_dsn(prefix: str, word: str) -> None:
    dsn = f"host=h {prefix.replace('=', '')} {word}".strip()
    result = run_cli("check", dsn)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1


@FAST
@given(st.text(min_size=1, max_size=10).filter(lambda s: not s.strip().lstrip("-").replace(".", "", 1).isdigit()))
def test_bad_numbers(value: str) -> None:
    for option in ("--connect-timeout", "--statement-timeout", "--lock-timeout", "--slots-needed", "--max-xact-age"):
        result = run_cli("check", CLOSED, option, value)
        assert result.exit_code == 2 and "Traceback" not in result.output


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)


@FAST
@given(json_values)
def test_decisions_file_of_any_shape(tmp_path_factory: object, value: object) -> None:
    path = Path(str(tmp_path_factory.mktemp("d"))) / "decisions.json"  # type: ignore[attr-defined]
    path.write_text(json.dumps(value))
    result = run_cli("check", CLOSED, "--decisions", str(path), "--format", "json")
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1 and str(path) in result.stderr
    else:  # only an empty decisions mapping is valid here
        assert value == {"decisions": {}} and result.exit_code == 1


@FAST
@given(st.text(max_size=80))
def test_config_and_profile_files_of_any_text(tmp_path_factory: object, text: str) -> None:
    folder = Path(str(tmp_path_factory.mktemp("c")))  # type: ignore[attr-defined]
    config, profile = folder / "pg-preflight.toml", folder / "mine.toml"
    config.write_text(text)
    profile.write_text(text)
    for args in (["--config", str(config)], ["--profile", str(profile)]):
        result = run_cli("check", CLOSED, *args, "--format", "json")
        assert "Traceback" not in result.output
        assert result.exit_code in (ExitCode.UNREACHABLE, ExitCode.USAGE)  # CLOSED cannot be reached
        if result.exit_code == 2:
            assert result.stderr.count("\n") == 1


def test_unknown_profile_and_provider() -> None:
    assert_usage_error(["check", CLOSED, "--profile", "nonsense"])
    assert_usage_error(["check", CLOSED, "--provider", "oracle-cloud"])
    assert_usage_error(["check", CLOSED, "--profile", "/nonexistent/profile.toml"])
