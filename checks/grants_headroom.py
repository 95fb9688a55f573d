"""Connection headroom for the judged role: server slots, the role's limit, the database's limit.

A non-superuser cannot use the ``superuser_reserved_connections`` slots, nor (16+) the
``reserved_connections`` slots unless it is a member of ``pg_use_reserved_connections``. When the
checker cannot see other sessions' types, every such session is counted: the message says "could not see".
"""

from __future__ import annotations

from preflight.checks import grants_sql
from preflight.codes import Code, declare
from preflight.facts import RoleFact, SettingRow
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import RESERVED_CONNECTIONS, supports
from preflight.provider_detection import Provider
from preflight.remediation import raise_setting
from preflight.statements import Statement

FREE_CONNECTIONS = "Close idle sessions or pool the application's connections, or raise max_connections (a restart)."
CODES = declare(
    Code("no_connection_headroom", Severity.ERROR, "no connection is left for the consumer under max_connections",
         explain=FREE_CONNECTIONS),
    Code("low_connection_headroom", Severity.WARNING, "few connections are left for the consumer under max_connections",
         explain=FREE_CONNECTIONS),
    *(Code(f"{kind}_connection_limit", (Severity.WARNING, Severity.ERROR), f"the {kind}'s CONNECTION LIMIT leaves "
           "fewer connections than the consumer needs (an error when none is left)",
           explain=f"ALTER {kind.upper()} ... CONNECTION LIMIT to what the consumer needs.")
      for kind in ("role", "database")),
)

LOW_HEADROOM = 3  # fewer free server slots than this is a warning
CONSUMER_CONNECTIONS = 2  # a CDC consumer holds a replication connection plus at least one snapshot connection


def server_headroom(role: RoleFact, settings: dict[str, SettingRow], version_num: int,
                    provider: Provider) -> tuple[list[Finding], str]:
    """Findings about free server slots, and a short summary of them."""
    max_conn = settings.get("max_connections")
    if max_conn is None:
        return [], "max_connections not visible"
    total = max_conn.as_int()
    reserved, reserved_words = _reserved(role, settings, version_num)
    hidden = role.hidden_sessions
    in_use = max(role.client_backends + hidden - 1, 0)  # this check's own session will be gone
    free = total - reserved - in_use
    name = role.rolname
    seen = ""
    if not role.checker_sees_all:
        seen = (f" (could not see the type of {hidden} other session(s): the checker {role.checker} is not a "
                "superuser nor a member of pg_read_all_stats, so they are all counted as connections)")
    summary = f"{max(free, 0)}/{total} connections free for {name}"
    if free >= LOW_HEADROOM:
        return [], summary
    message = (f"{in_use} of max_connections={total} connections in use{seen}, {reserved} reserved"
               f"{reserved_words}: {max(free, 0)} left for {name} (not counting this check's own session).")
    severity = Severity.ERROR if free <= 0 else Severity.WARNING
    code = "no_connection_headroom" if free <= 0 else "low_connection_headroom"
    remediation = raise_setting(provider, max_conn, in_use + reserved + LOW_HEADROOM + CONSUMER_CONNECTIONS)
    remediation.steps.insert(0, "Close idle sessions (or pool the application's connections) before the cutover, "
                                "or raise max_connections:")
    return [Finding(
        code=code, severity=severity, object="max_connections", observed=f"{max(free, 0)} free",
        expected=f">= {LOW_HEADROOM} free", message=message,
        remediation=remediation,
    )], summary


def _reserved(role: RoleFact, settings: dict[str, SettingRow], version_num: int) -> tuple[int, str]:
    if role.rolsuper:
        return 0, " (a superuser may use the reserved slots)"
    su = settings.get("superuser_reserved_connections")
    reserved = su.as_int() if su else 0
    words = " for superusers"
    extra = settings.get("reserved_connections") if supports(version_num, RESERVED_CONNECTIONS) else None
    may_use = bool(role.memberships.get("pg_use_reserved_connections"))
    if extra is not None and extra.as_int() > 0 and not may_use:
        reserved += extra.as_int()
        words = " for superusers and pg_use_reserved_connections"
    return reserved, words


def limit_findings(role: RoleFact, needed: int, consumer: str, probe_pid: int | None = None) -> list[Finding]:
    """The role's and the database's CONNECTION LIMIT (superusers are exempt from both).

    ``needed``: the consumer's connections at once (walsenders count against these limits too);
    ``probe_pid``: the checker's own replication proof, left out of the counts by its process id.
    """
    if role.rolsuper:
        return []
    name, database = role.rolname, role.database
    own = {"role": 1 if role.is_checker else 0, "database": 1}  # this check's session will be gone
    role_now, database_now = role.connections_without(probe_pid)
    out: list[Finding] = []
    for kind, limit, now, obj in (
        ("role", role.rolconnlimit, role_now, name),
        ("database", role.datconnlimit, database_now, database),
    ):
        if limit is None or limit < 0:
            continue
        used = max(now - own[kind], 0)
        free = limit - used
        if free >= needed:
            continue
        out.append(Finding(
            code=f"{kind}_connection_limit", object=obj,
            severity=Severity.ERROR if free <= 0 else Severity.WARNING,
            observed=f"{used}/{limit} used", expected=f">= {needed} free",
            message=f"The {kind} {obj} has CONNECTION LIMIT {limit} and {used} other connection(s) now "
                    "(not counting this check's own session): "
                    f"{max(free, 0)} left, and {consumer} needs {needed} at once.",
            remediation=Remediation(sql=[_raise_limit(kind, obj, used + needed + 1)]),
        ))
    return out


def _raise_limit(kind: str, obj: str, limit: int) -> Statement:
    if kind == "role":
        return grants_sql.role_connection_limit(obj, limit)
    return grants_sql.database_connection_limit(obj, limit)
