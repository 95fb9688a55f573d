"""The DSN as the user gave it: parsed by libpq's rules, masked for display, and its secrets listed."""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
