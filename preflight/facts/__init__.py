"""Facts: the explicit list of everything the checks can ask the snapshot for."""

from preflight.facts.activity import ACTIVITY
from preflight.facts.base import (
    ConnectOutcome,
    Fact,
    FactContext,
    FactUnavailable,
    ProbeFact,
    ServerInfo,
    Snapshot,
    SqlFact,
)
from preflight.facts.objects import NOT_REPLICATED
from preflight.facts.plugin_probe import PLUGIN_PROBE
from preflight.facts.plugins import PLUGIN_SUPPORT
from preflight.facts.provider_signals import PROVIDER_SIGNALS
from preflight.facts.publications import PUBLICATIONS
from preflight.facts.replication import SLOTS, WALSENDERS
from preflight.facts.replication_probe import REPLICATION_PROBE
from preflight.facts.roles import ROLE
from preflight.facts.selection import SCHEMAS, TABLES
from preflight.facts.server import PENDING_SETTINGS, SERVER, SETTINGS
from preflight.facts.wal import WAL_STATS

_ALL: list[Fact] = [
    SERVER,
    SETTINGS,
    PENDING_SETTINGS,
    SLOTS,
    WALSENDERS,
    PROVIDER_SIGNALS,
    SCHEMAS,
    TABLES,
    ROLE,
    REPLICATION_PROBE,
    NOT_REPLICATED,
    WAL_STATS,
    PUBLICATIONS,
    PLUGIN_SUPPORT,
    PLUGIN_PROBE,
    ACTIVITY,
]
FACTS: dict[str, Fact] = {f.name: f for f in _ALL}

__all__ = [
    "FACTS",
    "ConnectOutcome",
    "Fact",
    "FactContext",
    "FactUnavailable",
    "ProbeFact",
    "ServerInfo",
    "Snapshot",
    "SqlFact",
]
