"""Profiles: what "ready" means for a given consumer. Data, not code: consumers disagree on thresholds,
so every finding that applies one says which profile demanded it.

Built in: ``generic`` (the default), ``native``, ``ardent`` (the minimums a hosted CDC product, Ardent, publishes), ``debezium``,
``aws-dms``. A user's own profile is a TOML file with the same keys (``--profile path/to/profile.toml``).
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
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = "generic"
    slots: int = Field(1, ge=0)
    senders: int = Field(1, ge=0)
    sync_workers: int = Field(0, ge=0)
    snapshot_connections: int = Field(0, ge=0)
    operations: tuple[str, ...] = ("insert", "update", "delete")
    applies_replica_identity_full: bool = False
    full_needs_equality: bool = False

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
# default max_sync_workers_per_subscription (2) table-sync workers during the initial copy.
NATIVE = Consumer(kind="native subscription", sync_workers=2, full_needs_equality=True)
# Generic must be safe for a native subscriber and for a connector that snapshots over its own connection.
GENERIC = Consumer(kind="logical replication (native subscription or CDC connector)", sync_workers=2,
                   snapshot_connections=1, full_needs_equality=True)
# Debezium: one slot and walsender; its initial snapshot reads over one ordinary JDBC connection.
DEBEZIUM = Consumer(kind="Debezium", snapshot_connections=1, operations=("insert", "update", "delete", "truncate"))
# AWS DMS: one slot and walsender for CDC; full load reads tables in parallel (MaxFullLoadSubTasks, default 8).
DMS = Consumer(kind="AWS DMS", snapshot_connections=8)
# A hosted CDC product: one wal2json slot and walsender, one snapshot connection; its connector API takes the
# decisions file and runs REPLICA IDENTITY FULL itself for the tables decided so.
ARDENT = Consumer(kind="hosted CDC (wal2json)", snapshot_connections=1, applies_replica_identity_full=True)



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


BUILTIN: dict[str, Profile] = {p.name: p for p in [
    Profile(name="generic", description="Any logical replication consumer, a native subscription included: pgoutput, "
                                        "a slot and walsender plus two for the initial copy's table sync."),
    Profile(name="ardent", description="A hosted CDC product's published minimums: 13+, TLS, wal2json, 10 slots and senders.", min_version_num=130000,
            plugin="wal2json", consumer=ARDENT, min_max_replication_slots=10, min_max_wal_senders=10,
            writer_required=True, ssl_required=True, failover_slots=""),
    Profile(name="debezium", description="Debezium's PostgreSQL connector (pgoutput).", min_version_num=100000,
            consumer=DEBEZIUM, writer_required=False, wal_sender_timeout_zero_ok=False,
            failover_slots="the connector's slot.failover=true where its version has that option (recent Debezium "
                           "releases, PostgreSQL 17+); older versions create the slot without failover",
            column_rules=DEBEZIUM_COLUMNS, naming=DEBEZIUM_NAMING),
    Profile(name="aws-dms", description="AWS DMS premigration assessment thresholds.", min_version_num=120000,
            plugin="test_decoding", consumer=DMS, writer_required=True, wal_sender_timeout_min_ms=10000,
            max_xact_age_s=600.0, failover_slots="", column_rules=DMS_COLUMNS, migration_cutover=True),
    Profile(name="native", description="A PostgreSQL subscriber (CREATE SUBSCRIPTION) with default sync workers.",
            consumer=NATIVE, migration_cutover=True, computes_generated_columns=True,
            failover_slots="CREATE SUBSCRIPTION ... WITH (failover = true), or on an existing subscription ALTER "
                           "SUBSCRIPTION ... DISABLE; ALTER SUBSCRIPTION ... SET (failover = true); ALTER "
                           "SUBSCRIPTION ... ENABLE (PostgreSQL 17+ on both sides)",
            streams_in_progress="CREATE SUBSCRIPTION ... WITH (streaming = on) (14+), or streaming = parallel (16+; "
                                "the default from 18)"),
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
}


def consumer_sessions(profile: Profile) -> ConsumerSessions:
    """The profile's consumer-session data: its own, a built-in's from ``CONSUMER_SESSIONS``, else nothing known."""
    return profile.sessions or CONSUMER_SESSIONS.get(profile.name, ConsumerSessions())
