"""Fact providers: the explicit list of everything the checks can ask the snapshot for."""

from preflight.facts.base import (
    ConnectOutcome,
    FactContext,
    FactProvider,
    FactUnavailable,
    ProbeFact,
    ServerInfo,
    Snapshot,
    SqlFact,
)
from preflight.facts.replication import SLOTS, WALSENDERS
from preflight.facts.selection import SCHEMAS, TABLES
from preflight.facts.server import PENDING_SETTINGS, SERVER, SETTINGS

PROVIDERS: dict[str, FactProvider] = {
    p.name: p
    for p in [
        SERVER,
        SETTINGS,
        PENDING_SETTINGS,
        SLOTS,
        WALSENDERS,
        SCHEMAS,
        TABLES,
    ]
}

__all__ = [
    "PROVIDERS",
    "ConnectOutcome",
    "FactContext",
    "FactProvider",
    "FactUnavailable",
    "ProbeFact",
    "ServerInfo",
    "Snapshot",
    "SqlFact",
]
