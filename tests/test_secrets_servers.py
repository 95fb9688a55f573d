"""The password never appears in output: given in the DSN, in PGPASSWORD or in a service file,
right or wrong, in every format, on stdout, stderr and in written files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from preflight.pgserver import free_port
from preflight.reports import FORMATS
from tests.conftest import PLUMBING, run_cli
from tests.servers import CDC_PASSWORD, Server, add_cdc_role

WRONG = "Wr0ng-But-Secret-55"

pytestmark = PLUMBING  # masking is the client's: libpq and the renderers, whatever the server


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


def test_password_equal_to_other_values_hides_only_itself(tmp_path: Path, logical_server: Server) -> None:
    """The password ``postgres`` is masked as the DSN's password field, never as the word elsewhere:
    the URI scheme and the owner role "postgres" in the SQL stay intact."""
    logical_server.execute("DROP ROLE IF EXISTS weak", "CREATE ROLE weak LOGIN REPLICATION PASSWORD 'postgres'",
                           "CREATE TABLE IF NOT EXISTS public.weak_owned (i int PRIMARY KEY)")
    port = logical_server.port  # type: ignore[attr-defined]
    text = outputs_of(tmp_path, [f"postgresql://weak:postgres@127.0.0.1:{port}/postgres", "--schema", "public"])
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["target"]["dsn"] == f"postgresql://weak:***@127.0.0.1:{port}/postgres"
    assert "***ql" not in text and '"***"' not in text
    script = (tmp_path / "out.sql").read_text()
    assert 'ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA "public" GRANT SELECT ON TABLES TO "weak";' in script


@pytest.mark.parametrize("option", ["sslpassword", "oauth_client_secret"])
def test_every_secret_option_is_masked(tmp_path: Path, logical_server: Server, option: str) -> None:
    secret = f"Other-Secret-{option}-31"
    dsn = f"{logical_server.dsn(user='cdc', password=None)} {option}={secret}"
    add_cdc_role(logical_server)
    text = outputs_of(tmp_path, [dsn], env={"PGPASSWORD": CDC_PASSWORD})
    assert secret not in text
    assert f"{option}=***" in json.loads((tmp_path / "out.json").read_text())["target"]["dsn"]


def test_fleet_and_snapshot_show_no_secret(tmp_path: Path, logical_server: Server) -> None:
    secret = "Sslpass-Fleet-Secret-8"
    add_cdc_role(logical_server)
    dsn = logical_server.dsn(user="cdc", password=CDC_PASSWORD)
    uri = f"postgresql://cdc:{CDC_PASSWORD}@127.0.0.1:{logical_server.port}/postgres?sslpassword={secret}"  # type: ignore[attr-defined]
    (tmp_path / "fleet.txt").write_text(f"a={uri}\n")
    fleet = run_cli("fleet", "--dsn-file", str(tmp_path / "fleet.txt"), "--output-dir", str(tmp_path / "out"))
    snapshot = tmp_path / "snap.json"
    saved = run_cli("check", dsn + f" sslpassword={secret}", "--save-snapshot", str(snapshot), "-f", "json")
    everything = fleet.output + saved.output + snapshot.read_text() + (tmp_path / "out" / "a.json").read_text()
    for hidden in (secret, CDC_PASSWORD):
        assert hidden not in everything


def test_malformed_dsn_shows_the_typo_and_masks_only_the_secret() -> None:
    secret = "Typo-Secret-66"
    typo = run_cli("check", f"host=127.0.0.1 user=cdc password={secret} pasword {secret}x")
    assert typo.exit_code == 2
    assert typo.stderr.strip() == 'pg-preflight: error: invalid DSN: missing "=" after "pasword" in connection info string'
    echoed = run_cli("check", f"postgresql://cdc:{secret}@[::1/db")
    assert echoed.exit_code == 2 and secret not in echoed.output
    assert "must be percent-encoded" in echoed.stderr and "the text after the user and password: '[::1/db'" in echoed.stderr
