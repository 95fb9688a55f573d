"""DSN parsing and masking, failure classification, and the session's parameters (no server needed)."""

from __future__ import annotations

import pytest

from preflight.connection import DsnError, classify, parse_dsn, scrub, session_kwargs


def test_uri_is_masked_in_its_own_style() -> None:
    dsn = parse_dsn("postgresql://cdc:S3cret-pass@db.example.com:6543/app?sslmode=require")
    assert dsn.masked() == "postgresql://cdc:***@db.example.com:6543/app?sslmode=require"
    assert dsn.secrets() == ["S3cret-pass"]


def test_key_value_is_masked() -> None:
    dsn = parse_dsn("host=db user=cdc password='p w s' dbname=app")
    assert "p w s" not in dsn.masked()
    assert "password=***" in dsn.masked()


def test_omitted_dsn_uses_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGHOST", "envhost")
    monkeypatch.setenv("PGPASSWORD", "env-secret-1")
    dsn = parse_dsn(None)
    assert dsn.effective()["host"] == "envhost"
    assert "envhost" in dsn.masked()
    assert "env-secret-1" not in dsn.masked()
    assert "env-secret-1" in dsn.secrets()


@pytest.mark.parametrize("bad", ["host=a port", "postgresql://u:TopSecret99@h:notaport/db", "postgres://[::1"])
def test_bad_dsn_is_a_dsn_error_without_password(bad: str) -> None:
    with pytest.raises(DsnError) as info:
        parse_dsn(bad)
    assert "TopSecret99" not in str(info.value)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        ('could not translate host name "nope" to address: Name or service not known', "dns"),
        ('connection to server at "127.0.0.1", port 1 failed: Connection refused', "refused"),
        ("connection timeout expired", "timeout"),
        ('FATAL:  password authentication failed for user "cdc"', "authentication"),
        ('FATAL:  database "nope" does not exist', "unknown_database"),
        ('FATAL:  role "nope" does not exist', "unknown_role"),
        ('FATAL:  no pg_hba.conf entry for host "1.2.3.4", user "u", database "d", no encryption', "pg_hba"),
        ("FATAL:  sorry, too many clients already", "too_many_connections"),
        ("FATAL:  remaining connection slots are reserved for roles with the SUPERUSER attribute", "too_many_connections"),
        ("server does not support SSL, but SSL was required", "tls"),
        ("FATAL:  the database system is starting up", "server_unavailable"),
        ("something else entirely", "other"),
    ],
)
def test_classify(message: str, kind: str) -> None:
    failure = classify(Exception(message), [])
    assert failure.kind == kind
    assert failure.advice


def test_scrub_never_shreds_short_words() -> None:
    assert scrub("skip skip", ["p"]) == "skip skip"
    assert scrub("the pw is hunter22", ["hunter22"]) == "the pw is ***"


def test_session_kwargs_make_session_safe() -> None:
    kwargs = session_kwargs(10, 30, 5)
    assert kwargs["application_name"] == "pg-preflight"
    assert "-c statement_timeout=30000" in kwargs["options"]
    assert "-c lock_timeout=5000" in kwargs["options"]
    assert "-c search_path=" in kwargs["options"]
    assert kwargs["connect_timeout"] == 10


def test_masked_shows_only_allowed_fields_and_masks_every_secret_option() -> None:
    dsn = parse_dsn("postgresql://u:pw-1@h/db?sslpassword=ssl-2&sslmode=require&options=-c%20x%3Dpw-1")
    assert dsn.masked() == "postgresql://u:***@h/db?sslmode=require&sslpassword=***"
    kv = parse_dsn("host=h user=u oauth_client_id=app oauth_client_secret=oauth-3 passfile=/p")
    assert kv.masked() == "user=u host=h oauth_client_secret=***"


def test_scrub_masks_whole_words_only() -> None:
    assert scrub('FATAL: database "hunter22" does not exist; postgresql://x', ["hunter22", "postgres"]) == \
        'FATAL: database "***" does not exist; postgresql://x'
    assert scrub("x!secret!y", ["!secret!"]) == "x***y"


def test_a_secret_equal_to_a_shown_value_is_not_scrubbed() -> None:
    """Masking the user name "postgres" in an error text would tell the reader the password."""
    assert parse_dsn("host=h user=postgres password=postgres").secrets() == []
    assert parse_dsn("host=h user=u password=postgres").secrets() == ["postgres"]
