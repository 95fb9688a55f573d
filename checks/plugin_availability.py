"""Can the consumer's output plugin load? Built in, installed, and allowed by output_plugin_libraries."""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import (
    PLUGIN_PROBE,
    PLUGIN_SUPPORT,
    PluginProbeKind,
    PluginProbeResult,
    PluginSupport,
    ProbeStatus,
    SettingRow,
)
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import PGOUTPUT, has_output_plugin_libraries, supports
from preflight.provider_detection import Provider
from preflight.remediation import change_setting
from preflight.statements import Grant

CODES = declare(
    Code("pgoutput_needs_10", Severity.ERROR, "pgoutput is built in only from PostgreSQL 10",
         explain="Upgrade the server, or use an output plugin installed on it."),
    Code("plugin_not_verified", Severity.WARNING, "a plugin that is not built in, and no probe proved that it loads",
         explain="Run with --probe: a TEMPORARY slot proves the plugin loads, and is dropped."),
    Code("plugin_not_allowed", Severity.ERROR, "output_plugin_libraries does not list the consumer's plugin",
         explain="Add the plugin to output_plugin_libraries (the provider's parameter on a managed server)."),
    Code("allowlist_not_visible", (Severity.INFO, Severity.WARNING), "output_plugin_libraries is hidden from the "
         "checking role (info when the plugin is proven or always allowed)",
         explain="GRANT pg_read_all_settings to the checking role, or run with --probe."),
    Code("plugin_library_missing", Severity.ERROR, "the probe's slot failed: the plugin is not installed",
         explain="Install the output plugin's package on the server."),
    Code("plugin_not_allowed_probe", Severity.ERROR, "the probe's slot was refused: the plugin is not allowed",
         explain="Add the plugin to output_plugin_libraries."),
    Code("plugin_probe_inconclusive", Severity.WARNING, "the probe could not prove that the plugin loads",
         explain="Read why; re-run with --probe as a role with REPLICATION once it is fixed."),
    Code("plugin_probe_timeout", Severity.WARNING, "the probe gave up waiting for older transactions to end",
         explain="End the long transactions (long_transactions lists them), then probe again."),
)

BUILT_IN = "pgoutput"
DEFAULT_ALLOWED = ("pgoutput", "test_decoding")
ALLOWLIST = "output_plugin_libraries"
MANAGED = ("On a managed service the plugin must be one the provider ships and allows (e.g. wal2json on RDS, "
           "Cloud SQL and Azure); it cannot be installed by hand.")


def install_steps(plugin: str, major: int) -> list[str]:
    """Where the plugin's shared library comes from, per known plugin."""
    if plugin == "pgoutput":
        return ["pgoutput is built into PostgreSQL 10 and later: upgrade the server if it is missing."]
    if plugin == "test_decoding":
        return ["test_decoding ships with contrib: install postgresql-contrib (Debian/Ubuntu; RHEL: "
                f"postgresql{major}-contrib) on the server.", MANAGED]
    if plugin in ("wal2json", "decoderbufs"):
        return [f"Install the {plugin} library on the server: Debian/Ubuntu apt-get install "
                f"postgresql-{major}-{plugin} (RHEL/PGDG: {plugin}_{major}); no restart is needed.", MANAGED]
    return [f"Install the '{plugin}' output plugin's shared library into the server's library directory "
            "(pg_config --pkglibdir) and check its name.", MANAGED]


def parse_list(value: str) -> list[str]:
    """A GUC list ('a, "b"') as raw names."""
    return [part.strip().strip('"') for part in value.split(",") if part.strip()]


def allowlist_fix(provider: Provider, current: str, context: str | None, plugin: str) -> Remediation:
    """Add ``plugin`` to the allow-list, keeping every existing entry (one literal per entry: a single
    'a, b' literal would be stored as ONE quoted entry for a list GUC)."""
    setting = SettingRow(name=ALLOWLIST, setting=current, context=context or "")
    return change_setting(provider, ALLOWLIST, [*parse_list(current), plugin], setting)


