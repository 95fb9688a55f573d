"""Connecting: the DSN and its masking (``dsn``), the safe session (``session``), and connection
failures in plain words (``failures``)."""

from preflight.connection.dsn import MASK, Dsn, DsnError, parse_dsn, scrub, scrub_unparsed
from preflight.connection.failures import ConnectFailure, classify
from preflight.connection.session import APPLICATION_NAME, connect_kwargs, open_session, session_kwargs

__all__ = [
    "APPLICATION_NAME",
    "MASK",
    "ConnectFailure",
    "Dsn",
    "DsnError",
    "classify",
    "connect_kwargs",
    "open_session",
    "parse_dsn",
    "scrub",
    "scrub_unparsed",
    "session_kwargs",
]
