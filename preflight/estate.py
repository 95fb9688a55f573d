"""Estate reports: many servers' JSON reports (fleet shards, nightly runs) merged into one row per server.

The inputs are untrusted files: anything that is not a pg-preflight JSON report is one line naming
the file (``ReportFileError``). Inside a directory, estate documents (an earlier merge written there)
are passed over; a report named on the command line must be one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from preflight.codes import Codes
from preflight.codes import SlotRisk as SlotRiskKind
from preflight.files import read_json, validated
from preflight.models import CheckStatus, Estate, EstateServer, Report, SlotRisk, ToolInfo, Verdict
from preflight.settings import human_bytes

VERDICT_ORDER = {Verdict.NOT_READY: 0, Verdict.INCOMPLETE: 1, Verdict.READY: 2}  # worst first


class ReportFileError(ValueError):
    """A file that is not a usable pg-preflight JSON report; the message names the file and the reason."""


def load_document(path: Path) -> Report | Estate:
    """A server's JSON report or an estate report, told apart by the estate's ``kind``."""
    raw = read_json(path, ReportFileError)
    if isinstance(raw, dict) and raw.get("kind") == "estate":
        estate: Estate = validated(path, ReportFileError, lambda: Estate.model_validate(raw))
        return estate
    report: Report = validated(path, ReportFileError, lambda: Report.model_validate(raw))
    return report


def report_files(paths: list[Path]) -> list[tuple[Path, Report]]:
    """The reports of ``paths``: each file as given, each directory's ``*.json`` files (recursively)."""
    found: list[tuple[Path, Report]] = []
    for path in paths:
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                document = load_document(file)
                if isinstance(document, Report):
                    found.append((file, document))
            continue
        document = load_document(path)
        if not isinstance(document, Report):
            raise ReportFileError(f"{path}: an estate report, not one server's report (merge takes servers' reports)")
        found.append((path, document))
    if not found:
        raise ReportFileError(f"{', '.join(map(str, paths))}: no pg-preflight JSON report found")
    return found


SlotRiskCodes = dict[tuple[str, str], SlotRiskKind]


def slot_risk_codes(declared: Mapping[str, Codes]) -> SlotRiskCodes:
    """(check id, code) -> what the code says about a slot, as the checks declare it (``Code.slot_risk``);
    ``declared``: the checks' codes by check id (``registry.declared_codes()``)."""
    return {(check_id, code.name): code.slot_risk for check_id, codes in declared.items()
            for code in codes.values() if code.slot_risk is not None}


def slot_risk(report: Report, risks: SlotRiskCodes) -> SlotRisk:
    """The report's riskiest slots, from the findings whose code declares a slot risk; the retained WAL is
    the finding's ``bytes``."""
    risk = SlotRisk()
    for check in report.checks:
        for finding in check.findings:
            kind, name = risks.get((check.id, finding.code)), finding.object or "?"
            if kind == "lost":
                risk.lost_slots.append(name)
            elif kind == "unreserved":
                risk.unreserved_slots.append(name)
            elif kind == "retaining" and finding.bytes is not None and finding.bytes > (risk.retained_bytes or -1):
                risk.worst_slot, risk.retained_bytes = name, finding.bytes
                risk.retained = f"{human_bytes(finding.bytes)} of WAL"
    return risk


def _link(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` (where the estate report is written), with ``/`` separators."""
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def estate_server(name: str, path: Path, report: Report, base: Path, risks: SlotRiskCodes) -> EstateServer:
    page = path.with_suffix(".html")
    return EstateServer(
        name=name, report=_link(path, base), html_report=_link(page, base) if page.is_file() else None,
        dsn=report.target.dsn, generated_at=report.generated_at, verdict=report.status,
        failing_checks=[c.id for c in report.checks if c.status in (CheckStatus.FAIL, CheckStatus.ERROR)],
        provider=report.target.provider, server_version=report.target.server_version, slot_risk=slot_risk(report, risks),
    )


SORTS: dict[str, Callable[[EstateServer], Any]] = {
    "verdict": lambda s: (VERDICT_ORDER[s.verdict], -len(s.failing_checks), s.name),
    "name": lambda s: s.name,
    "provider": lambda s: (s.provider or "\uffff", s.name),
    "version": lambda s: (s.server_version is None, _version_key(s.server_version), s.name),  # oldest first
    "slot_risk": lambda s: (tuple(-n for n in s.slot_risk.rank()), s.name),
    "failing": lambda s: (-len(s.failing_checks), s.name),
}


def _version_key(text: str | None) -> tuple[int, ...]:
    """``"15.8 (Debian ...)"`` as ``(15, 8)``; what does not parse sorts first."""
    head = (text or "").split()[:1]
    digits = [part for part in (head[0].split(".") if head else []) if part.isdigit()]
    return tuple(int(part) for part in digits)


def build_estate(files: list[tuple[Path, Report]], tool_version: str, base: Path, declared: Mapping[str, Codes],
                 sort: str = "verdict") -> Estate:
    """One row per server, named after its report file (``fleet --output-dir`` writes ``NAME.json``).
    A server found twice (two nightly runs) keeps its newest report."""
    newest: dict[str, tuple[Path, Report]] = {}
    for path, report in files:
        name = path.stem
        if name not in newest or report.generated_at > newest[name][1].generated_at:
            newest[name] = (path, report)
    risks = slot_risk_codes(declared)
    servers = [estate_server(name, path, report, base, risks) for name, (path, report) in newest.items()]
    return Estate(tool=ToolInfo(version=tool_version), generated_at=datetime.now(UTC),
                  servers=sorted(servers, key=SORTS[sort]))
