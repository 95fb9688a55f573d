"""The DSN as the user gave it: parsed by libpq's rules, masked for display, and its secrets listed."""

from __future__ import annotations

import configparser
import os
import re
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "***"
_URI_PREFIXES = ("postgresql://", "postgres://")

# libpq marks a secret option with the display character "*" (PQconndefaults); the named ones are
# kept too, in case an older libpq does not know them yet.
SECRET_OPTIONS = frozenset(
    {option.keyword.decode() for option in psycopg.pq.Conninfo.get_defaults() if option.dispchar == b"*"}
    | {"password", "sslpassword", "oauth_client_secret"}
)
# What a displayed DSN may show: where it points and how it connects. Anything else (options,
# passfile, debug keys, unknown future ones) is left out rather than risked.
SHOWN_OPTIONS = ("host", "hostaddr", "port", "dbname", "user", "service", "sslmode", "sslnegotiation", "sslrootcert",
                 "sslcert", "sslkey", "gssencmode", "channel_binding", "require_auth", "target_session_attrs",
                 "load_balance_hosts", "connect_timeout", "application_name", "replication")

# Options libpq only validates when it connects: checked first, so a typo is a usage error, not a
# connection (e.g. TLS) failure. Values as documented for libpq 17.
_CHOICES = {
    "sslmode": ("disable", "allow", "prefer", "require", "verify-ca", "verify-full"),
    "gssencmode": ("disable", "prefer", "require"),
    "channel_binding": ("disable", "prefer", "require"),
    "sslnegotiation": ("postgres", "direct"),
    "sslcertmode": ("disable", "allow", "require"),
    "target_session_attrs": ("any", "read-write", "read-only", "primary", "standby", "prefer-standby"),
    "load_balance_hosts": ("disable", "random"),
}
_INTEGERS = ("connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
             "tcp_user_timeout")
_INTEGER = re.compile(r"^\s*[-+]?\d+\s*$")


class DsnError(ValueError):
    """A DSN that libpq cannot parse or use. The message never contains a secret."""


@dataclass(frozen=True)
class Dsn:
    """A parsed DSN: what the user gave (``None`` = libpq environment) and its parameters."""

    raw: str | None
    params: dict[str, str]

    @property
    def is_uri(self) -> bool:
        return bool(self.raw) and str(self.raw).startswith(_URI_PREFIXES)

    def secrets(self) -> list[str]:
        """Every secret this run could know (DSN, environment, service file), for ``scrub`` only.

        A secret equal to a value the report shows anyway (a password ``postgres`` for the user
        ``postgres``) is left out: masking that user name in an error text would reveal the password.
        """
        effective = self.effective()
        found = {v for k, v in effective.items() if k in SECRET_OPTIONS}
        service = self.params.get("service") or os.environ.get("PGSERVICE")
        if service:
            found.update(_service_secrets(service))
        # what the report shows: the displayed DSN's fields, and the target's host, port, user and dbname
        shown = {v for k, v in self._displayed().items() if k not in SECRET_OPTIONS}
        shown |= {v for k, v in effective.items() if k in ("host", "port", "user", "dbname")}
        return sorted((s for s in found - shown if s), key=len, reverse=True)

    def effective(self) -> dict[str, str]:
        """The parameters libpq will use: the DSN's, else the environment's, else compiled defaults."""
        values: dict[str, str] = {}
        for option in psycopg.pq.Conninfo.get_defaults():
            if option.val is not None:
                values[option.keyword.decode()] = option.val.decode()
        values.update(self.params)
        return values

    def masked(self) -> str:
        """The DSN for display, in the user's own style: only ``SHOWN_OPTIONS``, each secret given as ``***``.

        Built field by field from the parsed parameters, never by replacing text, so a secret that
        equals another value (a password ``postgres``) hides nothing else and reveals nothing.
        """
        params = {k: (MASK if k in SECRET_OPTIONS else v) for k, v in self._displayed().items()}
        return _to_uri(params) if self.is_uri else make_conninfo(**params)

    def _displayed(self) -> dict[str, str]:
        """The fields ``masked`` shows (secrets still in clear: callers mask them)."""
        source = self.params if self.raw else {k: v for k, v in self.effective().items()
                                               if k in ("host", "port", "dbname", "user")}
        return {k: v for k, v in source.items() if k in SHOWN_OPTIONS or k in SECRET_OPTIONS}

    def validate(self) -> None:
        """Raise ``DsnError`` for an option value libpq would reject only when connecting (DSN or PG* environment)."""
        envvars = {o.keyword.decode(): (o.envvar or b"").decode() for o in psycopg.pq.Conninfo.get_defaults()}
        for key, value in self.effective().items():
            where = "invalid DSN" if key in self.params else f"invalid {envvars.get(key) or key} environment variable"
            if key in _CHOICES and value not in _CHOICES[key]:
                raise DsnError(f"{where}: {key} {value!r} is not one of {', '.join(_CHOICES[key])}")
            if key in _INTEGERS and value != "" and not _INTEGER.match(value):
                raise DsnError(f"{where}: {key} {value!r} is not a whole number")


