"""The report: pydantic models of the JSON contract (``schema_version`` "1"), enums and exit codes.

Everything a format renders or a program consumes is defined here, so the contract has one source.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum, IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic.dataclasses import dataclass

from preflight.statements import (
    Advice,
    OnPrimary,
    Restart,
    SettingChange,
    Statement,
    as_statement,
    as_step,
    statement_text,
    step_text,
)

Scalar = str | int | float | bool | None


class Severity(str, Enum):
    """How bad one finding is."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class CheckStatus(str, Enum):
    """The outcome of one check, derived from its findings (or from why it could not run)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"


class Verdict(str, Enum):
    """What the report says about the server, independent of ``--fail-on``."""

    READY = "ready"
    NOT_READY = "not_ready"
    INCOMPLETE = "incomplete"


# How every human-readable format spells the verdict (keyed by ``Verdict`` value).
VERDICT_WORDS: dict[str, str] = {Verdict.READY.value: "READY", Verdict.NOT_READY.value: "NOT READY",
                                 Verdict.INCOMPLETE.value: "INCOMPLETE"}


class FailOn(str, Enum):
    """The exit-code threshold chosen with ``--fail-on``."""

    ERROR = "error"
    WARNING = "warning"
    NEVER = "never"


class ExitCode(IntEnum):
    """Process exit codes (docs/json-contract.md): 0 ok, 1 a finding reached --fail-on, 2 usage, 3 a check
    errored, 4 the server could not be reached (no check ran: "could not check", never "not ready")."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3
    UNREACHABLE = 4


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Findings and table entries exist by the hundred thousand on large databases: they are slotted
# pydantic dataclasses (about 200 bytes each instead of about 1.4 kB for a BaseModel instance), with
# the same validation, JSON and JSON Schema.
# Checks making one per table build them with ``preflight.unvalidated.builder`` (no validation: typed values).
_RECORD = ConfigDict(extra="forbid", populate_by_name=True)


@dataclass(slots=True, kw_only=True, frozen=True, config=_RECORD)
class FindingRef:
    """The findings of one check on one object (any code): what a remediation must wait for."""

    check: str
    object: str


# In the JSON report a statement and a step are the text a format writes (docs/json-contract.md): the
# values stay typed in memory; a statement read back from a report is kept as its text.
SqlStatement = Annotated[Statement, PlainValidator(as_statement), PlainSerializer(statement_text, return_type=str),
                         WithJsonSchema({"type": "string"})]
# A sentence is written by pydantic itself (most steps: one per table on large databases); only a step
# value calls back into Python.
StepValue = str | Annotated[Restart | OnPrimary | SettingChange | Advice, PlainValidator(as_step),
                            PlainSerializer(step_text, return_type=str), WithJsonSchema({"type": "string"})]


@dataclass(slots=True, kw_only=True, frozen=True, config=_RECORD)
class Remediation:
    """How to fix a finding: statements safe to paste, manual steps, and what applying it costs.

    ``sql`` and ``steps`` are values (``preflight.statements``): a setting change, a grant, an ALTER TABLE,
    a publication change, another composed statement; a step is prose, a restart, a statement to run on
    the primary, or a provider's setting change. Formats write them as text.

    ``after``: findings that must be fixed before ``sql`` runs, because running it first would break
    the source (publishing a table before it has a replica identity). Formats print the statements
    after those fixes, or withhold them (commented out, saying why) while one of them has no SQL fix.
    """

    sql: list[SqlStatement] = Field(default_factory=list)
    steps: list[StepValue] = Field(default_factory=list)
    requires_restart: bool = False
    destructive: bool = False
    after: list[FindingRef] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not self.sql and not self.steps

    def sql_text(self) -> list[str]:
        """The statements as every format writes them."""
        return [statement_text(s) for s in self.sql]

    def steps_text(self) -> list[str]:
        """The steps as every format writes them."""
        return [step_text(s) for s in self.steps]


@dataclass(slots=True, kw_only=True, frozen=True, config=_RECORD)
class Finding:
    """One observation of a check, quoting what was observed against what is required.

    Frozen: a check decides, then builds its findings; nothing edits one afterwards (a waiver makes a new one).
    ``bytes``, ``count`` and ``hours`` are the numbers other code needs (the estate merge reads a slot's retained
    WAL from ``bytes``), typed instead of read back out of ``observed``'s text (docs/json-contract.md).
    """

    code: str
    severity: Severity
    message: str
    object: str | None = None
    observed: Scalar = None
    expected: Scalar = None
    bytes: int | None = None
    count: int | None = None
    hours: float | None = None
    remediation: Remediation = Field(default_factory=Remediation)
    waived: bool = False
    waiver_reason: str | None = None


