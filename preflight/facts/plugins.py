"""What decides whether an output plugin may load: the ``output_plugin_libraries`` allow-list.

The setting exists only on newer minors (observed: 15.19+, 16.15+, 17.11+, 18.6+) and its
``pg_settings`` row is visible only to superusers and ``pg_read_all_settings`` members. An absent
row is therefore ambiguous; this fact carries what tells the two cases apart: the version and
whether the checker could have seen the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from preflight.facts.base import FactContext, Scope, SqlFact


@dataclass(frozen=True, slots=True)
class PluginSupport:
    """The output-plugin allow-list when visible, and whether the checker could have seen it."""

    server_version_num: int
    in_recovery: bool
    role: str
    is_superuser: bool
    can_read_settings: bool
    allowlist_visible: bool
    output_plugin_libraries: str | None = None
    allowlist_context: str | None = None


def _plugin_support(ctx: FactContext) -> tuple[str, dict[str, Any]]:
    return (
        """
        SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4 AS server_version_num,
               pg_catalog.pg_is_in_recovery() AS in_recovery,
               CURRENT_USER::pg_catalog.text AS role,
               COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = CURRENT_USER), false)
                 AS is_superuser,
               COALESCE((SELECT r.rolsuper FROM pg_catalog.pg_roles AS r WHERE r.rolname = CURRENT_USER), false)
                 OR pg_catalog.pg_has_role(CURRENT_USER, 'pg_read_all_settings', 'USAGE') AS can_read_settings,
               EXISTS (SELECT 1 FROM pg_catalog.pg_settings AS s WHERE s.name = 'output_plugin_libraries')
                 AS allowlist_visible,
               (SELECT s.setting FROM pg_catalog.pg_settings AS s WHERE s.name = 'output_plugin_libraries')
                 AS output_plugin_libraries,
               (SELECT s.context FROM pg_catalog.pg_settings AS s WHERE s.name = 'output_plugin_libraries')
                 AS allowlist_context
        """,
        {},
    )


PLUGIN_SUPPORT = SqlFact.one(
    "plugin_support",
    "output_plugin_libraries when visible, and whether the checker could see it (superuser / pg_read_all_settings)",
    PluginSupport,
    _plugin_support,
    scope=Scope.CLUSTER,  # the allow-list applies to the walsenders of every database; the role's superuser bits
)
