"""Signals that tell a managed service apart, read with queries that cannot raise (catalog lookups only).

Only what a tenant cannot create counts: roles and role memberships (creating roles needs a
privilege tenants do not get), settings, installed extensions (they need files on the server), and
functions or schemas that live in ``pg_catalog`` or belong to a superuser (the bootstrap superuser,
OID 10, is one). A tenant's own ``heroku_ext`` schema or ``tenant.aurora_version()`` function is
not evidence of anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class ProviderSignals:
    """What tells a managed service apart: its roles, settings, functions, schemas and extensions."""

    roles: list[str]
    settings: list[str]
    aurora_function: bool
    heroku_schema: bool
    aiven_extension: bool
    rds_logical_replication: str | None = None
    cloudsql_logical_decoding: str | None = None
    alloydb_logical_decoding: str | None = None

SIGNAL_ROLES = ["rds_superuser", "rds_replication", "cloudsqlsuperuser", "alloydbsuperuser", "azure_pg_admin",
                "supabase_admin", "supabase_replication_admin", "neon_superuser", "avnadmin"]
SIGNAL_SETTING_PREFIXES = ["rds.%", "cloudsql.%", "alloydb.%", "azure.%", "neon.%", "aurora.%", "apg\\_%"]
# Named too, since a setting only present in a configuration file (a placeholder) is hidden from
# pg_settings but visible to current_setting(name, true).
SIGNAL_SETTING_NAMES = ["rds.extensions", "rds.logical_replication", "rds.force_ssl", "cloudsql.logical_decoding",
                        "cloudsql.iam_authentication", "alloydb.logical_decoding", "alloydb.iam_authentication",
                        "azure.extensions", "azure.accepted_password_auth_method", "neon.timeline_id",
                        "neon.tenant_id", "neon.max_file_cache_size"]


def by_superuser(owner: str) -> str:
    """SQL: the object's owner is the bootstrap superuser or another superuser, not a tenant."""
    return (f"({owner} = 10 OR COALESCE((SELECT o.rolsuper FROM pg_catalog.pg_roles AS o"
            f" WHERE o.oid = {owner}), false))")


def _signals(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        f"""
        SELECT
          ARRAY(SELECT r.rolname::pg_catalog.text FROM pg_catalog.pg_roles AS r
                 WHERE r.rolname = ANY(%(roles)s) ORDER BY 1) AS roles,
          ARRAY(SELECT s.name FROM pg_catalog.pg_settings AS s WHERE s.name LIKE ANY(%(prefixes)s)
                UNION
                SELECT k.name FROM pg_catalog.unnest(%(known)s::pg_catalog.text[]) AS k(name)
                 WHERE pg_catalog.current_setting(k.name, true) IS NOT NULL
                ORDER BY 1) AS settings,
          EXISTS (SELECT 1 FROM pg_catalog.pg_proc AS p
                   WHERE p.proname = 'aurora_version'
                     AND (p.pronamespace = 'pg_catalog'::pg_catalog.regnamespace OR {by_superuser('p.proowner')}))
            AS aurora_function,
          EXISTS (SELECT 1 FROM pg_catalog.pg_namespace AS n
                   WHERE n.nspname = 'heroku_ext' AND {by_superuser('n.nspowner')}) AS heroku_schema,
          EXISTS (SELECT 1 FROM pg_catalog.pg_extension AS e WHERE e.extname = 'aiven_extras') AS aiven_extension,
          pg_catalog.current_setting('rds.logical_replication', true) AS rds_logical_replication,
          pg_catalog.current_setting('cloudsql.logical_decoding', true) AS cloudsql_logical_decoding,
          pg_catalog.current_setting('alloydb.logical_decoding', true) AS alloydb_logical_decoding
        """,
        {"roles": SIGNAL_ROLES, "prefixes": SIGNAL_SETTING_PREFIXES, "known": SIGNAL_SETTING_NAMES},
    )


PROVIDER_SIGNALS = SqlFact.one("provider_signals",
                               "roles, settings, functions and schemas that identify a managed service",
                               ProviderSignals, _signals,
                               scope=Scope.DATABASE)  # pg_proc, pg_namespace and pg_extension are per database
