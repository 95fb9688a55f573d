"""Profiles: what "ready" means for a given consumer. Data, not code: consumers disagree on thresholds,
so every finding that applies one says which profile demanded it.

Built in: ``generic`` (the default), ``native``, ``ardent`` (the minimums a hosted CDC product, Ardent, publishes), ``debezium``,
``aws-dms``, ``datastream``, ``fivetran``, ``airbyte``, ``peerdb`` (PeerDB and ClickPipes), ``estuary``, ``materialize``,
``risingwave``, ``sequin``. Each built-in rule says where it comes from (``provenance``: the consumer's own documentation
page, or our own judgement); docs/consumers.md is generated from them (``python docs/consumers.py``). A user's own
profile is a TOML file with the same keys (``--profile path/to/profile.toml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from preflight.files import read_toml, validated


class ProfileError(ValueError):
    """An unknown profile name or an invalid profile file (one line)."""


class Consumer(BaseModel):
    """What the consumer opens on the source: every capacity check sizes its demand from this.

    ``slots`` / ``senders``: held while streaming. ``sync_workers``: during the initial copy, each holds
    a temporary slot and a walsender of its own (a native subscription's table synchronisation workers,
    up to the subscriber's ``max_sync_workers_per_subscription``, default 2). ``snapshot_connections``:
    ordinary connections reading tables during the initial copy. ``operations``: the changes the
    consumer expects to receive. ``applies_replica_identity_full``: its own setup runs ``ALTER TABLE ...
    REPLICA IDENTITY FULL`` for the tables decided so (a hosted connector API), so a recorded decision not
    yet applied is not a failure. ``full_needs_equality``: it applies UPDATE/DELETE of a FULL table by
    comparing every column (a native subscriber), so every column type needs a default equality operator.
    ``needs_heartbeat``: on a quiet database its slot moves only with a heartbeat the user configures (it neither
    confirms the server's keepalives nor writes its own). ``identity``: the replica identity every table needs for
    this consumer: ``any`` usable one, ``primary_key_or_full``, ``primary_key`` (whatever the identity), or ``full``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "generic"
    slots: int = Field(1, ge=0)
    senders: int = Field(1, ge=0)
    sync_workers: int = Field(0, ge=0)
    snapshot_connections: int = Field(0, ge=0)
    operations: tuple[str, ...] = ("insert", "update", "delete")
    identity: Literal["any", "primary_key_or_full", "primary_key", "full"] = "any"
    applies_replica_identity_full: bool = False
    full_needs_equality: bool = False
    needs_heartbeat: bool = False

    @property
    def slots_needed(self) -> int:
        """Free replication slots at once: streaming plus the initial copy's temporary ones."""
        return self.slots + self.sync_workers

    @property
    def senders_needed(self) -> int:
        """Free walsenders at once: streaming plus one per sync worker."""
        return self.senders + self.sync_workers

    @property
    def connections_needed(self) -> int:
        """Connections as the role at once (walsenders count against CONNECTION LIMIT too)."""
        return self.senders + self.sync_workers + self.snapshot_connections

    def describe(self) -> str:
        """One line for findings: where the numbers come from."""
        parts = [f"{self.slots} slot and {self.senders} walsender for streaming"]
        if self.sync_workers:
            parts.append(f"{self.sync_workers} table-sync worker(s), each with a temporary slot and a walsender")
        if self.snapshot_connections:
            parts.append(f"{self.snapshot_connections} snapshot connection(s)")
        return f"a {self.kind} consumer: " + ", ".join(parts)


# A native subscription (CREATE SUBSCRIPTION): the apply worker's slot and walsender, plus the subscriber's
# default max_sync_workers_per_subscription (2) table-sync workers during the initial copy; its walreceiver confirms
# the server's keepalive positions, so a quiet database needs no heartbeat.
NATIVE = Consumer(kind="native subscription", sync_workers=2, full_needs_equality=True)
# Generic must be safe for a native subscriber and for a connector that snapshots over its own connection.
GENERIC = Consumer(kind="logical replication (native subscription or CDC connector)", sync_workers=2,
                   snapshot_connections=1, full_needs_equality=True, needs_heartbeat=True)
# Debezium: one slot and walsender; its initial snapshot reads over one ordinary JDBC connection; TRUNCATE is in
# skipped.operations by default.
DEBEZIUM = Consumer(kind="Debezium", snapshot_connections=1, needs_heartbeat=True)
# AWS DMS: one slot and walsender for CDC; full load reads tables in parallel (MaxFullLoadSubTasks, default 8).
DMS = Consumer(kind="AWS DMS", snapshot_connections=8, needs_heartbeat=True)
# A hosted CDC product: one wal2json slot and walsender, one snapshot connection; its connector API takes the
# decisions file and runs REPLICA IDENTITY FULL itself for the tables decided so.
ARDENT = Consumer(kind="hosted CDC (wal2json)", snapshot_connections=1, applies_replica_identity_full=True,
                  needs_heartbeat=True)
# Issue 19: the consumers people run. Their rules and where each comes from: each profile's provenance below.
DATASTREAM = Consumer(kind="Google Datastream", snapshot_connections=1)
FIVETRAN = Consumer(kind="Fivetran", snapshot_connections=1, needs_heartbeat=True)
AIRBYTE = Consumer(kind="Airbyte (CDC)", snapshot_connections=1, needs_heartbeat=True, identity="primary_key")
PEERDB = Consumer(kind="PeerDB / ClickPipes", snapshot_connections=4, needs_heartbeat=True,
                  identity="primary_key_or_full")
ESTUARY = Consumer(kind="Estuary Flow", snapshot_connections=1, needs_heartbeat=True)
MATERIALIZE = Consumer(kind="Materialize", snapshot_connections=1, needs_heartbeat=True, identity="full")
RISINGWAVE = Consumer(kind="RisingWave (shared CDC source)", snapshot_connections=1, needs_heartbeat=True,
                      identity="primary_key")
SEQUIN = Consumer(kind="Sequin", snapshot_connections=1)


# ---- issue 18, tables: what the consumer receives of each table (column types, names, sequences) ----------------
class ColumnRule(BaseModel):
    """A column type the consumer documents as unsupported or lossy. ``match``: a class (``unbounded_numeric``,
    ``money``, ``range``, ``multirange``, ``composite``, ``array``, ``enum``, ``domain``) or a type's own name
    (``xml``, ``interval``, ...). ``source``: the consumer's documentation page that says so (``documented``) or our
    own reading of its behaviour (``ours``); docs/consumers.md lists every built-in rule."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    match: str
    severity: Literal["warning", "error"] = "warning"
    says: str  # what happens to such a column, in the consumer's terms
    fix: str = ""
    source: str = "ours"


class NamingRule(BaseModel):
    """How the consumer names what it writes for each table (a topic, a lakehouse table): characters outside
    ``allowed`` (a regex character class) are replaced by ``replacement`` or, with ``reject``, refused; ``fold``
    folds case. Two selected tables with one target name collide (``collision``: warning or error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    target: str  # what is named, e.g. "Kafka topic"
    template: str = "{schema}.{table}"
    allowed: str = "A-Za-z0-9._-"
    replacement: str = "_"
    reject: bool = False
    fold: Literal["lower", "upper"] | None = None
    collision: Literal["warning", "error"] = "error"
    source: str = "ours"


DEBEZIUM_COLUMNS = (
    ColumnRule(match="composite", says="a column of a type the connector does not know (a composite type) is left "
               "out of every change event, with a warning in its log, unless include.unknown.datatypes = true",
               fix="set include.unknown.datatypes = true (the value arrives as bytes) or cast the column in a view",
               source="Debezium PostgreSQL connector documentation, connector properties: include.unknown.datatypes"),
)
DEBEZIUM_NAMING = NamingRule(
    target="Kafka topic (topic.prefix.schema.table)", allowed="A-Za-z0-9._-", replacement="_", collision="error",
    source="Debezium documentation, topic names: characters outside [a-zA-Z0-9._-] are replaced by an underscore")
DMS_COLUMNS = (
    ColumnRule(match="unbounded_numeric", says="NUMERIC without precision and scale is mapped to NUMERIC(28,6): "
               "digits beyond 28 and decimals beyond 6 are lost",
               fix="set the source endpoint's MapUnboundedNumericAsString = true, or give the column a precision",
               source="AWS DMS user guide, PostgreSQL source data types and endpoint settings "
                      "(MapUnboundedNumericAsString)"),
    ColumnRule(match="array", says="arrays are migrated as LOBs (NCLOB): in limited LOB mode (the default) a value "
               "larger than LobMaxSize is truncated",
               fix="use full LOB mode for the task, or a LobMaxSize above the largest value",
               source="AWS DMS user guide, PostgreSQL source data types and LOB support"),
    ColumnRule(match="composite", says="user-defined composite types are not in the documented type mapping",
               fix="cast the column to text in a view, or leave the table out", source="ours"),
)
# --- issue 18, the consumer's sessions: see CONSUMER_SESSIONS at the end of the file ---
class ConsumerSessions(BaseModel):
    """What a consumer does on its own sessions: which formatting settings it sets when it connects (a stored
    role/database value then cannot change the text it parses), whether it parses values as text at all, and how
    it keeps a quiet database's slot moving (its heartbeat)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parses_text: bool = True
    sets_at_connect: tuple[str, ...] = ()
    documented: bool = False  # False: what it sets is not known here, so a stored value is a warning
    heartbeat: str = ""  # the consumer's own heartbeat setting, e.g. Debezium's heartbeat.action.query
    heartbeat_writes: bool = False  # its heartbeat writes a row the slot decodes (not only a keepalive)
    confirms_keepalives: bool = False  # it confirms the server's keepalive position with nothing to apply


class Provenance(BaseModel):
    """Where one rule of a profile comes from. ``rule``: a Profile field, or ``consumer.<field>``; ``documented``:
    the consumer's own documentation says so (``source`` names the page by title and section), else it is our own
    judgement (``source`` says why). docs/consumers.md is generated from these."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str
    documented: bool
    source: str


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    min_version_num: int = Field(100000, ge=90400)
    plugin: str = "pgoutput"
    consumer: Consumer = GENERIC
    free_slots: int | None = Field(None, ge=0)  # overrides the consumer's sizing (profile files written before it)
    free_senders: int | None = Field(None, ge=0)
    min_max_replication_slots: int = Field(1, ge=0)
    min_max_wal_senders: int = Field(1, ge=0)
    writer_required: bool = False
    ssl_required: bool = False
    wal_sender_timeout_min_ms: int = Field(10000, ge=0)
    wal_sender_timeout_zero_ok: bool = False
    max_xact_age_s: float = Field(600.0, gt=0)
    min_slot_budget_hours: float = Field(24.0, ge=0)  # how long the consumer may be down before its slot is lost
    # --- Slot lifetimes (issue 18, "slots"): how the consumer keeps its slot across a failover and decodes
    # large transactions. Empty text: the consumer has no such option (or none this profile knows of).
    failover_slots: str = ("a native subscription: CREATE SUBSCRIPTION ... WITH (failover = true), PostgreSQL 17+ on "
                           "both sides; a CDC connector: its own failover-slot option, if its version has one")
    streams_in_progress: str = ""  # how it streams in-progress transactions (else they are decoded whole, spilling)
    # ---- issue 18, tables: what the consumer receives (checks columns, identifiers, sequences) ----
    column_rules: tuple[ColumnRule, ...] = ()  # column types the consumer documents as unsupported or lossy
    naming: NamingRule | None = None  # how it names each table's target (collisions, refused characters)
    migration_cutover: bool = False  # a migration: the target takes over, so its sequences must be set at cutover
    computes_generated_columns: bool = False  # computes generated columns itself (a subscriber's own generated column)
    # --- issue 18, the consumer's sessions (None: a built-in's CONSUMER_SESSIONS entry, else nothing known) ---
    sessions: ConsumerSessions | None = None
    # --- issue 19: the consumer's publication and where each rule comes from ---
    publish_via_partition_root: bool = False  # partitioned tables must reach it under the root's name
    provenance: tuple[Provenance, ...] = ()  # one entry per rule this profile sets (built-ins: every rule)
    notes: tuple[str, ...] = ()  # what its documentation says that no check judges (docs/consumers.md)

    def source_of(self, rule: str) -> Provenance | None:
        """Where ``rule`` (a field name, ``consumer.<field>`` for the consumer's) comes from, if the profile says."""
        return next((p for p in self.provenance if p.rule == rule), None)

    @property
    def slots_needed(self) -> int:
        return self.consumer.slots_needed if self.free_slots is None else self.free_slots

    @property
    def senders_needed(self) -> int:
        return self.consumer.senders_needed if self.free_senders is None else self.free_senders

    @property
    def slots_needed_resuming(self) -> int:
        """New slots when the consumer resumes its own slot (--slot-name names one): that one is not created,
        and there is no initial copy to make."""
        return max(self.slots_needed - min(self.consumer.slots, 1) - self.consumer.sync_workers, 0)

    @property
    def senders_needed_resuming(self) -> int:
        """Walsenders when the consumer resumes its own slot: streaming only, no table-sync workers."""
        return max(self.senders_needed - self.consumer.sync_workers, 0)


def _doc(rule: str, source: str) -> Provenance:
    return Provenance(rule=rule, documented=True, source=source)


def _ours(rule: str, why: str) -> Provenance:
    return Provenance(rule=rule, documented=False, source=why)


# Documentation pages, named by title and section (docs/consumers.md prints them).
_PG_LOGICAL = "PostgreSQL documentation, Logical Replication"
_DBZ = "Debezium documentation, Debezium connector for PostgreSQL"
_DMS = "AWS DMS user guide, Using a PostgreSQL database as an AWS DMS source"
_DS = "Datastream documentation, Source PostgreSQL database"
_FT = "Fivetran documentation, PostgreSQL"
_FT_SETUP = "Fivetran documentation, Generic PostgreSQL Setup Guide"
_AB = "Airbyte documentation, Postgres source"
_AB_LIMITS = "Airbyte documentation, Troubleshooting Postgres Sources, Connector Limitations"
_CP = "ClickHouse documentation, ClickPipes for Postgres: Generic Postgres source setup guide"
_EST = "Estuary documentation, PostgreSQL capture connector"
_MZ = "Materialize documentation, PostgreSQL (Change Data Capture)"
_MZ_FAQ = "Materialize documentation, FAQ: PostgreSQL sources"
_RW = "RisingWave documentation, PostgreSQL CDC"
_SEQ = "Sequin documentation, Databases reference"
_SAFE = "the generic default: safe for every consumer listed here"
_PGOUTPUT_10 = "pgoutput exists from PostgreSQL 10"
_ONE_SLOT = "one slot and one walsender while streaming, as every CDC connector here"
_ONE_SNAPSHOT = "its initial copy reads tables over at least one ordinary connection"
_NO_TRUNCATE_NEEDED = "insert, update and delete: a publication without TRUNCATE only loses truncates"
_ANY_IDENTITY = "any usable replica identity: nothing in its documentation asks for more"
_QUIET = ("nothing in its documentation says it confirms the server's keepalives or writes its own heartbeat: on a "
          "quiet database its slot keeps the cluster's WAL until a change arrives")

BUILTIN: dict[str, Profile] = {p.name: p for p in [
    Profile(name="generic", description="Any logical replication consumer, a native subscription included: pgoutput, "
                                        "a slot and walsender plus two for the initial copy's table sync.",
            provenance=(_ours("min_version_num", _PGOUTPUT_10), _ours("plugin", "PostgreSQL's own plugin"),
                        _ours("consumer.slots", _SAFE), _ours("consumer.sync_workers", _SAFE),
                        _ours("consumer.snapshot_connections", _SAFE), _ours("consumer.operations", _SAFE),
                        _ours("consumer.identity", _SAFE), _ours("consumer.full_needs_equality", _SAFE),
                        _ours("consumer.needs_heartbeat", _SAFE))),
    Profile(name="ardent", description="A hosted CDC product's published minimums: 13+, TLS, wal2json, 10 slots and senders.", min_version_num=130000,
            plugin="wal2json", consumer=ARDENT, min_max_replication_slots=10, min_max_wal_senders=10,
            writer_required=True, ssl_required=True, failover_slots="",
            provenance=tuple(_doc(rule, "the hosted connector's published minimums") for rule in (
                "min_version_num", "plugin", "min_max_replication_slots", "min_max_wal_senders", "writer_required",
                "ssl_required", "consumer.applies_replica_identity_full")) + (
                _ours("consumer.slots", _ONE_SLOT), _ours("consumer.snapshot_connections", _ONE_SNAPSHOT),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED), _ours("consumer.identity", _ANY_IDENTITY),
                _ours("consumer.needs_heartbeat", _QUIET), _ours("failover_slots", "no failover-slot option known"))),
    Profile(name="debezium", description="Debezium's PostgreSQL connector (pgoutput).", min_version_num=100000,
            consumer=DEBEZIUM, writer_required=False, wal_sender_timeout_zero_ok=False,
            failover_slots="the connector's slot.failover=true where its version has that option (recent Debezium "
                           "releases, PostgreSQL 17+); older versions create the slot without failover",
            column_rules=DEBEZIUM_COLUMNS, naming=DEBEZIUM_NAMING,
            provenance=(
                _ours("min_version_num", f"{_PGOUTPUT_10}; each Debezium release lists the versions it supports"),
                _ours("plugin", "pgoutput, PostgreSQL's own, of the plugins its plugin.name property offers "
                                "(decoderbufs needs a plugin installed on the server)"),
                _ours("consumer.slots", "one slot and walsender (slot.name); the connector runs one task"),
                _ours("consumer.snapshot_connections", "its initial snapshot reads over the connector's JDBC connection"),
                _doc("consumer.operations", f"{_DBZ}, connector properties: skipped.operations (default t: "
                                            "truncate events are skipped)"),
                _ours("consumer.identity", "any usable replica identity; FULL only adds the old row's columns to "
                                           "update and delete events"),
                _doc("consumer.needs_heartbeat", f"{_DBZ}, WAL disk space consumption: heartbeat.interval.ms and "
                                                 "heartbeat.action.query for a database with few changes"),
                _doc("failover_slots", f"{_DBZ}, connector properties: slot.failover"))),
    Profile(name="aws-dms", description="AWS DMS premigration assessment thresholds.", min_version_num=120000,
            plugin="test_decoding", consumer=DMS, writer_required=True, wal_sender_timeout_min_ms=10000,
            max_xact_age_s=600.0, failover_slots="", column_rules=DMS_COLUMNS, migration_cutover=True,
            provenance=(
                _ours("min_version_num", "the premigration assessment's threshold this profile was written for"),
                _doc("plugin", f"{_DMS}, endpoint settings: PluginName (test_decoding unless pglogical is set)"),
                _ours("consumer.slots", _ONE_SLOT),
                _doc("consumer.snapshot_connections", "AWS DMS user guide, task settings: MaxFullLoadSubTasks "
                                                      "(default 8 tables loaded in parallel)"),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED), _ours("consumer.identity", _ANY_IDENTITY),
                _doc("consumer.needs_heartbeat", f"{_DMS}, endpoint settings: HeartbeatEnable (keeps an idle slot's "
                                                 "restart_lsn moving)"),
                _ours("writer_required", "the premigration assessment's requirement: CDC from the writer"),
                _ours("failover_slots", "no failover-slot option known"),
                _ours("migration_cutover", "a migration: the target takes over at cutover"))),
    Profile(name="native", description="A PostgreSQL subscriber (CREATE SUBSCRIPTION) with default sync workers.",
            consumer=NATIVE, migration_cutover=True, computes_generated_columns=True,
            failover_slots="CREATE SUBSCRIPTION ... WITH (failover = true), or on an existing subscription ALTER "
                           "SUBSCRIPTION ... DISABLE; ALTER SUBSCRIPTION ... SET (failover = true); ALTER "
                           "SUBSCRIPTION ... ENABLE (PostgreSQL 17+ on both sides)",
            streams_in_progress="CREATE SUBSCRIPTION ... WITH (streaming = on) (14+), or streaming = parallel (16+; "
                                "the default from 18)",
            provenance=(
                _doc("min_version_num", f"{_PG_LOGICAL}: publications and subscriptions exist from PostgreSQL 10"),
                _doc("plugin", f"{_PG_LOGICAL}, Architecture: the walsender decodes with pgoutput"),
                _doc("consumer.slots", f"{_PG_LOGICAL}, Subscription: one slot per subscription"),
                _doc("consumer.sync_workers", f"{_PG_LOGICAL}, Configuration Settings: "
                                              "max_sync_workers_per_subscription (default 2), each with a temporary slot"),
                _ours("consumer.snapshot_connections", "the table-sync workers copy over their own walsenders"),
                _ours("consumer.operations", "insert, update and delete; truncate is applied when published"),
                _ours("consumer.identity", _ANY_IDENTITY),
                _doc("consumer.full_needs_equality", f"{_PG_LOGICAL}, Publication: under REPLICA IDENTITY FULL the "
                                                     "subscriber finds rows by comparing every column"),
                _doc("consumer.needs_heartbeat", f"{_PG_LOGICAL}: the walreceiver answers the server's keepalives "
                                                 "with its flushed position, so the slot advances without changes"),
                _doc("failover_slots", "PostgreSQL documentation, CREATE SUBSCRIPTION: failover (17+)"),
                _doc("streams_in_progress", "PostgreSQL documentation, CREATE SUBSCRIPTION: streaming"),
                _ours("migration_cutover", "a subscriber taking over needs its sequences set at cutover"),
                _doc("computes_generated_columns", f"{_PG_LOGICAL}, Restrictions: generated columns are computed "
                                                   "on the subscriber"))),
    # ---- issue 19: the consumers people run ----
    Profile(name="datastream", description="Google Datastream (PostgreSQL source, pgoutput).", min_version_num=100000,
            consumer=DATASTREAM, failover_slots="",
            column_rules=(
                ColumnRule(match="range", says="range data types are not supported", fix="leave the column or table "
                           "out, or cast it to text in a view", source=f"{_DS}, Known limitations"),
                *(ColumnRule(match=name, says="geometric data types are not supported", fix="leave the column or "
                             "table out, or cast it to text in a view", source=f"{_DS}, Known limitations")
                  for name in ("point", "line", "lseg", "box", "path", "polygon", "circle"))),
            provenance=(
                _doc("min_version_num", f"{_DS}, Versions: PostgreSQL 10 and later"),
                _doc("plugin", f"{_DS}, Behavior: Datastream uses the pgoutput plugin"),
                _doc("consumer.slots", f"{_DS}, Best practices: a single logical replication slot for the whole stream"),
                _ours("consumer.snapshot_connections", "its backfill reads tables over ordinary connections"),
                _doc("consumer.operations", f"{_DS}, Behavior: inserts, updates and deletes are replicated"),
                _doc("consumer.identity", f"{_DS}, Known limitations: a table without a primary key needs a REPLICA "
                                          "IDENTITY, else only its inserts are replicated"),
                _doc("consumer.needs_heartbeat", f"{_DS}, Behavior: connected to a primary, Datastream writes "
                                                 "heartbeat logical decoding messages itself (from a read replica "
                                                 "they must be configured outside it)"),
                _ours("failover_slots", "no failover-slot option known"),
                _doc("column_rules", f"{_DS}, Known limitations: geometric and range data types")),
            notes=(f"The user creates the publication and the slot ({_DS}; Datastream documentation, Configure a "
                   "source PostgreSQL database); FOR ALL TABLES or a table list both work.",
                   "Partitioned tables: publish_via_partition_root = true to receive them as the root table "
                   "(Datastream documentation, Work with PostgreSQL partitioned tables); either way is supported.")),
    Profile(name="fivetran", description="Fivetran's PostgreSQL connector with logical replication (pgoutput).",
            min_version_num=100000, consumer=FIVETRAN, ssl_required=True, wal_sender_timeout_zero_ok=True,
            failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_FT}, Supported configurations: logical replication on a primary from "
                                        "version 10"),
                _doc("plugin", f"{_FT_SETUP}, Choose incremental sync mechanism: logical replication with the "
                               "pgoutput plugin (PostgreSQL 10+; test_decoding is the older alternative)"),
                _ours("consumer.slots", _ONE_SLOT),
                _ours("consumer.snapshot_connections", _ONE_SNAPSHOT),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED), _ours("consumer.identity", _ANY_IDENTITY),
                _ours("consumer.needs_heartbeat", _QUIET),
                _doc("ssl_required", f"{_FT_SETUP}, Choose connection method: TLS must be enabled on the database"),
                _ours("wal_sender_timeout_zero_ok", "its periodic syncs can leave the walsender silent for long; "
                                                    "managed providers' guides for it set wal_sender_timeout = 0"),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"A standby is a supported source from PostgreSQL 16 ({_FT}, Supported configurations).",)),
    Profile(name="airbyte", description="Airbyte's Postgres source with CDC (pgoutput).", min_version_num=100000,
            consumer=AIRBYTE, writer_required=True, failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_AB}: Postgres 10 or above for CDC"),
                _doc("plugin", f"{_AB}, CDC set-up: a pgoutput replication slot and a publication"),
                _ours("consumer.slots", _ONE_SLOT),
                _ours("consumer.snapshot_connections", _ONE_SNAPSHOT),
                _doc("consumer.operations", f"{_AB_LIMITS}: changes made with TRUNCATE do not appear"),
                _doc("consumer.identity", f"{_AB_LIMITS}: incremental sync is only supported for tables with "
                                          "primary keys"),
                _ours("consumer.needs_heartbeat", "its CDC is Debezium's engine: a quiet database needs its "
                                                  "heartbeat action query"),
                _doc("writer_required", f"{_AB_LIMITS}: CDC cannot be run from a read replica"),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"The user creates the slot and the publication ({_AB}); one Airbyte source per slot.",)),
    Profile(name="peerdb", description="PeerDB and ClickPipes for Postgres (pgoutput).", min_version_num=120000,
            consumer=PEERDB, min_max_replication_slots=4, min_max_wal_senders=2, wal_sender_timeout_zero_ok=True,
            failover_slots="the ClickPipe's Advanced Settings switch that creates the slot with failover enabled "
                           "(PostgreSQL 17+)",
            provenance=(
                _doc("min_version_num", f"{_CP}: Postgres 12 and later"),
                _ours("plugin", "pgoutput over the publication the user creates"),
                _ours("consumer.slots", _ONE_SLOT),
                _ours("consumer.snapshot_connections", "its initial load reads several tables' partitions in "
                                                       "parallel over ordinary connections (4 assumed)"),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED),
                _doc("consumer.identity", f"{_CP}: every table in the publication has a primary key or REPLICA "
                                          "IDENTITY FULL"),
                _ours("consumer.needs_heartbeat", _QUIET),
                _doc("min_max_replication_slots", f"{_CP}: max_replication_slots >= 4"),
                _doc("min_max_wal_senders", f"{_CP}: max_wal_senders > 1"),
                _doc("wal_sender_timeout_zero_ok", "ClickHouse documentation, ClickPipes for Postgres: Google Cloud "
                                                   "SQL Postgres source setup guide: wal_sender_timeout = 0"),
                _doc("failover_slots", "ClickHouse documentation, ClickPipes for Postgres FAQ: a replication slot "
                                       "with failover enabled")),
            notes=(f"The user creates the publication, with only the tables to replicate ({_CP}).",)),
    Profile(name="estuary", description="Estuary Flow's PostgreSQL capture (pgoutput).", min_version_num=100000,
            consumer=ESTUARY, publish_via_partition_root=True, failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_EST}, Supported versions and platforms: PostgreSQL 10.0 and later"),
                _ours("plugin", "pgoutput over the publication (flow_publication)"),
                _doc("consumer.slots", f"{_EST}, Prerequisites: one replication slot per capture"),
                _ours("consumer.snapshot_connections", "its backfill reads tables over an ordinary connection"),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED), _ours("consumer.identity", _ANY_IDENTITY),
                _ours("consumer.needs_heartbeat", _QUIET),
                _doc("publish_via_partition_root", f"{_EST}, Setup: ALTER PUBLICATION flow_publication SET "
                                                   "(publish_via_partition_root = true)"),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"It writes to a watermarks table (public.flow_watermarks) that must be in the publication and "
                   f"writable by its role, unless the capture runs read-only ({_EST}, Prerequisites); it can create "
                   "the slot, the publication and that table itself when its role may.",)),
    Profile(name="materialize", description="Materialize's PostgreSQL source (pgoutput, REPLICA IDENTITY FULL).",
            min_version_num=110000, consumer=MATERIALIZE, failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_MZ}, Supported versions and services: PostgreSQL 11+"),
                _ours("plugin", "pgoutput over the publication named in CREATE SOURCE"),
                _ours("consumer.slots", "one slot and walsender per source"),
                _ours("consumer.snapshot_connections", _ONE_SNAPSHOT),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED),
                _doc("consumer.identity", f"{_MZ_FAQ}: Materialize requires REPLICA IDENTITY FULL on the tables it "
                                          "replicates"),
                _ours("consumer.needs_heartbeat", _QUIET),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"The user creates the publication, for the tables or FOR ALL TABLES ({_MZ}).",)),
    Profile(name="risingwave", description="RisingWave's PostgreSQL CDC source (shared source, pgoutput).",
            min_version_num=100000, consumer=RISINGWAVE, failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_RW}: PostgreSQL 10 through 17"),
                _ours("plugin", "pgoutput (its embedded Debezium engine's default)"),
                _doc("consumer.slots", f"{_RW}: a shared source holds one slot; without one, every CDC table holds a "
                                       "slot and walsender of its own"),
                _ours("consumer.snapshot_connections", "its backfill reads tables over an ordinary connection"),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED),
                _ours("consumer.identity", "its CDC table declares the upstream table's primary key"),
                _ours("consumer.needs_heartbeat", _QUIET),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"Without a shared source every CDC table holds a slot and a walsender of its own: "
                   f"max_wal_senders must then cover the number of tables ({_RW}).",)),
    Profile(name="sequin", description="Sequin (pgoutput, publish_via_partition_root).", min_version_num=140000,
            consumer=SEQUIN, publish_via_partition_root=True, failover_slots="",
            provenance=(
                _doc("min_version_num", f"{_SEQ}, Supported databases: PostgreSQL 14 or higher (12 and 13 with "
                                        "limitations)"),
                _ours("plugin", "pgoutput over the publication the user creates"),
                _ours("consumer.slots", _ONE_SLOT),
                _ours("consumer.snapshot_connections", "its backfills read tables over an ordinary connection"),
                _ours("consumer.operations", _NO_TRUNCATE_NEEDED),
                _doc("consumer.identity", f"{_SEQ}: REPLICA IDENTITY FULL only adds old values to the changes "
                                          "field; any identity works"),
                _doc("consumer.needs_heartbeat", f"{_SEQ}: Sequin writes heartbeat messages with "
                                                 "pg_logical_emit_message (14+)"),
                _doc("publish_via_partition_root", f"{_SEQ}, Publications: publish_via_partition_root = true"),
                _ours("failover_slots", "no failover-slot option known")),
            notes=(f"The user creates the publication before the slot ({_SEQ}, Publications); on 12 and 13 its "
                   "messages table public.sequin_logical_messages must be in the publication.",)),
]}


