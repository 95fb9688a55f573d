"""Connection failures in plain words: what happened and what to do."""

from __future__ import annotations

import os
from dataclasses import dataclass

import psycopg

from preflight.connection.dsn import Dsn, scrub


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
    # a pooler's own refusals (PgBouncer, Supavisor): said before the server-side kinds they resemble
    ("pooler", ("no more connections allowed (max_client_conn)", "pgbouncer cannot connect to server",
                "query_wait_timeout", "server login failed", "unsupported startup parameter", "no such database:",
                "pooler error", "Tenant or user not found", "client_login_timeout", "server conn crashed"),
     "a connection pooler in front of the server refused the session",
     "Read the pooler's message below (its pool limits, its [databases] entry, its auth_file); for CDC, connect "
     "to the database server directly rather than through a pooler."),
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


# Every kind ``classify`` can give, with its plain words and advice (the reachability check declares a code per kind).
OTHER = ("other", "the connection failed", "Read the server's message below.")
KINDS: tuple[tuple[str, str, str], ...] = (*((kind, message, advice) for kind, _, message, advice in _FAILURES), OTHER)


def classify(exc: BaseException, secrets: list[str], dsn: Dsn | None = None) -> ConnectFailure:
    """Turn a connection error into a ``ConnectFailure``; the detail is scrubbed of secrets.

    With no DSN at all (no argument, no PG* variable) the message says so first, then what libpq tried.
    """
    text = scrub(str(exc).strip() or type(exc).__name__, secrets)
    failure = ConnectFailure(*OTHER, text)
    for kind, needles, message, advice in _FAILURES:
        if any(n in text for n in needles):
            if kind in ("unknown_role", "unknown_database") and "does not exist" not in text:
                continue
            failure = ConnectFailure(kind, message, advice, text)
            break
    if dsn is not None and no_dsn_given(dsn):
        tried = dsn.masked() or "libpq's compiled-in defaults"
        failure = ConnectFailure(failure.kind, f"no DSN was given (no argument, --request, config dsn or PG* "
                                 f"environment variable), so libpq's defaults were tried ({tried}): {failure.message}",
                                 "Give a DSN: pg-preflight check postgresql://USER@HOST:PORT/DBNAME (or set PGHOST, "
                                 "PGUSER, ...).", text)
    return failure


def no_dsn_given(dsn: Dsn) -> bool:
    """Neither a DSN nor any libpq environment variable: libpq falls back to its compiled-in defaults."""
    variables = [o.envvar.decode() for o in psycopg.pq.Conninfo.get_defaults() if o.envvar]
    return dsn.raw is None and not any(os.environ.get(name) for name in variables)