class CheckResult(Strict):
    """Exactly one per selected check."""

    id: str
    title: str
    status: CheckStatus
    summary: str = ""
    duration_ms: float = 0.0
    skip_reason: str | None = None
    error: str | None = None
    findings: list[Finding] = Field(default_factory=list)


TableKind = Literal["table", "partitioned_table", "view", "materialized_view", "foreign_table", "other"]
ReplicaIdentity = Literal["default", "index", "full", "nothing"]
TableStatus = Literal["ok", "needs_decision", "decided", "excluded", "not_publishable"]
Decision = Literal["exclude", "add_pk", "replica_identity_full"]
Persistence = Literal["permanent", "unlogged", "temporary"]


@dataclass(slots=True, kw_only=True, config=_RECORD)
class TableEntry:
    """One relation of the selection, as the table-key check judged it."""

    schema_: str = Field(alias="schema")
    name: str
    kind: TableKind
    persistence: Persistence
    has_primary_key: bool
    replica_identity: ReplicaIdentity
    identity_index: str | None = None
    candidate_index: str | None = None
    decision: Decision | None = None
    status: TableStatus
    size_bytes: int | None = None


class ToolInfo(Strict):
    name: str = "pg-preflight"
    version: str


class Target(Strict):
    """The server looked at. ``dsn`` never carries the password."""

    dsn: str
    host: str | None = None
    port: int | None = None
    dbname: str | None = None
    user: str | None = None
    server_version: str | None = None
    server_version_num: int | None = None
    provider: str | None = None
    provider_signal: str | None = None
    in_recovery: bool | None = None
    ssl: bool | None = None

    def facts(self) -> list[str]:
        """Short facts for a report header: version, primary/standby, provider."""
        out = [f"PostgreSQL {self.server_version}"] if self.server_version else []
        if self.in_recovery is not None:
            out.append("standby" if self.in_recovery else "primary")
        if self.provider:
            out.append(self.provider)
        return out


class Summary(Strict):
    """How many checks ended in each status."""

    pass_: int = Field(0, alias="pass")
    warn: int = 0
    fail: int = 0
    error: int = 0
    skip: int = 0

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WaiverOutcome(Strict):
    """What became of one configured waiver in this run, so stale ones get cleaned up."""

    check: str
    object: str | None = None
    code: str | None = None
    reason: str
    expires: str | None = None
    state: Literal["applied", "expired", "unmatched"]
    matched: int = 0


DatabaseStatus = Literal["checked", "no_connect_privilege", "connect_failed"]


class DatabaseReport(Strict):
    """One database of an ``--all-databases`` run: its per-database checks and tables, or why it was not checked."""

    dbname: str
    status: DatabaseStatus
    verdict: Verdict
    summary: Summary
    checks: list[CheckResult] = Field(default_factory=list)
    tables: list[TableEntry] = Field(default_factory=list)


class Report(Strict):
    """The whole report: the stable JSON contract. ``databases`` is present only with ``--all-databases``:
    then ``checks`` holds the cluster-wide checks and each database its own (``status`` and ``summary``
    count them all)."""

    schema_version: Literal["1"] = "1"
    tool: ToolInfo
    generated_at: datetime
    target: Target
    options: dict[str, Any]
    status: Verdict
    summary: Summary
    checks: list[CheckResult]
    tables: list[TableEntry] = Field(default_factory=list)
    waivers: list[WaiverOutcome] = Field(default_factory=list)
    databases: list[DatabaseReport] | None = Field(
        None, description="only with --all-databases: every connectable, non-template database, by name")

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent, exclude=self.absent_fields())

    def absent_fields(self) -> set[str]:
        """Optional sections left out of the JSON when unused, so a single-database report is unchanged."""
        return {"databases"} if self.databases is None else set()

    def database_views(self) -> list[tuple[DatabaseReport, Report]]:
        """Each database's section as a report of its own (its checks, tables and verdict; the target's
        ``dbname`` is that database), which every format renders under the database's heading."""
        return [(db, self.model_copy(update={
            "target": self.target.model_copy(update={"dbname": db.dbname}), "status": db.verdict,
            "summary": db.summary, "checks": db.checks, "tables": db.tables, "waivers": [], "databases": None,
        })) for db in self.databases or []]

    def all_checks(self) -> list[CheckResult]:
        """Every check result: the cluster-wide ones and each database's."""
        return self.checks + [c for db in self.databases or [] for c in db.checks]

    def waiver_note(self, check_id: str, finding: Finding) -> str:
        """How every format marks a waived finding: ``waived (reason, until date)``; empty when not waived."""
        if not finding.waived:
            return ""
        until = next((w.expires for w in self.waivers if w.state == "applied" and w.check == check_id
                      and w.object in (None, finding.object) and w.code in (None, finding.code)
                      and w.reason == finding.waiver_reason), None)
        parts = [p for p in (finding.waiver_reason, f"until {until}" if until else None) if p]
        return "waived" + (f" ({', '.join(parts)})" if parts else "")

    def check(self, check_id: str) -> CheckResult:
        """The result of one check, by id (KeyError when it was not selected)."""
        for result in self.checks:
            if result.id == check_id:
                return result
        raise KeyError(check_id)


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


