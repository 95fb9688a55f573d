"""Formatting settings stored for the CDC role or database change the text a consumer parses."""

from __future__ import annotations

from preflight.check import Check, CheckContext, Outcome
from preflight.checks.session_timeouts import WHERE, fix
from preflight.codes import Code, declare
from preflight.facts import ROLE_SETTINGS, RoleSettingRow
from preflight.facts.role_settings import effective
from preflight.models import Finding, Remediation, Severity
from preflight.profiles import consumer_sessions

CODES = declare(
    Code("text_format_overridden", Severity.INFO, "a stored text-format setting the consumer overrides when it connects",
         explain="Nothing to do."),
    Code("text_format_lossy", (Severity.WARNING, Severity.ERROR), "a stored setting changes values' text so the "
         "consumer loses information", explain="ALTER ROLE ... RESET the setting for the CDC role."),
    Code("text_format_changed", (Severity.WARNING, Severity.ERROR), "a stored setting changes the text of values the "
         "consumer parses", explain="ALTER ROLE ... RESET the setting for the CDC role."),
)

# name -> (the value that keeps text as consumers expect it, what a stored other value changes)
FORMATS: dict[str, tuple[str, str]] = {
    "datestyle": ("ISO, MDY", "dates and timestamps are written in another style (SQL, Postgres or German: "
                              "day/month order and separators change), which an ISO parser rejects or misreads"),
    "intervalstyle": ("postgres", "intervals are written in another style (iso_8601, sql_standard, postgres_verbose)"),
    "timezone": ("UTC", "timestamptz values are written with this zone's offset: an instant is kept only by a parser "
                        "that reads the offset"),
    "extra_float_digits": ("1", "real and double precision values are written rounded (fewer digits than "
                                "stored): the consumer receives other numbers than the table holds"),
    "bytea_output": ("hex", "bytea values are written in the escape format, not hex"),
}


def harmless(name: str, value: str) -> bool:
    """A stored value that writes text as the defaults do."""
    text = value.strip().strip("'\"").lower()
    if name == "datestyle":
        return not ({p.strip() for p in text.split(",")} & {"sql", "postgres", "german"})
    if name == "extra_float_digits":
        try:
            return int(text) >= 1
        except ValueError:
            return False
    if name == "timezone":
        return text in ("utc", "etc/utc", "gmt", "z", "zulu", "universal", "0")
    return text == FORMATS[name][0]


class TextSettings(Check):
    id = "text_settings"
    report_order = 143
    title = "No formatting settings stored for the CDC role or database"
    facts = (ROLE_SETTINGS,)
    why = (
        "Output plugins write values as text with the walsender session's settings (pgoutput in text mode, "
        "wal2json, test_decoding), and that session starts with what ALTER ROLE/ALTER DATABASE ... SET "
        "stored (DateStyle, IntervalStyle, TimeZone, extra_float_digits, bytea_output) unless the consumer "
        "sets them itself when it connects. A consumer that parses the text then misreads dates, or receives "
        "rounded floats: lost data nothing reports."
    )
    remediation = ("Set the default formatting for the CDC role in this database (ALTER ROLE ... IN DATABASE ... "
                   "SET DateStyle = 'ISO, MDY', extra_float_digits = 1, ...): other roles keep theirs.")

    def run(self, ctx: CheckContext) -> Outcome:
        consumer = consumer_sessions(ctx.profile)
        winners = effective(ctx.fact(ROLE_SETTINGS))
        findings: list[Finding] = []
        for name in FORMATS:
            row = winners.get(name)
            if row is None or harmless(name, row.value):
                continue
            if not consumer.parses_text or name in consumer.sets_at_connect:
                findings.append(Finding(
                    code="text_format_overridden", severity=Severity.INFO, object=name, observed=row.value,
                    message=f"{name} = {row.value} is stored for role {row.rolname} in database {row.datname}; "
                            f"profile '{ctx.profile.name}' sets {name} itself when it connects, so its text is unchanged."))
                continue
            findings.append(self._finding(ctx, row, consumer.documented))
        summary = ", ".join(f"{f.object}={f.observed}" for f in findings) or "no formatting setting stored"
        return Outcome(findings, summary)

    @staticmethod
    def _finding(ctx: CheckContext, row: RoleSettingRow, documented: bool) -> Finding:
        default, changes = FORMATS[row.name]
        lossy = row.name == "extra_float_digits"
        breaks = documented and row.name in ("datestyle", "extra_float_digits")
        if breaks:
            verdict = f"profile '{ctx.profile.name}' parses this text and does not set {row.name} when it connects"
        else:
            verdict = (f"whether the consumer (profile '{ctx.profile.name}') sets {row.name} when it connects or parses "
                       "this style is not known to this report")
        set_by = WHERE[row.level].format(r=row.rolname, d=row.datname)
        return Finding(
            code="text_format_lossy" if lossy else "text_format_changed",
            severity=Severity.ERROR if breaks else Severity.WARNING,
            object=row.name, observed=row.value, expected=default,
            message=f"{row.name} = {row.value} is stored for role {row.rolname} in database {row.datname} ({set_by}): "
                    f"{changes}; {verdict}.",
            remediation=Remediation(sql=[fix(row, default)],
                                    steps=["Or make the consumer set it when it connects (options=-c "
                                           f"{row.name}=...) on every session, the replication connection included."]),
        )
