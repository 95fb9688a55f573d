"""Managed-service providers: detection from read-only signals, and what each implies for the fixes.

On RDS, Cloud SQL, Azure and AlloyDB the fix for wal_level is a provider setting plus a restart,
never ALTER SYSTEM; replication is granted by a provider role on RDS/Aurora.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from preflight.facts.provider_signals import ProviderSignals
from preflight.sqltext import render

SELF_MANAGED = "self-managed"


@dataclass(frozen=True)
class Provider:
    name: str
    title: str
    alter_system: bool  # can ALTER SYSTEM be used to change server settings?
    enable_logical: list[str]  # manual steps to get wal_level=logical
    notes: list[str] = field(default_factory=list)
    replication_role: str | None = None  # a role to GRANT instead of ALTER ROLE ... REPLICATION

    def grant_replication(self, role: str) -> str:
        if self.replication_role:
            return render(sql.SQL("GRANT {} TO {};").format(sql.Identifier(self.replication_role), sql.Identifier(role)))
        return render(sql.SQL("ALTER ROLE {} WITH REPLICATION;").format(sql.Identifier(role)))


PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    Provider("aurora", "Amazon Aurora PostgreSQL", False,
             ["In the DB cluster parameter group set rds.logical_replication = 1, then reboot the writer instance."],
             ["Aurora reader endpoints never support logical decoding: use the cluster (writer) endpoint.",
              "Slot names starting with 'rds' are reserved."], "rds_replication"),
    Provider("rds", "Amazon RDS for PostgreSQL", False,
             ["In the DB parameter group set rds.logical_replication = 1, then reboot the instance."],
             ["Slot names starting with 'rds' are reserved.",
              "RDS Proxy cannot carry replication connections: use the instance endpoint."], "rds_replication"),
    Provider("cloudsql", "Google Cloud SQL for PostgreSQL", False,
             ["Set the database flag cloudsql.logical_decoding = on (gcloud sql instances patch --database-flags), "
              "which restarts the instance."],
             ["ALTER ROLE ... WITH REPLICATION is run by a cloudsqlsuperuser member."]),
    Provider("alloydb", "Google AlloyDB", False,
             ["Set the flag alloydb.logical_decoding = on on the primary instance, which restarts it."]),
    Provider("azure", "Azure Database for PostgreSQL (Flexible Server)", False,
             ["Set the server parameter wal_level = logical (portal or az postgres flexible-server parameter set), "
              "then restart the server."],
             ["max_slot_wal_keep_size is fixed at -1 on Flexible Server: watch slot lag yourself."]),
    Provider("supabase", "Supabase", False,
             ["Logical replication is on by default; connect to the direct database endpoint, not the pooler."],
             ["Use the direct connection (port 5432 of db.<ref>.supabase.co), not Supavisor."]),
    Provider("neon", "Neon", False,
             ["Enable logical replication in the Neon console (Project settings > Beta). It cannot be turned off "
              "again and restarts the computes."],
             ["Use the direct endpoint, not the -pooler host."]),
    Provider("crunchy", "Crunchy Bridge", False, ["Logical replication is on by default."]),
    Provider("heroku", "Heroku Postgres", False,
             ["Heroku Postgres does not offer logical replication to external consumers."],
             ["Logical replication is not offered on Heroku Postgres."]),
    Provider("aiven", "Aiven for PostgreSQL", False,
             ["wal_level is logical on Aiven; publications for non-superusers go through aiven_extras."],
             ["avnadmin has the REPLICATION attribute; aiven_extras provides publication helpers."]),
    Provider(SELF_MANAGED, "self-managed PostgreSQL", True, []),
]}


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
