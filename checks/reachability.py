"""Can we connect at all? Classifies failures in plain words; reports version and connect latency."""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.connection.failures import KINDS
from preflight.models import Finding, Remediation, Severity

CODES = declare(
    *(Code(f"connect_{kind}", Severity.ERROR, f"no session: {message}", explain=advice) for kind, message, advice in KINDS),
    Code("connected", Severity.INFO, "a session was opened: the server's version and how long connecting took",
         explain="Nothing to do."),
    Code("ssl_required", Severity.ERROR, "the session is not encrypted and the consumer's profile requires TLS",
         explain="Connect with sslmode=require (or verify-full) and make sure the server has ssl = on."),
)


class Reachability(Check):
    id = "reachability"
    report_order = 10
    title = "Server reachable"
    needs_connection = False  # it reports why there is no session
    why = (
        "Every other check needs a session. A CDC consumer connects the same way, so a failure here "
        "(DNS, firewall, TLS, pg_hba.conf, credentials, connection slots) would stop it too."
    )
    remediation = "Follow the advice for the failure kind: fix the DSN, network path, pg_hba.conf or credentials."

    def run(self, ctx: CheckContext) -> Outcome:
        connect = ctx.snapshot.connect
        server = ctx.snapshot.server
        if not connect.ok or server is None:
            kind = connect.failure_kind or "other"
            finding = Finding(
                code=f"connect_{kind}",
                severity=Severity.ERROR,
                message=f"Could not connect: {connect.failure_message}. Server said: {connect.detail}",
                observed=kind,
                expected="a session",
                remediation=Remediation(steps=[connect.advice] if connect.advice else []),
            )
            return Outcome([finding], f"cannot connect: {connect.failure_message}")
        latency = f"{connect.latency_ms:.0f} ms" if connect.latency_ms is not None else "?"
        tls = {True: ", TLS", False: ", no TLS", None: ""}[server.ssl]
        findings = [Finding(
            code="connected",
            severity=Severity.INFO,
            message=f"Connected to PostgreSQL {server.version} in {latency}{tls}",
            observed=server.version,
        )]
        if ctx.profile.ssl_required and not server.ssl:
            findings.append(Finding(
                code="ssl_required", severity=Severity.ERROR, object="sslmode", observed="unencrypted", expected="TLS",
                message=f"The session is not encrypted, and profile '{ctx.profile.name}' requires SSL/TLS.",
                remediation=Remediation(steps=["Connect with sslmode=require (or verify-full) and make sure the "
                                               "server has ssl = on."]),
            ))
        return Outcome(findings, f"PostgreSQL {server.version}, connected in {latency}{tls}")