def status_from_findings(findings: list[Finding]) -> CheckStatus:
    """No findings or info only -> pass; worst warning -> warn; any error -> fail. Waived ones don't count."""
    worst = max((SEVERITY_RANK[f.severity] for f in findings if not f.waived), default=0)
    return {0: CheckStatus.PASS, 1: CheckStatus.WARN, 2: CheckStatus.FAIL}[worst]


def summarize(checks: list[CheckResult]) -> Summary:
    counts = {status: 0 for status in CheckStatus}
    for result in checks:
        counts[result.status] += 1
    return Summary(
        pass_=counts[CheckStatus.PASS],
        warn=counts[CheckStatus.WARN],
        fail=counts[CheckStatus.FAIL],
        error=counts[CheckStatus.ERROR],
        skip=counts[CheckStatus.SKIP],
    )


def verdict(checks: list[CheckResult]) -> Verdict:
    """``not_ready`` if any check failed, ``incomplete`` if none failed but one errored, else ready."""
    statuses = {c.status for c in checks}
    if CheckStatus.FAIL in statuses:
        return Verdict.NOT_READY
    if CheckStatus.ERROR in statuses:
        return Verdict.INCOMPLETE
    return Verdict.READY


def unreachable(report: Report) -> bool:
    """Whether the connection failed before any check (DNS, refused, timeout, authentication, pg_hba ...):
    a ``connect_*`` error finding (the connection check's). The report says nothing about the server's readiness."""
    return any(f.code.startswith("connect_") and f.severity is Severity.ERROR and not f.waived
               for c in report.checks for f in c.findings)


def exit_code(report: Report, fail_on: FailOn = FailOn.ERROR) -> ExitCode:
    """4 when the server could not be reached (whatever ``--fail-on``); else apply ``--fail-on``: 1 when a
    finding reaches the threshold, else 3 on an errored check, else 0."""
    if unreachable(report):
        return ExitCode.UNREACHABLE
    statuses = {c.status for c in report.all_checks()}
    if fail_on is FailOn.ERROR and CheckStatus.FAIL in statuses:
        return ExitCode.FINDINGS
    if fail_on is FailOn.WARNING and statuses & {CheckStatus.FAIL, CheckStatus.WARN}:
        return ExitCode.FINDINGS
    if CheckStatus.ERROR in statuses:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


class SlotRisk(Strict):
    """The riskiest of a server's existing replication slots, as its ``existing_slots`` findings say."""

    worst_slot: str | None = None
    retained_bytes: int | None = None
    retained: str | None = None
    lost_slots: list[str] = Field(default_factory=list)
    unreserved_slots: list[str] = Field(default_factory=list)

    def rank(self) -> tuple[int, int, int]:
        """Bigger is riskier: lost slots, then slots about to be lost, then retained WAL."""
        return len(self.lost_slots), len(self.unreserved_slots), self.retained_bytes or 0

    def describe(self) -> str:
        """Short text for a cell: the worst retained WAL and the lost / unreserved slots, or ``-``."""
        parts = [f"{self.retained} ({self.worst_slot})"] if self.retained and self.worst_slot else []
        if self.lost_slots:
            parts.append(f"{len(self.lost_slots)} lost")
        if self.unreserved_slots:
            parts.append(f"{len(self.unreserved_slots)} unreserved")
        return "; ".join(parts) or "-"


class EstateServer(Strict):
    """One server of an estate report: the headline of its own report, and where that report is."""

    name: str
    report: str
    html_report: str | None = None
    dsn: str
    generated_at: datetime
    verdict: Verdict
    failing_checks: list[str] = Field(default_factory=list)
    provider: str | None = None
    server_version: str | None = None
    slot_risk: SlotRisk = Field(default_factory=SlotRisk)

    def version(self) -> str:
        """The version number alone (``15.8``), or ``-``."""
        return self.server_version.split()[0] if self.server_version else "-"


class Estate(Strict):
    """Many servers' reports merged (``pg-preflight merge``): its own document, ``kind`` "estate"."""

    kind: Literal["estate"] = "estate"
    schema_version: Literal["1"] = "1"
    tool: ToolInfo
    generated_at: datetime
    servers: list[EstateServer]

    def to_json(self, indent: int | None = 2) -> str:
        return self.model_dump_json(by_alias=True, indent=indent)

    def counts(self) -> dict[Verdict, int]:
        """How many servers have each verdict."""
        out = {v: 0 for v in Verdict}
        for server in self.servers:
            out[server.verdict] += 1
        return out
