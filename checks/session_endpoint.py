"""Is the DSN one session-stable primary backend? Poolers in transaction mode and reader endpoints break CDC."""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.connection import parse_dsn
from preflight.facts import SESSION_PROBE, ProbeStatus, SessionProbeResult
from preflight.models import Finding, Remediation, Severity

CODES = declare(
    Code("dsn_targets_reader", Severity.ERROR, "the DSN asks libpq for a standby or read-only server",
         explain="Point the consumer at the primary (target_session_attrs=read-write)."),
    Code("dsn_hosts_unpinned", Severity.WARNING, "the DSN lists several hosts without requiring the primary",
         explain="Add target_session_attrs=read-write."),
    Code("snapshot_not_shared", Severity.ERROR, "two sessions of the DSN reached different servers",
         explain="Point the consumer at one server's endpoint, not a reader endpoint or load balancer."),
    Code("statement_pooled", Severity.ERROR, "the DSN is a pooler in statement mode",
         explain="Connect the consumer to the server directly."),
    Code("session_probe_failed", Severity.WARNING, "the two-session proof could not run",
         explain="Read the reason; re-run once the DSN accepts two sessions."),
    Code("transaction_pooled", Severity.ERROR, "the DSN is a pooler in transaction mode",
         explain="Connect the consumer to the server directly."),
    Code("proxied_endpoint", Severity.WARNING, "a pooler or proxy in session mode answers the DSN",
         explain="Prefer the server's own endpoint for the consumer."),
    Code("session_stable", Severity.INFO, "two sessions reached PostgreSQL itself and shared a snapshot",
         explain="Nothing to do."),
)

READER_ATTRS = ("read-only", "standby", "prefer-standby")
WRITER_ATTRS = ("read-write", "primary")


def direct_host(probe: SessionProbeResult) -> str:
    """The backend's own address as it sees the connection (behind a pooler: where the pooler connects)."""
    if probe.server_addr:
        return f"{probe.server_addr} port {probe.server_port}"
    return "the server's own host and port (a Unix socket behind the pooler: the pooler's [databases] entry)"


