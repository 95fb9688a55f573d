"""DSN parsing and masking, the safe session, and plain-words classification of connection failures.

The session is read-only (psycopg opens every transaction with ``BEGIN READ ONLY``; the server's
own ``default_transaction_read_only`` stays visible to the writer check), bounded by ``statement_timeout``,
``lock_timeout`` and ``connect_timeout``, named ``application_name=pg-preflight`` and runs with an
empty ``search_path`` so that only schema-qualified catalog names resolve.
"""

from __future__ import annotations

import configparser
import math
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

APPLICATION_NAME = "pg-preflight"
MASK = "***"
_URI_PREFIXES = ("postgresql://", "postgres://")


class DsnError(ValueError):
    """A DSN that libpq cannot parse. The message never contains the password."""


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN: what the user gave (``None`` = libpq environment) and its parameters."""

    raw: str | None
    params: dict[str, str]

    @property
    def is_uri(self) -> bool:
        return bool(self.raw) and str(self.raw).startswith(_URI_PREFIXES)

    def secrets(self) -> list[str]:
        """Every password this run could know: scrubbed from all output as a last line of defence."""
        found = [self.params.get("password", ""), os.environ.get("PGPASSWORD", "")]
        service = self.params.get("service") or os.environ.get("PGSERVICE")
        if service:
            found += _service_passwords(service)
        return [s for s in found if s]

    def effective(self) -> dict[str, str]:
        """The parameters libpq will use: the DSN's, else the environment's, else compiled defaults."""
        values: dict[str, str] = {}
        for option in psycopg.pq.Conninfo.get_defaults():
            if option.val is not None:
                values[option.keyword.decode()] = option.val.decode()
        values.update(self.params)
        return values

    def masked(self) -> str:
        """The DSN for display: the password replaced by ``***``, in the user's own style."""
        params = {k: (MASK if k == "password" else v) for k, v in self.params.items()}
        if not self.raw:
            shown = {k: v for k, v in self.effective().items() if k in ("host", "port", "dbname", "user")}
            return make_conninfo(**shown)
        if not self.is_uri:
            return make_conninfo(**params)
        return _to_uri(params)


