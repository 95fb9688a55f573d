"""Do two selected tables end up under one name at the consumer, or carry a name it refuses?

Consumers name what they write per table by rules of their own: Debezium's Kafka topics replace every character
outside [a-zA-Z0-9._-] with an underscore; lakehouse and warehouse sinks fold case. PostgreSQL keeps "Orders"
and "orders", or "a b" and "a_b", apart; after the consumer's rules they are one target, and the two tables'
rows and changes land together. The rules are the profile's ``naming`` data (docs/consumers.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from preflight.check import Check, CheckContext, Outcome
from preflight.codes import Code, declare
from preflight.facts import TABLES, TableRow
from preflight.models import Finding, Remediation, Severity
from preflight.names import format_name
from preflight.profiles import NamingRule
from preflight.relations import is_publishable

CODES = declare(
    Code("identifier_rejected", Severity.ERROR, "a name with characters the consumer refuses for its target",
         explain="Rename the table, or configure the consumer's name mapping."),
    Code("identifier_rewritten", Severity.INFO, "tables whose target name differs from theirs",
         explain="Nothing, unless something downstream expects the original names."),
    Code("identifier_collision", (Severity.WARNING, Severity.ERROR), "tables that map to one target name (severity "
         "from the consumer's profile)", explain="Rename one of them, or route them to different targets."),
)

SEVERITY = {"warning": Severity.WARNING, "error": Severity.ERROR}


@dataclass(frozen=True)
class Target:
    """What the consumer names one table: ``name`` after its rules, ``refused`` the characters it rejects."""

    name: str
    rewritten: bool
    refused: str


def target_of(schema: str, table: str, rule: NamingRule) -> Target:
    """The target name of ``schema.table`` under ``rule``: case folded, then characters outside ``allowed``
    replaced (or, with ``reject``, collected as refused)."""
    raw = rule.template.format(schema=schema, table=table)
    name = raw.lower() if rule.fold == "lower" else raw.upper() if rule.fold == "upper" else raw
    outside = re.compile(f"[^{rule.allowed}]")
    refused = "".join(dict.fromkeys(outside.findall(name))) if rule.reject else ""
    if not rule.reject:
        name = outside.sub(rule.replacement, name)
    return Target(name, name != raw, refused)


def collisions(rows: list[TableRow], rule: NamingRule) -> dict[str, list[str]]:
    """Target name -> the selected tables (two or more) that map to it."""
    by_target: dict[str, list[str]] = {}
    for row in rows:
        by_target.setdefault(target_of(row.schema, row.name, rule).name, []).append(format_name(row.schema, row.name))
    return {target: keys for target, keys in by_target.items() if len(keys) > 1}


def named_tables(rows: list[TableRow], version_num: int) -> list[TableRow]:
    """The selected tables the consumer names: those a publication can carry."""
    return [r for r in rows if is_publishable(r, version_num)]


class Identifiers(Check):
    id = "identifiers"
    report_order = 152
    title = "Table names after the consumer's naming rules"
    requires = ("reachability",)
    facts = (TABLES,)
    why = (
        "Consumers name each table's target by rules of their own (Debezium topics replace characters outside "
        "[a-zA-Z0-9._-] with '_'; lakehouse and warehouse sinks fold case). Two selected tables that PostgreSQL keeps "
        "apart but that map to one target write into the same topic or table (identifier_collision); a name with a "
        "character the consumer refuses stops it (identifier_rejected). Renamed targets without a clash are listed "
        "(identifier_rewritten). The rules are the profile's naming data."
    )
    remediation = (
        "Rename one of the colliding tables (ALTER TABLE ... RENAME TO, which the application must follow), route one "
        "of them to a target of its own in the consumer's configuration (e.g. a topic routing transform), or leave one "
        "out of the selection."
    )

    def run(self, ctx: CheckContext) -> Outcome:
        rule = ctx.profile.naming
        if rule is None:
            return Outcome([], f"profile '{ctx.profile.name}' has no naming rules")
        rows = named_tables(ctx.fact(TABLES), ctx.version_num)
        findings = [_collision(target, keys, rule) for target, keys in collisions(rows, rule).items()]
        rewritten: list[str] = []
        for row in rows:
            target = target_of(row.schema, row.name, rule)
            key = format_name(row.schema, row.name)
            if target.refused:
                findings.append(Finding(
                    code="identifier_rejected", severity=Severity.ERROR, object=key, observed=target.refused,
                    expected=f"only [{rule.allowed}]",
                    message=f"{key} names its {rule.target} {target.name!r}, with character(s) {target.refused!r} the "
                            f"consumer refuses (source: {rule.source}).",
                    remediation=Remediation(steps=[f"Rename {key} or leave it out of the selection."])))
            elif target.rewritten:
                rewritten.append(f"{key} -> {target.name}")
        if rewritten:
            more = f" and {len(rewritten) - 10} more" if len(rewritten) > 10 else ""
            findings.append(Finding(
                code="identifier_rewritten", severity=Severity.INFO, observed=len(rewritten), count=len(rewritten),
                message=f"{len(rewritten)} table(s) get a {rule.target} name different from theirs: "
                        f"{', '.join(rewritten[:10])}{more} (source: {rule.source})."))
        return Outcome(findings, f"{len(rows)} table(s) named by {rule.target} rules; "
                                 f"{sum(1 for f in findings if f.code == 'identifier_collision')} collision(s)")


def _collision(target: str, keys: list[str], rule: NamingRule) -> Finding:
    tables = ", ".join(keys)
    return Finding(
        code="identifier_collision", severity=SEVERITY[rule.collision], object=keys[0], observed=tables,
        expected=f"one table per {rule.target}",
        message=f"Tables {tables} all map to the {rule.target} {target!r} (source: {rule.source}): their rows and "
                "changes land in one target, mixed, and a consumer keyed by table name applies one table's changes to "
                "the other's rows.",
        remediation=Remediation(steps=[f"Rename all but one of {tables}, route them to targets of their own in the "
                                       "consumer's configuration, or leave all but one out of the selection."]))
