"""long_transactions on hand-built snapshots: thresholds, states, prepared ones, and what was hidden."""

from __future__ import annotations

import dataclasses

from preflight import Options, run_checks
from preflight.facts import ActivityFact
from preflight.models import CheckResult, CheckStatus
from tests.snapshots import activity, make_snapshot, session
from tests.snapshots import prepared as prepared_transaction


def check(act: ActivityFact, max_age: float = 600.0) -> CheckResult:
    report = run_checks(make_snapshot(activity=act), Options(checks=["long_transactions"], max_xact_age=max_age))
    return report.check("long_transactions")


def test_nothing_open_passes() -> None:
    result = check(activity())
    assert result.status is CheckStatus.PASS and result.findings == []
    assert result.summary == "none blocking slot creation, none older than 10min"


def test_short_write_transactions_of_a_busy_server_pass() -> None:
    """Slot creation waits only for transactions running when it starts: short writes end on their own."""
    result = check(activity([session(10, 0.2), session(11, 3.0), session(12, 9.0)]))
    assert result.status is CheckStatus.PASS and result.findings == []


def test_a_write_transaction_past_the_bound_blocks_slot_creation() -> None:
    result = check(activity([session(10, 5.0), session(11, 30.0)]))
    assert result.status is CheckStatus.FAIL
    assert [(f.object, f.severity.value) for f in result.findings] == [("pid 11", "error")]
    message = result.findings[0].message
    assert "pid 11" in message and "user app" in message and "'billing'" in message and "30s" in message
    assert "creating a slot waits until it ends" in message
    assert result.summary == "1 transaction(s) block slot creation"


def test_a_smaller_max_xact_age_lowers_the_bound() -> None:
    assert check(activity([session(10, 5.0)]), max_age=1.0).findings[0].object == "pid 10"


def test_threshold_separates_long_from_short_without_an_xid() -> None:
    result = check(activity([session(10, 5.0, xid=False), session(11, 700.0, xid=False)]))
    assert result.status is CheckStatus.WARN
    assert [(f.object, f.severity.value) for f in result.findings] == [("pid 11", "warning")]
    assert "no xid yet" in result.findings[0].message and "12min" in result.findings[0].message


def test_idle_in_transaction_holding_an_xid_fails_at_any_age() -> None:
    finding = check(activity([session(12, 0.05, state="idle in transaction")])).findings[0]
    assert (finding.code, finding.severity.value) == ("idle_in_transaction", "error")
    assert "ends only when its client acts" in finding.message
    assert "pg_terminate_backend(12)" in finding.remediation.steps[0]


def test_idle_in_transaction_without_xid_is_named_with_terminate_hint() -> None:
    finding = check(activity([session(12, 900.0, state="idle in transaction", xid=False)])).findings[0]
    assert (finding.code, finding.severity.value) == ("idle_in_transaction", "warning")
    assert "idle in transaction" in finding.message and "no xid yet" in finding.message
    assert "pg_terminate_backend(12)" in finding.remediation.steps[0]
    assert check(activity([session(12, 5.0, state="idle in transaction", xid=False)])).status is CheckStatus.PASS


def test_prepared_transactions_fail_at_any_age_with_quoted_gid() -> None:
    result = check(activity(prepared=[prepared_transaction("tx'1", 0.5)]))
    assert result.status is CheckStatus.FAIL
    finding = result.findings[0]
    assert (finding.code, finding.severity.value) == ("prepared_transaction", "error")
    assert "tx'1" in finding.message and "whatever its age" in finding.message
    step = finding.remediation.steps[0]
    assert "COMMIT PREPARED 'tx''1';" in step and "ROLLBACK PREPARED 'tx''1';" in step
    assert "database app as its owner app or a superuser" in step and "exactly one of" in step
    assert finding.remediation.sql == []  # a decision for a person: never pasted blindly


def test_hidden_sessions_say_could_not_see_not_none() -> None:
    result = check(activity(can_see_all=False, hidden=3))
    assert result.status is CheckStatus.WARN
    finding = result.findings[0]
    assert finding.code == "sessions_not_visible" and "Could not see 3 client session" in finding.message
    assert finding.remediation.sql == ['GRANT pg_read_all_stats TO "cdc";']
    assert result.summary.startswith("could not see 3 session(s)")
    assert check(activity(can_see_all=False, hidden=0)).status is CheckStatus.PASS


def test_hidden_sessions_holding_an_xid_fail() -> None:
    act = dataclasses.replace(activity(can_see_all=False, hidden=3), hidden_xid_sessions=1)
    result = check(act)
    assert result.status is CheckStatus.FAIL
    finding = next(f for f in result.findings if f.code == "hidden_sessions_hold_xid")
    assert finding.severity.value == "error" and "1 session(s) of other roles hold a transaction ID" in finding.message
    assert finding.remediation.sql == ['GRANT pg_read_all_stats TO "cdc";']
