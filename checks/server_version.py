"""Is this PostgreSQL version supported by the consumer, and still supported by the community?"""

from __future__ import annotations

from datetime import date

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.models import Finding, Remediation, Severity
from preflight.pg_versions import has_output_plugin_libraries

CODES = declare(
    Code("version_too_old", Severity.ERROR, "the server is older than the consumer's profile supports",
         explain="Upgrade PostgreSQL to the major version the profile names, or choose a consumer that supports it."),
    Code("version_end_of_life", Severity.WARNING, "the server's major version no longer gets community fixes",
         explain="Plan a major upgrade; replication keeps working, but bugs found in decoding are not fixed."),
    Code("output_plugin_allow_list", Severity.INFO, "the server has output_plugin_libraries: only listed plugins load",
         explain="Nothing here: the plugin_availability check says whether the consumer's plugin is listed."),
)

# Community end of life (the second Thursday of November, five years after release).
END_OF_LIFE = {10: date(2022, 11, 10), 11: date(2023, 11, 9), 12: date(2024, 11, 14), 13: date(2025, 11, 13),
               14: date(2026, 11, 12), 15: date(2027, 11, 11), 16: date(2028, 11, 9), 17: date(2029, 11, 8),
               18: date(2030, 11, 14)}


def human(version_num: int) -> str:
    major = version_num // 10000
    return f"{major}.{version_num % 10000}" if major >= 10 else f"{major}.{version_num // 100 % 100}"


class ServerVersion(Check):
    id = "server_version"
    report_order = 20
    title = "Server version supported"
    why = (
        "Logical decoding features arrive by major version (pgoutput 10, partitioned tables 13, row filters 15, "
        "standby decoding 16, failover slots 17); a major past its end of life gets no security fixes."
    )
    remediation = "Upgrade to a supported major version (pg_upgrade or a provider's major-version upgrade)."

    def run(self, ctx: CheckContext) -> Outcome:
        num = ctx.version_num
        major = num // 10000
        profile = ctx.profile
        findings: list[Finding] = []
        if num < profile.min_version_num:
            findings.append(Finding(
                code="version_too_old", severity=Severity.ERROR, object="server_version", observed=human(num),
                expected=f">= {human(profile.min_version_num)}",
                message=f"PostgreSQL {human(num)} is older than the {human(profile.min_version_num)} that profile "
                        f"'{profile.name}' requires.",
                remediation=_upgrade(),
            ))
        eol = END_OF_LIFE.get(major)
        if eol is not None and eol <= date.today():
            findings.append(Finding(
                code="version_end_of_life", severity=Severity.WARNING, object="server_version", observed=human(num),
                expected="a supported major",
                message=f"PostgreSQL {major} reached community end of life on {eol.isoformat()}: no more fixes.",
                remediation=_upgrade(),
            ))
        if has_output_plugin_libraries(num):
            findings.append(Finding(
                code="output_plugin_allow_list", severity=Severity.INFO, object="output_plugin_libraries",
                message=f"PostgreSQL {human(num)} has output_plugin_libraries: only listed output plugins may be used "
                        "(see plugin_availability).",
            ))
        summary = f"PostgreSQL {human(num)}" + (f", end of life since {eol.isoformat()}" if eol and eol <= date.today() else "")
        return Outcome(findings, summary)


def _upgrade() -> Remediation:
    return Remediation(steps=["Upgrade to a supported major version (pg_upgrade, or the provider's major upgrade)."])
