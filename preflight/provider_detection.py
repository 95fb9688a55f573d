"""Managed-service providers: what each is, and its detection from read-only signals.

How each one changes settings and grants replication is ``preflight.remediation``'s job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

SELF_MANAGED = "self-managed"


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    alter_system: bool  # can ALTER SYSTEM be used to change server settings?
    notes: list[str] = field(default_factory=list)
    replication_role: str | None = None  # a role to GRANT instead of ALTER ROLE ... REPLICATION
    drops_inactive_slots_after_h: float | None = None  # the provider removes slots inactive this long (hours)
    slot_lifetime_note: str = ""  # what else ends a slot's life there (suspended compute, restores)


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("aurora", "Amazon Aurora PostgreSQL", False,
             ["Aurora reader endpoints never support logical decoding: use the cluster (writer) endpoint.",
              "Slot names starting with 'rds' are reserved."], "rds_replication"),
    Provider("rds", "Amazon RDS for PostgreSQL", False,
             ["Slot names starting with 'rds' are reserved.",
              "RDS Proxy cannot carry replication connections: use the instance endpoint."], "rds_replication"),
    Provider("cloudsql", "Google Cloud SQL for PostgreSQL", False,
             ["ALTER ROLE ... WITH REPLICATION is run by a cloudsqlsuperuser member."]),
    Provider("alloydb", "Google AlloyDB", False),
    Provider("azure", "Azure Database for PostgreSQL (Flexible Server)", False,
             ["max_slot_wal_keep_size is fixed at -1 on Flexible Server: watch slot lag yourself."]),
    Provider("supabase", "Supabase", False,
             ["Use the direct connection (port 5432 of db.<ref>.supabase.co), not Supavisor."]),
    Provider("neon", "Neon", False, ["Use the direct endpoint, not the -pooler host."],
             drops_inactive_slots_after_h=40.0,
             slot_lifetime_note="Neon removes replication slots inactive for about 40 hours, restoring a branch "
                                "deletes its slots, and a compute with no connected subscriber scales to zero."),
    Provider("crunchy", "Crunchy Bridge", False),
    Provider("heroku", "Heroku Postgres", False, ["Logical replication is not offered on Heroku Postgres."]),
    Provider("aiven", "Aiven for PostgreSQL", False,
             ["avnadmin has the REPLICATION attribute; aiven_extras provides publication helpers."]),
    Provider(SELF_MANAGED, "self-managed PostgreSQL", True),
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
    """(provider name, the signal that decided it). Aurora is tested before RDS: it shows RDS signals too."""
    if signals is None:
        return SELF_MANAGED, "no signals could be read"
    roles = set(signals.roles)
    settings = set(signals.settings)

    def prefixed(prefix: str) -> str | None:
        return next((s for s in sorted(settings) if s.startswith(prefix)), None)

    if signals.aurora_function:
        return "aurora", "function aurora_version() exists"
    if prefixed("rds.") or "rds_superuser" in roles:
        return "rds", f"setting {prefixed('rds.')}" if prefixed("rds.") else "role rds_superuser"
    if prefixed("cloudsql.") or "cloudsqlsuperuser" in roles:
        return "cloudsql", f"setting {prefixed('cloudsql.')}" if prefixed("cloudsql.") else "role cloudsqlsuperuser"
    if prefixed("alloydb.") or "alloydbsuperuser" in roles:
        return "alloydb", f"setting {prefixed('alloydb.')}" if prefixed("alloydb.") else "role alloydbsuperuser"
    if "azure.extensions" in settings or "azure_pg_admin" in roles:
        return "azure", "setting azure.extensions" if "azure.extensions" in settings else "role azure_pg_admin"
    if "supabase_admin" in roles:
        return "supabase", "role supabase_admin"
    if prefixed("neon.") or "neon_superuser" in roles:
        return "neon", f"setting {prefixed('neon.')}" if prefixed("neon.") else "role neon_superuser"
    if signals.aiven_extension or "avnadmin" in roles:
        return "aiven", "extension aiven_extras" if signals.aiven_extension else "role avnadmin"
    if signals.heroku_schema:
        return "heroku", "schema heroku_ext (weak signal)"
    return SELF_MANAGED, "no managed-service signal found"


def resolve(override: str | None, signals: ProviderSignals | None) -> tuple[str, str]:
    """(provider, what decided it): ``--provider`` wins over detection."""
    if override:
        return override, "--provider option"
    return detect(signals)


def provider(name: str | None) -> Provider:
    return PROVIDERS.get(name or SELF_MANAGED, PROVIDERS[SELF_MANAGED])
