"""long_transactions on hand-built snapshots: thresholds, states, prepared ones, and what was hidden."""

from __future__ import annotations

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
    assert result.summary == "none older than 10min"


def test_threshold_separates_long_from_short() -> None:
    result = check(activity([session(10, 5.0), session(11, 700.0)]))
    assert result.status is CheckStatus.WARN
    assert [f.object for f in result.findings] == ["pid 11"]
    message = result.findings[0].message
    assert "pid 11" in message and "user app" in message and "'billing'" in message and "12min" in message
    assert check(activity([session(10, 5.0)]), max_age=1.0).findings[0].object == "pid 10"


def test_idle_in_transaction_is_named_with_terminate_hint() -> None:
    finding = check(activity([session(12, 900.0, state="idle in transaction", xid=False)])).findings[0]
    assert finding.code == "idle_in_transaction"
    assert "idle in transaction" in finding.message and "no xid yet" in finding.message
    assert "pg_terminate_backend(12)" in finding.remediation.steps[0]


def test_prepared_transactions_are_reported_with_quoted_gid() -> None:
    prepared = [prepared_transaction("tx'1", 4000.0)]
    finding = check(activity(prepared=prepared)).findings[0]
    assert finding.code == "prepared_transaction" and "tx'1" in finding.message and "67min" in finding.message
    assert "COMMIT PREPARED 'tx''1';" in finding.remediation.steps[0]


def test_hidden_sessions_say_could_not_see_not_none() -> None:
    result = check(activity(can_see_all=False, hidden=3))
    assert result.status is CheckStatus.WARN
    finding = result.findings[0]
    assert finding.code == "sessions_not_visible" and "Could not see 3 session" in finding.message
    assert finding.remediation.sql == ['GRANT pg_read_all_stats TO "cdc";']
    assert result.summary.startswith("could not see 3 session(s)")
    assert check(activity(can_see_all=False, hidden=0)).status is CheckStatus.PASS