def _service_passwords(service: str) -> list[str]:
    """Passwords a libpq service file may supply for ``service`` (only ever used for scrubbing)."""
    files = [os.environ.get("PGSERVICEFILE") or os.path.expanduser("~/.pg_service.conf")]
    if os.environ.get("PGSYSCONFDIR"):
        files.append(os.path.join(os.environ["PGSYSCONFDIR"], "pg_service.conf"))
    found = []
    for name in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(name, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        if parser.has_option(service, "password"):
            found.append(parser.get(service, "password"))
    return found


def _to_uri(params: dict[str, str]) -> str:
    rest = dict(params)
    user, password = rest.pop("user", None), rest.pop("password", None)
    host, port, dbname = rest.pop("host", ""), rest.pop("port", None), rest.pop("dbname", None)
    auth = ""
    if user is not None:
        auth = quote(user, safe="")
        if password is not None:
            auth += ":" + password
        auth += "@"
    netloc = ",".join(quote(h, safe="[]:") for h in host.split(",")) if host and "/" not in host else ""
    if host and "/" in host:
        rest["host"] = host
    if port and netloc and "," not in port:
        netloc += ":" + port
    elif port:
        rest["port"] = port
    path = "/" + quote(dbname, safe="") if dbname else ""
    query = "?" + urlencode(rest) if rest else ""
    return f"postgresql://{auth}{netloc}{path}{query}"


def parse_dsn(raw: str | None) -> Dsn:
    """Parse with libpq's own rules (psycopg's conninfo helpers), never with regexes."""
    if raw is None or raw.strip() == "":
        return Dsn(None, {})
    try:
        params = conninfo_to_dict(raw)
    except psycopg.ProgrammingError as exc:
        raise DsnError(f"invalid DSN: {scrub_unparsed(str(exc).strip(), raw)}") from None
    parsed = {k: str(v) for k, v in params.items() if v is not None}
    for port in parsed.get("port", "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise DsnError(f"invalid DSN: port {port!r} is not a number from 1 to 65535")
    return Dsn(raw, parsed)


def scrub_unparsed(text: str, raw: str) -> str:
    """Remove from ``text`` every word of a DSN we could not parse (it may hold a password)."""
    for token in sorted(set(raw.replace("@", " ").replace(":", " ").replace("=", " ").split()), key=len, reverse=True):
        if len(token) >= 3 and token in text and token.lower() not in _SAFE_WORDS:
            text = text.replace(token, MASK)
    return text


_SAFE_WORDS = {"password", "host", "port", "dbname", "user", "sslmode", "postgresql", "postgres"}


MIN_SCRUB_LENGTH = 4  # shorter "secrets" would shred ordinary words; they are never printed anyway


def scrub(text: str, secrets: list[str]) -> str:
    """Replace every known secret in ``text`` (a last line of defence: no code path prints one)."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= MIN_SCRUB_LENGTH:
            text = text.replace(secret, MASK)
    return text


def session_kwargs(connect_timeout: float, statement_timeout: float, lock_timeout: float) -> dict[str, Any]:
    """Connection parameters that make the session safe from its first statement, at no round trip."""
    stmt_ms, lock_ms = int(statement_timeout * 1000), int(lock_timeout * 1000)
    settings = {
        "statement_timeout": stmt_ms,
        "lock_timeout": lock_ms,
        "idle_in_transaction_session_timeout": max(stmt_ms * 2, 60000),
        "search_path": "",
    }
    return {
        "connect_timeout": max(1, math.ceil(connect_timeout)),
        "application_name": APPLICATION_NAME,
        "options": " ".join(f"-c {name}={value}" for name, value in settings.items()),
    }


def connect_kwargs(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> dict[str, Any]:
    """``session_kwargs`` for this DSN: the user's own ``options`` are kept, ours appended (ours win)."""
    kwargs = session_kwargs(connect_timeout, statement_timeout, lock_timeout)
    user_options = dsn.params.get("options")
    if user_options:
        kwargs["options"] = user_options + " " + kwargs["options"]
    return kwargs


def open_session(dsn: Dsn, connect_timeout: float, statement_timeout: float, lock_timeout: float) -> psycopg.Connection[Any]:
    """Open the read-only session. Raises psycopg.OperationalError on failure (see ``classify``)."""
    kwargs = connect_kwargs(dsn, connect_timeout, statement_timeout, lock_timeout)
    conn = psycopg.connect(dsn.raw or "", autocommit=False, prepare_threshold=None, **kwargs)
    conn.read_only = True
    return conn


@dataclass(frozen=True)
class ConnectFailure:
    """A connection failure in plain words: its kind, what happened, and what to do."""

    kind: str
    message: str
    advice: str
    detail: str


# (kind, substrings of libpq's message, plain words, what to do). Connection-time failures reach
# psycopg with no SQLSTATE, so the message text is all there is; the order matters.
_FAILURES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("dns", ("could not translate host name", "Name or service not known", "nodename nor servname"),
     "the host name could not be resolved (DNS)",
     "Check the host name for typos, and that this machine's resolver can see it (VPN, private DNS zone)."),
    ("pg_hba", ("no pg_hba.conf entry", "pg_hba.conf rejects connection"),
     "the server refused this client in pg_hba.conf",
     "Add a pg_hba.conf line for this user, database and client address (or the provider's allow-list), then reload."),
    ("authentication", ("password authentication failed", "authentication failed", "no password supplied",
                        "password is required", "Peer authentication failed", "Ident authentication failed"),
     "authentication failed for this user",
     "Check the user name and password (DSN, PGPASSWORD, ~/.pgpass or the service file)."),
    ("unknown_role", ("role \"",),
     "the login role does not exist on this server",
     "Create the role or fix the user name in the DSN."),
    ("unknown_database", ("database \"",),
     "the database does not exist on this server",
     "Fix the database name in the DSN (list them with \\l in psql)."),
    ("too_many_connections", ("too many clients", "remaining connection slots are reserved", "too many connections"),
     "the server has no free connection slot",
     "Close idle sessions or raise max_connections (restart); a pooler cannot carry replication connections."),
    ("tls", ("SSL", "ssl", "certificate", "GSSAPI", "TLS"),
     "the TLS/SSL negotiation failed",
     "Match sslmode to the server (require/verify-full need SSL on the server; check sslrootcert for verify-*)."),
    ("refused", ("Connection refused", "No such file or directory", "could not connect to server"),
     "nothing accepts connections at this address and port",
     "Check the host and port, that PostgreSQL is running and listens there (listen_addresses), and firewalls."),
    ("timeout", ("timeout expired", "timed out", "Connection timed out"),
     "the server did not answer within the connect timeout",
     "Check network reachability (firewall, security group, VPN) or raise --connect-timeout."),
    ("server_unavailable", ("the database system is starting up", "the database system is shutting down",
                            "the database system is in recovery mode", "not yet accepting connections"),
     "the server is not accepting connections right now (starting, stopping or recovering)",
     "Wait for the server to finish starting or recovering, then retry."),
    ("unreachable", ("Network is unreachable", "No route to host", "Host is unreachable"),
     "there is no network route to the host",
     "Check the network path from this machine to the server (VPN, routing, security groups)."),
]


def classify(exc: BaseException, secrets: list[str]) -> ConnectFailure:
    """Turn a connection error into a ``ConnectFailure``; the detail is scrubbed of secrets."""
    text = scrub(str(exc).strip() or type(exc).__name__, secrets)
    for kind, needles, message, advice in _FAILURES:
        if any(n in text for n in needles):
            if kind == "unknown_role" and "does not exist" not in text:
                continue
            if kind == "unknown_database" and "does not exist" not in text:
                continue
            return ConnectFailure(kind, message, advice, text)
    return ConnectFailure("other", "the connection failed", "Read the server's message below.", text)