def _service_secrets(service: str) -> list[str]:
    """Secrets a libpq service file may supply for ``service`` (only ever used for scrubbing)."""
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
        if parser.has_section(service):
            found += [value for key, value in parser.items(service) if key in SECRET_OPTIONS]
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
    query = "?" + urlencode(rest, safe="*") if rest else ""
    return f"postgresql://{auth}{netloc}{path}{query}"


# A URI whose password holds a reserved character is split in the wrong place (``p@ss`` makes ``ss@h``
# the host, ``se/cret`` makes ``se`` the port): any text of it in a message may be part of the password.
URI_HINT = ("invalid DSN: the URI cannot be read as user:password@host:port/dbname. A user or password "
            "holding @ : / ? # % or a space must be percent-encoded (@ as %40, : as %3A, / as %2F, ? as %3F, "
            "# as %23, % as %25, space as %20), or give the password in PGPASSWORD or ~/.pgpass")


def _uri_error(raw: str) -> DsnError:
    """``URI_HINT``, quoting only what follows the URI's last ``@`` (the host part: no password can be
    there, however many reserved characters it holds), so a typo in the host still shows."""
    _, at, tail = raw.rpartition("@")
    return DsnError(URI_HINT + (f"; the text after the user and password: {_shorten(tail)!r}" if at and tail else ""))


def parse_dsn(raw: str | None) -> Dsn:
    """Parse with libpq's own rules (psycopg's conninfo helpers), never with regexes, then validate.
    A URI that does not parse cleanly is refused quoting nothing before its last ``@`` (``_uri_error``)."""
    uri = bool(raw) and str(raw).lstrip().startswith(_URI_PREFIXES)
    if raw is None or raw.strip() == "":
        dsn = Dsn(None, {})
    else:
        try:
            params = conninfo_to_dict(raw)
        except psycopg.ProgrammingError as exc:
            if uri:
                raise _uri_error(str(raw)) from None
            raise DsnError(f"invalid DSN: {_shorten(scrub_unparsed(str(exc).strip(), raw))}") from None
        dsn = Dsn(raw, {k: str(v) for k, v in params.items() if v is not None})
    if uri and any(c in dsn.params.get(k, "") for k in ("host", "port") for c in "@#?"):
        raise _uri_error(str(raw))
    for port in dsn.params.get("port", "").split(","):
        if port and not (port.isdigit() and 0 < int(port) < 65536):
            raise _uri_error(str(raw)) if uri else DsnError(f"invalid DSN: port {port!r} is not a number from 1 to 65535")
    dsn.validate()
    return dsn


MAX_MESSAGE = 300


def _shorten(text: str) -> str:
    """libpq quotes the offending token whole; a 100k-character one becomes its ends."""
    return text if len(text) <= MAX_MESSAGE else f"{text[:MAX_MESSAGE // 2]}...{text[-MAX_MESSAGE // 2:]}"


# A secret's value in text libpq could not parse: ``password=VALUE`` (quoted or not), in key=value
# form or a URI query, and the password of a URI's user:password@.
_UNPARSED_SECRET = re.compile(
    r"(?:^|[\s?&])(?:{})\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)".format("|".join(sorted(SECRET_OPTIONS))))
_URI_PASSWORD = re.compile(r"^postgres(?:ql)?://[^/?#@]*?:([^/?#]*)@")


def scrub_unparsed(text: str, raw: str) -> str:
    """Mask in libpq's message the secrets of a DSN it could not parse, and nothing else (the typo stays)."""
    found = [m.group(1) for m in _UNPARSED_SECRET.finditer(raw)]
    found += [v.strip("'") for v in found]
    uri = _URI_PASSWORD.match(raw)
    if uri:
        found.append(uri.group(1))
    return scrub(text, [s for s in found if s], min_length=1)


MIN_SCRUB_LENGTH = 4  # shorter "secrets" would shred ordinary words; they are never printed anyway


def scrub(text: str, secrets: list[str], min_length: int = MIN_SCRUB_LENGTH) -> str:
    """Mask every known secret in a server's or libpq's error text: the safety net for a message that
    echoes the DSN. Never applied to SQL, names or rendered reports.

    Only whole words are masked: a password ``postgres`` leaves ``postgresql`` and ``postgres_fdw`` alone.
    """
    for secret in sorted(set(secrets), key=len, reverse=True):
        if len(secret) >= min_length:
            before = r"(?<!\w)" if re.match(r"\w", secret[0]) else ""
            after = r"(?!\w)" if re.match(r"\w", secret[-1]) else ""
            text = re.sub(before + re.escape(secret) + after, MASK, text)
    return text
