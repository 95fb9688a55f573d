"""The password never appears in output: given in the DSN, in PGPASSWORD or in a service file,
right or wrong, in every format, on stdout, stderr and in written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.pgserver import free_port
from preflight.reports import FORMATS
from tests.conftest import run_cli
from tests.servers import CDC_PASSWORD, Server, add_cdc_role

WRONG = "Wr0ng-But-Secret-55"


def outputs_of(tmp_path: Path, args: list[str], env: dict[str, str] | None = None) -> str:
    """Everything the CLI shows or writes, every format at once."""
    files = [f"{fmt}:{tmp_path / ('out.' + fmt)}" for fmt in FORMATS]
    result = run_cli("check", *args, *[x for f in files for x in ("-o", f)], "--format", "table", env=env)
    assert "Traceback" not in result.output
    written = "".join((tmp_path / f"out.{fmt}").read_text() for fmt in FORMATS if (tmp_path / f"out.{fmt}").exists())
    assert written, "the formats were written"
    return result.stdout + result.stderr + written


@pytest.mark.parametrize("password", [CDC_PASSWORD, WRONG], ids=["right", "wrong"])
def test_password_in_dsn(tmp_path: Path, logical_server: Server, password: str) -> None:
    add_cdc_role(logical_server)
    text = outputs_of(tmp_path, [logical_server.dsn(user="cdc", password=password)])
    assert password not in text


@pytest.mark.parametrize("password", [CDC_PASSWORD, WRONG], ids=["right", "wrong"])
def test_password_in_environment(tmp_path: Path, logical_server: Server, password: str) -> None:
    add_cdc_role(logical_server)
    text = outputs_of(tmp_path, [logical_server.dsn(user="cdc", password=None)], env={"PGPASSWORD": password})
    assert password not in text


@pytest.mark.parametrize("password", [CDC_PASSWORD, WRONG], ids=["right", "wrong"])
def test_password_in_service_file(tmp_path: Path, logical_server: Server, password: str) -> None:
    add_cdc_role(logical_server)
    service = tmp_path / "pg_service.conf"
    service.write_text(f"[cdcsvc]\nhost=127.0.0.1\nport={logical_server.port}\nuser=cdc\n"  # type: ignore[attr-defined]
                       f"dbname=postgres\npassword={password}\n")
    text = outputs_of(tmp_path, ["service=cdcsvc"], env={"PGSERVICEFILE": str(service)})
    assert password not in text
    reach = json.loads((tmp_path / "out.json").read_text())["checks"][0]
    assert (reach["status"] == "pass") == (password == CDC_PASSWORD)


def test_password_on_error_paths(tmp_path: Path) -> None:
    secret = "Never-Print-Me-77"
    port = free_port()
    for dsn in (f"postgresql://u:{secret}@127.0.0.1:{port}/db",  # refused
                f"postgresql://u:{secret}@no-such-host.invalid/db",  # DNS
                f"host=127.0.0.1 port={port} password={secret} bogus",  # malformed
                f"postgresql://u:{secret}@127.0.0.1:99999/db"):  # bad port
        result = run_cli("check", dsn, "--format", "json", "--connect-timeout", "2")
        assert secret not in result.output