class SessionEndpoint(Check):
    id = "session_endpoint"
    report_order = 140
    title = "One session-stable primary backend behind the DSN"
    facts = (SESSION_PROBE,)
    why = (
        "A CDC consumer keeps state on its sessions: the snapshot exported when its slot is created is read "
        "by another session (SET TRANSACTION SNAPSHOT), its transactions and prepared statements stay on one "
        "backend, and its replication connection must reach the server itself. A pooler in transaction or "
        "statement mode moves a session between backends and refuses replication connections; a reader "
        "endpoint or a multi-host DSN may put the second session on another server, where the snapshot "
        "does not exist. Two read-only sessions of the DSN prove it: one exports a snapshot, the other "
        "imports it, and their backends are compared."
    )
    remediation = ("Point the consumer at the primary's direct host and port (not a pooler, reader endpoint or "
                   "read-only service), with target_session_attrs=read-write when the DSN lists several hosts.")

    def run(self, ctx: CheckContext) -> Outcome:
        probe = ctx.fact(SESSION_PROBE)
        findings = self._dsn_findings(ctx)
        if probe.status is ProbeStatus.FAILED:
            findings.append(self._failed(probe))
        elif probe.status is ProbeStatus.OK:
            findings += self._proven(probe)
        problems = "; ".join(f.code for f in findings if f.severity is not Severity.INFO)
        return Outcome(findings, problems or "session-stable, direct to PostgreSQL")

    @staticmethod
    def _dsn_findings(ctx: CheckContext) -> list[Finding]:
        params = parse_dsn(ctx.options.dsn).effective()
        attrs = params.get("target_session_attrs", "any")
        hosts = [h for h in params.get("host", "").split(",") if h]
        if attrs in READER_ATTRS:
            return [Finding(
                code="dsn_targets_reader", severity=Severity.ERROR, object="target_session_attrs", observed=attrs,
                expected="read-write",
                message=f"The DSN asks libpq for a {attrs} server (target_session_attrs={attrs}): the consumer's "
                        "slot and publication must be created on the primary, and its sessions must all reach it.",
                remediation=Remediation(steps=["Use target_session_attrs=read-write (or primary) and the primary's "
                                               "host for the CDC connection."]))]
        if len(hosts) > 1 and attrs not in WRITER_ATTRS:
            return [Finding(
                code="dsn_hosts_unpinned", severity=Severity.WARNING, object="host", observed=",".join(hosts),
                expected="target_session_attrs=read-write",
                message=f"The DSN lists {len(hosts)} hosts with target_session_attrs={attrs}: libpq takes the first "
                        "that answers, which after a failover (or with load_balance_hosts) can be a standby, and the "
                        "consumer's two sessions can reach different servers. This run reached one of them; which "
                        "one the consumer reaches the report cannot see.",
                remediation=Remediation(steps=["Add target_session_attrs=read-write to the consumer's DSN."]))]
        return []

    @staticmethod
    def _failed(probe: SessionProbeResult) -> Finding:
        if probe.kind == "snapshot_not_shared":
            return Finding(
                code="snapshot_not_shared", severity=Severity.ERROR, object="dsn", observed="import refused",
                expected="the same server",
                message="A second session of the DSN could not import the snapshot the first one exported: the two "
                        f"sessions reached different servers (a reader endpoint or load balancer). Server said: "
                        f"{probe.detail}",
                remediation=Remediation(steps=[f"Use the primary's own host for the consumer ({direct_host(probe)} "
                                               "answered the first session), not a reader or load-balanced endpoint."]))
        if probe.kind == "statement_pooling":
            return Finding(
                code="statement_pooled", severity=Severity.ERROR, object="dsn", observed="statement pooling",
                expected="a session of its own",
                message=f"The DSN is a pooler in statement mode: it refuses transactions. Server said: {probe.detail}",
                remediation=Remediation(steps=[f"Connect the consumer directly to {direct_host(probe)}."]))
        return Finding(
            code="session_probe_failed", severity=Severity.WARNING, object="dsn", observed=probe.kind,
            message=f"The two-session proof could not run, so session stability is not proven: {probe.detail}",
            remediation=Remediation(steps=["Check that the DSN opens two sessions at once (connection limits, pooler "
                                           "pool size)."]))

    @staticmethod
    def _proven(probe: SessionProbeResult) -> list[Finding]:
        findings: list[Finding] = []
        if probe.session_moves:
            findings.append(Finding(
                code="transaction_pooled", severity=Severity.ERROR, object="dsn", observed="session moved backend",
                expected="one backend per session",
                message=f"One session of the DSN ran its next transaction on another backend (pid {probe.second_pid} "
                        f"then {probe.second_pid_again}): a pooler in transaction mode. The consumer's exported "
                        "snapshot, prepared statements and session settings do not survive it, and its replication "
                        "connection is refused.",
                remediation=Remediation(steps=[f"Point the consumer at PostgreSQL directly ({direct_host(probe)} as the "
                                               "pooler reaches it), or at a session-mode pool for its ordinary "
                                               "sessions and the direct host for replication."])))
        elif probe.proxied or probe.startup_options is False:
            how = ("refused the options startup parameter" if probe.startup_options is False else
                   f"announced process {probe.announced_pid} while the backend is {probe.first_pid}")
            findings.append(Finding(
                code="proxied_endpoint", severity=Severity.WARNING, object="dsn", observed="proxy",
                expected="PostgreSQL itself",
                message=f"Something other than PostgreSQL answered the DSN (it {how}): a pooler or proxy in session "
                        "mode. Sessions stayed on their backend and shared a snapshot, but whether the consumer's "
                        "replication connection passes depends on the proxy (see the grants check's replication "
                        "probe) and on its pool mode for other users, which this run cannot see.",
                remediation=Remediation(steps=[f"Prefer the direct host for CDC ({direct_host(probe)} as the proxy "
                                               "reaches it)."])))
        if not findings:
            findings.append(Finding(code="session_stable", severity=Severity.INFO, object="dsn",
                                    message="Two sessions of the DSN reached PostgreSQL itself and shared an exported "
                                            "snapshot."))
        return findings