class PluginAvailability(Check):
    id = "plugin_availability"
    report_order = 110
    title = "Output plugin available"
    facts = (PLUGIN_SUPPORT, PLUGIN_PROBE)
    why = ("The consumer creates its slot with an output plugin (pgoutput, wal2json, ...). A plugin whose library "
           "is missing, or that output_plugin_libraries does not allow, makes slot creation fail at cutover.")
    remediation = ("Install the plugin's package on the server, add it to output_plugin_libraries where that "
                   "setting exists, and prove it with --probe.")

    def run(self, ctx: CheckContext) -> Outcome:
        plugin = ctx.options.plugin
        support = ctx.fact(PLUGIN_SUPPORT)
        probe = ctx.fact(PLUGIN_PROBE)
        version = support.server_version_num
        findings: list[Finding] = []
        if plugin == BUILT_IN and not supports(version, PGOUTPUT):
            findings.append(Finding(code="pgoutput_needs_10", severity=Severity.ERROR, object=plugin,
                                    observed=version, expected=">= 100000",
                                    message="pgoutput is built in only from PostgreSQL 10.",
                                    remediation=Remediation(steps=["Upgrade PostgreSQL."])))
        allow, allow_note = self._allowlist(ctx, plugin, support, probe)
        findings += allow
        if not (probe.kind is PluginProbeKind.NOT_ALLOWED and any(f.code == "plugin_not_allowed" for f in allow)):
            findings += self._probe(plugin, version, probe, support, ctx.provider)
        if probe.status is ProbeStatus.SKIPPED and probe.kind is PluginProbeKind.NOT_REQUESTED and plugin != BUILT_IN \
                and not any(f.severity is Severity.ERROR for f in findings):
            findings.append(Finding(
                code="plugin_not_verified", severity=Severity.WARNING, object=plugin, observed="not verified",
                expected="loads", message=f"Output plugin '{plugin}' is not built in and was not verified: there is "
                "no catalog of installed output plugins; run with --probe to create (and drop) a TEMPORARY slot "
                "with it.", remediation=Remediation(steps=["Re-run with --probe.", *install_steps(plugin, version // 10000)])))
        return Outcome(findings, self._summary(plugin, probe, allow_note))

    def _allowlist(self, ctx: CheckContext, plugin: str, support: PluginSupport,
                   probe: PluginProbeResult) -> tuple[list[Finding], str]:
        version = support.server_version_num
        current = support.output_plugin_libraries
        if support.allowlist_visible and current is not None:
            if plugin in parse_list(current):
                return [], f"allowed by {ALLOWLIST}"
            return [Finding(
                code="plugin_not_allowed", severity=Severity.ERROR, object=ALLOWLIST, observed=current,
                expected=f"includes {plugin}",
                message=f"{ALLOWLIST} = '{current}' does not include '{plugin}': creating a slot with it fails "
                        f"(SQLSTATE 42501, library \"{plugin}\" may not be used as an output plugin), even for "
                        "superusers and even when the library is installed."
                        + (" Confirmed by the probe." if probe.kind is PluginProbeKind.NOT_ALLOWED else ""),
                remediation=allowlist_fix(ctx.provider, current, support.allowlist_context, plugin),
            )], f"not in {ALLOWLIST}"
        if support.can_read_settings or not has_output_plugin_libraries(version):
            return [], f"no {ALLOWLIST} on this server version"
        settled = probe.status is ProbeStatus.OK or plugin in DEFAULT_ALLOWED
        severity = Severity.INFO if settled else Severity.WARNING
        role = support.role
        grant = Grant(role, "pg_read_all_settings", "membership")
        return [Finding(
            code="allowlist_not_visible", severity=severity, object=ALLOWLIST, observed="could not see",
            expected=f"includes {plugin}",
            message=f"Could not see {ALLOWLIST} (this server version has it, but only superusers and members of "
                    f"pg_read_all_settings can read it; role {role} is neither): whether '{plugin}' is allowed "
                    "is unknown. Its default allows only pgoutput and test_decoding.",
            remediation=Remediation(sql=[grant], steps=["Or re-run with --probe: a refused plugin fails with a HINT "
                                                        f"naming {ALLOWLIST}."]),
        )], f"could not see {ALLOWLIST}"

    def _probe(self, plugin: str, version: int, probe: PluginProbeResult, support: PluginSupport,
               provider: Provider) -> list[Finding]:
        status, kind = probe.status, probe.kind
        if status is ProbeStatus.OK or kind is PluginProbeKind.NOT_REQUESTED:
            return []
        detail = probe.detail or probe.reason or ""
        major = version // 10000
        if kind is PluginProbeKind.LIBRARY_MISSING:
            return [Finding(code="plugin_library_missing", severity=Severity.ERROR, object=plugin,
                            observed="library missing", expected="installed",
                            message=f"Output plugin '{plugin}' is not installed on the server: the probe's TEMPORARY "
                                    f"slot failed with SQLSTATE 58P01 ({detail}).",
                            remediation=Remediation(steps=[*install_steps(plugin, major)]))]
        if kind is PluginProbeKind.NOT_ALLOWED:
            current = support.output_plugin_libraries
            return [Finding(code="plugin_not_allowed_probe", severity=Severity.ERROR, object=ALLOWLIST,
                            observed=current or "refused", expected=f"includes {plugin}",
                            message=f"The probe was refused with SQLSTATE 42501 ({detail}). {probe.hint or ''}".strip(),
                            remediation=allowlist_fix(provider, current, support.allowlist_context, plugin)
                            if current else Remediation(
                                steps=[f"Add '{plugin}' to {ALLOWLIST} (keeping its current "
                                       "entries: SHOW output_plugin_libraries as a superuser), then reload."]))]
        if kind is PluginProbeKind.TIMEOUT:
            return [self._timeout(plugin, probe)]
        reasons = {
            PluginProbeKind.PRIVILEGE: "the checker's role may not create replication slots (see the grants check)",
            PluginProbeKind.WAL_LEVEL: "wal_level is not logical (see logical_replication)",
            PluginProbeKind.IN_RECOVERY: "the server is in recovery (see writer_status)",
            PluginProbeKind.STANDBY_BEFORE_16: "a standby before PostgreSQL 16 cannot create logical slots (see writer_status)",
            PluginProbeKind.NO_FREE_SLOT: "no replication slot is free (see slot_capacity)",
            PluginProbeKind.CONNECT: "the probe's own connection failed",
        }
        why = reasons.get(kind, "the probe failed") if kind is not None else "the probe failed"
        return [Finding(code="plugin_probe_inconclusive", severity=Severity.WARNING, object=plugin,
                        observed=str(kind), expected="loads",
                        message=f"Could not prove that '{plugin}' loads: {why}" + (f" ({detail})." if detail else "."),
                        remediation=Remediation(steps=["Fix the cause above, then re-run with --probe."]))]

    def _timeout(self, plugin: str, probe: PluginProbeResult) -> Finding:
        blockers = probe.blockers
        pids = ", ".join(str(p) for p in (blockers.pids if blockers else [])) or "none visible"
        oldest = blockers.oldest_xact_s if blockers else None
        age = f", oldest {oldest:.0f} s" if oldest is not None else ""
        return Finding(
            code="plugin_probe_timeout", severity=Severity.WARNING, object=plugin, observed="timed out",
            expected="loads",
            message=f"The probe gave up after {probe.wait_bound_s} s waiting for older transactions to end "
                    f"(slot creation waits for every transaction holding an xid: {blockers.xid_sessions if blockers else '?'} "
                    f"session(s){age}, pids {pids}; {blockers.prepared if blockers else '?'} prepared transaction(s)). "
                    "The consumer's own slot creation will wait the same way. See long_transactions.",
            remediation=Remediation(steps=["End or commit the long transactions (COMMIT PREPARED / ROLLBACK PREPARED "
                                           "for prepared ones), then re-run with --probe."]))

    def _summary(self, plugin: str, probe: PluginProbeResult, allow_note: str) -> str:
        if probe.status is ProbeStatus.OK:
            state = "loads (probed with a TEMPORARY slot)"
        elif probe.kind is PluginProbeKind.NOT_REQUESTED:
            state = "built in" if plugin == BUILT_IN else "not verified (no --probe)"
        else:
            state = f"probe: {probe.kind}"
        return f"{plugin}: {state}; {allow_note}"
