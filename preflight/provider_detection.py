"""Managed-service providers: one record each (how it is detected, how it changes settings, how it grants
replication, what it does not offer), and the detection from read-only signals.

``preflight.remediation`` builds the fixes from these records; nothing else keeps provider knowledge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from preflight.statements import CONSOLE, SettingPlace

SELF_MANAGED = "self-managed"


@dataclass(frozen=True)
class Signals:
    """What identifies a provider, tried in this order: a flag of ``ProviderSignals`` that alone decides
    (``marker``, described by ``marker_text``), a setting name prefix, a setting, a role."""

    marker: str | None = None  # "aurora_function", "aiven_extension", "heroku_schema"
    marker_text: str = ""
    setting_prefix: str | None = None
    settings: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    weak: bool = False  # tried after every other provider's signals

    def match(self, signals: ProviderSignals) -> str | None:
        """The signal that identifies the provider, or None."""
        if self.marker and getattr(signals, self.marker):
            return self.marker_text
        if self.setting_prefix:
            prefixed = next((s for s in sorted(signals.settings) if s.startswith(self.setting_prefix)), None)
            if prefixed:
                return f"setting {prefixed}"
        named = next((s for s in self.settings if s in signals.settings), None)
        if named:
            return f"setting {named}"
        role = next((r for r in self.roles if r in signals.roles), None)
        return f"role {role}" if role else None


@dataclass(frozen=True)
class Provider:
    """Everything pg-preflight knows about one provider."""

    name: str
    title: str
    signals: Signals = Signals()
    # How it changes a server setting: None = ALTER SYSTEM (self-managed), else its parameter group, flag
    # or console.
    settings: SettingPlace | None = None
    # How it turns wal_level = logical on, where it has its own switch (else: the wal_level setting itself).
    enable_logical: tuple[str, ...] = ()
    replication_role: str | None = None  # a role to GRANT instead of ALTER ROLE ... REPLICATION
    replication_grantor: str = ""  # who may give a role replication there (where, and as whom)
    unsupported: str | None = None  # what it does not offer at all (no logical replication)
    notes: tuple[str, ...] = ()
    drops_inactive_slots_after_h: float | None = None  # the provider removes slots inactive this long (hours)
    slot_lifetime_note: str = ""  # what else ends a slot's life there (suspended compute, restores)

    @property
    def alter_system(self) -> bool:
        """Can ALTER SYSTEM change server settings here?"""
        return self.settings is None

    def refusal(self) -> str | None:
        """The sentence saying what it does not offer, or None."""
        return f"{self.title} does not offer {self.unsupported}." if self.unsupported else None


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("aurora", "Amazon Aurora PostgreSQL",
             Signals(marker="aurora_function", marker_text="function aurora_version() exists"),
             SettingPlace("in the DB cluster parameter group set {name} = {value}", "reboot the writer instance"),
             ("In the DB cluster parameter group set rds.logical_replication = 1, then reboot the writer instance.",),
             "rds_replication", "the master user (a member of rds_superuser), on the writer (cluster) endpoint",
             notes=("Aurora reader endpoints never support logical decoding: use the cluster (writer) endpoint.",
                    "Slot names starting with 'rds' are reserved.")),
    Provider("rds", "Amazon RDS for PostgreSQL", Signals(setting_prefix="rds.", roles=("rds_superuser",)),
             SettingPlace("in the DB parameter group set {name} = {value}", "reboot the instance"),
             ("In the DB parameter group set rds.logical_replication = 1, then reboot the instance.",),
             "rds_replication", "the master user (a member of rds_superuser)",
             notes=("Slot names starting with 'rds' are reserved.",
                    "RDS Proxy cannot carry replication connections: use the instance endpoint.")),
    Provider("cloudsql", "Google Cloud SQL for PostgreSQL",
             Signals(setting_prefix="cloudsql.", roles=("cloudsqlsuperuser",)),
             SettingPlace("set the database flag {name}={value} (gcloud sql instances patch INSTANCE "
                          "--database-flags; list every flag you keep)", "the patch restarts the instance"),
             ("Set the database flag cloudsql.logical_decoding = on (gcloud sql instances patch --database-flags), "
              "which restarts the instance.",),
             replication_grantor="a member of cloudsqlsuperuser (e.g. the postgres user)",
             notes=("ALTER ROLE ... WITH REPLICATION is run by a cloudsqlsuperuser member.",)),
    Provider("alloydb", "Google AlloyDB", Signals(setting_prefix="alloydb.", roles=("alloydbsuperuser",)),
             SettingPlace("set the flag {name}={value} on the primary instance", "the change restarts it"),
             ("Set the flag alloydb.logical_decoding = on on the primary instance, which restarts it.",),
             replication_grantor="a member of alloydbsuperuser (e.g. the postgres user)"),
    Provider("azure", "Azure Database for PostgreSQL (Flexible Server)",
             Signals(settings=("azure.extensions",), roles=("azure_pg_admin",)),
             SettingPlace("set the server parameter {name} = {value} (portal, or az postgres flexible-server "
                          "parameter set --name {name} --value {value})", "restart the server"),
             ("Set the server parameter wal_level = logical (portal or az postgres flexible-server parameter set), "
              "then restart the server.",),
             replication_grantor="the server admin (a member of azure_pg_admin)",
             notes=("max_slot_wal_keep_size is fixed at -1 on Flexible Server: watch slot lag yourself.",)),
    Provider("supabase", "Supabase", Signals(roles=("supabase_admin",)), CONSOLE,
             ("Logical replication is on by default; connect to the direct database endpoint, not the pooler.",),
             replication_grantor="the postgres user (supabase_admin), on the direct database endpoint",
             notes=("Use the direct connection (port 5432 of db.<ref>.supabase.co), not Supavisor.",)),
    Provider("neon", "Neon", Signals(setting_prefix="neon.", roles=("neon_superuser",)), CONSOLE,
             ("Enable logical replication in the Neon console (Project settings > Beta). It cannot be turned off "
              "again and restarts the computes.",),
             replication_grantor="the project owner role (neon_superuser); roles created in the Neon console already "
                                 "have it",
             notes=("Use the direct endpoint, not the -pooler host.",),
             drops_inactive_slots_after_h=40.0,
             slot_lifetime_note="Neon removes replication slots inactive for about 40 hours, restoring a branch "
                                "deletes its slots, and a compute with no connected subscriber scales to zero."),
    Provider("crunchy", "Crunchy Bridge", Signals(), CONSOLE, ("Logical replication is on by default.",),
             replication_grantor="the postgres superuser of the cluster"),
    Provider("heroku", "Heroku Postgres",
             Signals(marker="heroku_schema", marker_text="schema heroku_ext (weak signal)", weak=True), CONSOLE,
             unsupported="logical replication to external consumers"),
    Provider("aiven", "Aiven for PostgreSQL",
             Signals(marker="aiven_extension", marker_text="extension aiven_extras", roles=("avnadmin",)), CONSOLE,
             ("wal_level is logical on Aiven; publications for non-superusers go through aiven_extras.",),
             replication_grantor="avnadmin",
             notes=("avnadmin has the REPLICATION attribute; aiven_extras provides publication helpers.",)),
    Provider(SELF_MANAGED, "self-managed PostgreSQL",
             replication_grantor="a superuser (on a managed service detection missed, the provider's admin role: pass "
                                 "--provider NAME for its exact fix)"),
]}


class ProviderSignals(Protocol):
    """What detection reads (the ``provider_signals`` fact's row): named here, so that the options, which
    validate a provider's name, and the facts, which read the options, import no fact through this module."""

    @property
    def roles(self) -> Sequence[str]: ...
    @property
    def settings(self) -> Sequence[str]: ...
    @property
    def aurora_function(self) -> bool: ...
    @property
    def heroku_schema(self) -> bool: ...
    @property
    def aiven_extension(self) -> bool: ...


def detect(signals: ProviderSignals | None) -> tuple[str, str]:
    """(provider name, the signal that decided it), each provider's signals tried in the registry's order
    (Aurora before RDS: it shows RDS signals too), weak signals last."""
    if signals is None:
        return SELF_MANAGED, "no signals could be read"
    for candidate in sorted(PROVIDERS.values(), key=lambda p: p.signals.weak):
        found = candidate.signals.match(signals)
        if found:
            return candidate.name, found
    return SELF_MANAGED, "no managed-service signal found"


def resolve(override: str | None, signals: ProviderSignals | None) -> tuple[str, str]:
    """(provider, what decided it): ``--provider`` wins over detection."""
    if override:
        return override, "--provider option"
    return detect(signals)


def provider(name: str | None) -> Provider:
    return PROVIDERS.get(name or SELF_MANAGED, PROVIDERS[SELF_MANAGED])