def load_profile(spec: str) -> Profile:
    """A built-in name, or the path of a TOML file (``name`` defaults to the file's stem)."""
    if spec in BUILTIN:
        return BUILTIN[spec]
    path = Path(spec)
    if not (spec.endswith(".toml") or path.exists()):
        raise ProfileError(f"unknown profile {spec!r}; built in: {', '.join(BUILTIN)}; or a path to a .toml file")
    data = {str(k).replace("-", "_"): v for k, v in read_toml(path, ProfileError).items()}
    data.setdefault("name", path.stem)
    profile: Profile = validated(path, ProfileError, lambda: Profile.model_validate(data))
    return profile


# Options a profile supplies unless the user set them explicitly (pydantic's model_fields_set).
PROFILE_OPTIONS = {"plugin": "plugin", "slots_needed": "slots_needed", "senders_needed": "senders_needed",
                   "max_xact_age": "max_xact_age_s"}


# --- issue 18, the consumer's sessions (checks text_settings, idle_database); docs/consumer-sessions.md names
# each consumer's documentation. Fields with defaults, set for the built-ins below without touching their lines.
CONSUMER_SESSIONS: dict[str, ConsumerSessions] = {
    # libpqwalreceiver connects with -c datestyle=ISO -c intervalstyle=postgres -c extra_float_digits=3 and the
    # apply worker parses with the subscriber's input functions (any TimeZone offset, hex or escape bytea).
    "native": ConsumerSessions(sets_at_connect=("datestyle", "intervalstyle", "extra_float_digits", "timezone",
                                                "bytea_output"), documented=True, confirms_keepalives=True),
    # PgJDBC's start-up packet sets DateStyle=ISO, extra_float_digits and TimeZone; IntervalStyle and bytea_output
    # stay the session's, and pgoutput's text is parsed by the connector.
    "debezium": ConsumerSessions(sets_at_connect=("datestyle", "extra_float_digits", "timezone"), documented=True,
                                 heartbeat="heartbeat.interval.ms with heartbeat.action.query (an INSERT/UPDATE "
                                           "on a published heartbeat table)", heartbeat_writes=True),
    # test_decoding's text is rendered with the walsender session's settings and parsed by DMS.
    "aws-dms": ConsumerSessions(documented=True, heartbeat="HeartbeatEnable=true (HeartbeatFrequency, "
                                                           "HeartbeatSchema): DMS writes to its own heartbeat table",
                                heartbeat_writes=True),
    # wal2json renders every value with the session's output functions (floats as JSON numbers).
    "ardent": ConsumerSessions(documented=True),
    # Issue 19: consumers that keep a quiet database's slot moving with heartbeats of their own (needs_heartbeat off).
    "datastream": ConsumerSessions(heartbeat="Datastream's own heartbeat: logical decoding messages it writes while "
                                             "connected to a primary"),
    "sequin": ConsumerSessions(heartbeat="Sequin's own heartbeat: pg_logical_emit_message (14+)"),
}


def consumer_sessions(profile: Profile) -> ConsumerSessions:
    """The profile's consumer-session data: its own, a built-in's from ``CONSUMER_SESSIONS``, else nothing known."""
    return profile.sessions or CONSUMER_SESSIONS.get(profile.name, ConsumerSessions())
