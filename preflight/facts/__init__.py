"""Facts: the explicit list of everything the checks can ask the snapshot for, each with its row model."""

from preflight.facts.activity import ACTIVITY, ActivityFact, OpenTransaction, PreparedTransaction, XidWatch
from preflight.facts.base import (
    ConnectOutcome,
    Fact,
    FactContext,
    FactUnavailable,
    ProbeFact,
    ProbeStatus,
    Scope,
    ServerInfo,
    Snapshot,
    SqlFact,
)
from preflight.facts.database_activity import DATABASE_ACTIVITY, DatabaseActivityRow
from preflight.facts.databases import DATABASES, DatabaseRow
from preflight.facts.hba import HBA_RULES, HbaLine, HbaRules
from preflight.facts.objects import NOT_REPLICATED, NotReplicatedFact
from preflight.facts.plugin_probe import PLUGIN_PROBE, PluginProbeKind, PluginProbeResult, ProbeBlockers
from preflight.facts.plugins import PLUGIN_SUPPORT, PluginSupport
from preflight.facts.provider_signals import PROVIDER_SIGNALS, ProviderSignals
from preflight.facts.publications import (
    DEFAULT_NAME,
    NO_PUBLICATION_PLUGINS,
    PUBLICATIONS,
    PUBLISHED_TABLES,
    PublicationMember,
    PublicationRow,
    PublicationsFact,
    consumer_publication,
)
from preflight.facts.replication import SLOTS, WALSENDERS, SlotRow, WalsendersFact
from preflight.facts.replication_probe import REPLICATION_PROBE, ReplicationProbeResult
from preflight.facts.role_settings import ROLE_SETTINGS, RoleSettingRow
from preflight.facts.roles import ROLE, RoleFact
from preflight.facts.selection import EXTENSION_TABLES, SCHEMAS, TABLES, ExtensionTablesRow, SchemaRow, TableRow
from preflight.facts.server import (
    PENDING_SETTINGS,
    SERVER,
    SESSION_SETTINGS,
    SETTINGS,
    PendingSettingRow,
    ServerFact,
    SettingRow,
)
from preflight.facts.session_probe import SESSION_PROBE, SessionProbeResult
from preflight.facts.wal import MIN_RATE_WINDOW_S, WAL_STATS, WalStats
from preflight.facts.wal_sample import WAL_SAMPLE, WalSample

_ALL: list[Fact] = [
    SERVER,
    SETTINGS,
    SESSION_SETTINGS,
    PENDING_SETTINGS,
    SLOTS,
    WALSENDERS,
    PROVIDER_SIGNALS,
    SCHEMAS,
    TABLES,
    EXTENSION_TABLES,
    ROLE,
    REPLICATION_PROBE,
    HBA_RULES,
    NOT_REPLICATED,
    WAL_STATS,
    WAL_SAMPLE,
    PUBLICATIONS,
    PUBLISHED_TABLES,
    PLUGIN_SUPPORT,
    PLUGIN_PROBE,
    ACTIVITY,
    DATABASES,
    SESSION_PROBE,
    ROLE_SETTINGS,
    DATABASE_ACTIVITY,
]
FACTS: dict[str, Fact] = {f.name: f for f in _ALL}
"""The built-in facts by name. A plugin's own facts are found on the checks that declare them."""

__all__ = [
    "ACTIVITY",
    "DATABASES",
    "DATABASE_ACTIVITY",
    "DEFAULT_NAME",
    "EXTENSION_TABLES",
    "FACTS",
    "HBA_RULES",
    "MIN_RATE_WINDOW_S",
    "NOT_REPLICATED",
    "NO_PUBLICATION_PLUGINS",
    "PENDING_SETTINGS",
    "PLUGIN_PROBE",
    "PLUGIN_SUPPORT",
    "PROVIDER_SIGNALS",
    "PUBLICATIONS",
    "PUBLISHED_TABLES",
    "REPLICATION_PROBE",
    "ROLE",
    "ROLE_SETTINGS",
    "SCHEMAS",
    "SERVER",
    "SESSION_PROBE",
    "SESSION_SETTINGS",
    "SETTINGS",
    "SLOTS",
    "TABLES",
    "WALSENDERS",
    "WAL_SAMPLE",
    "WAL_STATS",
    "ActivityFact",
    "ConnectOutcome",
    "DatabaseActivityRow",
    "DatabaseRow",
    "ExtensionTablesRow",
    "Fact",
    "FactContext",
    "FactUnavailable",
    "HbaLine",
    "HbaRules",
    "NotReplicatedFact",
    "OpenTransaction",
    "PendingSettingRow",
    "PluginProbeKind",
    "PluginProbeResult",
    "PluginSupport",
    "PreparedTransaction",
    "ProbeBlockers",
    "ProbeFact",
    "ProbeStatus",
    "ProviderSignals",
    "PublicationMember",
    "PublicationRow",
    "PublicationsFact",
    "ReplicationProbeResult",
    "RoleFact",
    "RoleSettingRow",
    "SchemaRow",
    "Scope",
    "ServerFact",
    "ServerInfo",
    "SessionProbeResult",
    "SettingRow",
    "SlotRow",
    "Snapshot",
    "SqlFact",
    "TableRow",
    "WalSample",
    "WalStats",
    "WalsendersFact",
    "XidWatch",
    "consumer_publication",
]
