"""long_transactions on hand-built snapshots: what the watch held, prepared ones, old snapshots, hidden sessions."""

from __future__ import annotations

import dataclasses

from preflight import Options, run_checks
from preflight.facts import ActivityFact, XidWatch
from preflight.facts.activity import is_running, running_xids, watch_bound
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


def test_short_writes_that_ended_during_the_watch_pass_whatever_they_looked_like() -> None:
    """A busy server's short writes: running (even idle in transaction, holding an xid) when first read, ended
    a few milliseconds later."""
    sessions = [session(10, 0.0, state="idle in transaction"), session(11, 0.01), session(12, 0.002, hidden=True)]
    result = check(activity(sessions, watched_s=0.006))
    assert result.status is CheckStatus.PASS and result.findings == []
    assert result.summary == ("none blocking slot creation, none older than 10min "
                              "(3 running xid(s) watched 0.0s, 0 still held)")


def test_an_idle_session_still_holding_its_xid_after_the_watch_blocks_with_its_age_and_a_terminate_hint() -> None:
    idle = session(12, 42.0, state="idle in transaction")
    result = check(activity([idle, session(13, 0.1)], held=[idle], watched_s=10.0))
    assert result.status is CheckStatus.FAIL
    [finding] = result.findings
    assert (finding.code, finding.severity.value, finding.object) == ("blocking_transaction", "error", "pid 12")
    assert finding.observed == "42s idle in transaction"
    assert "holds transaction ID 1012, still running after a 10s watch" in finding.message
    assert "open for 42s, state 'idle in transaction' for 21s" in finding.message
    assert "ends only when its client acts" in finding.message and "user app" in finding.message
    assert "pg_terminate_backend(12)" in finding.remediation.steps_text()[0]
    assert result.summary.startswith("1 transaction(s) block slot creation")


def test_a_hidden_session_still_holding_its_xid_blocks_held_for_at_least_the_watch() -> None:
    hidden = session(14, None, hidden=True)
    result = check(activity([hidden], can_see_all=False, hidden=1, held=[hidden], watched_s=10.0))
    assert result.status is CheckStatus.FAIL
    blocking = next(f for f in result.findings if f.code == "blocking_transaction")
    assert blocking.observed == "held for at least 10s (watched)"
    assert "pid 14 (user app, application 'billing', database app) holds transaction ID 1014" in blocking.message
    assert "hidden from role cdc" in blocking.message
    assert "pg_terminate_backend(14)" in blocking.remediation.steps_text()[0]


def test_the_same_blocker_seen_or_hidden_gives_the_same_status_and_codes() -> None:
    seen = session(14, 30.0, state="active")
    hidden = session(14, None, hidden=True)
    admin = check(activity([seen], held=[seen], watched_s=1.0))
    cdc = check(activity([hidden], can_see_all=False, hidden=1, held=[hidden], watched_s=1.0))
    assert admin.status is cdc.status is CheckStatus.FAIL
    assert [f.code for f in admin.findings if f.severity.value != "info"] == \
        [f.code for f in cdc.findings if f.severity.value != "info"] == ["blocking_transaction"]


def test_a_held_xid_beyond_the_rows_read_is_still_a_blocker() -> None:
    act = dataclasses.replace(activity([session(10, 0.0)]), watch=XidWatch(running=2, held=["4242"], watched_s=2.0))
    [finding] = check(act).findings
    assert (finding.code, finding.object) == ("blocking_transaction", "xid 4242")
    assert "backend_xid = '4242'" in finding.remediation.steps_text()[0]


def test_an_old_snapshot_without_a_watch_judges_every_xid_seen_as_held() -> None:
    act = dataclasses.replace(activity([session(10, 0.5), session(11, 900.0, xid=False)]), watch=None)
    result = check(act)
    assert [(f.code, f.object) for f in result.findings] == [("blocking_transaction", "pid 10"),
                                                             ("long_transaction", "pid 11")]


def test_a_transaction_older_than_max_xact_age_without_an_xid_warns() -> None:
    result = check(activity([session(10, 5.0, xid=False), session(11, 700.0, xid=False)]))
    assert result.status is CheckStatus.WARN
    [finding] = result.findings
    assert (finding.code, finding.severity.value, finding.object) == ("long_transaction", "warning", "pid 11")
    assert "no xid yet" in finding.message and "12min" in finding.message
    assert check(activity([session(10, 5.0, xid=False)]), max_age=1.0).findings[0].object == "pid 10"


def test_an_idle_transaction_without_an_xid_is_named_with_terminate_hint() -> None:
    finding = check(activity([session(12, 900.0, state="idle in transaction", xid=False)])).findings[0]
    assert (finding.code, finding.severity.value) == ("long_transaction", "warning")
    assert "idle in transaction" in finding.message and "no xid yet" in finding.message
    assert "pg_terminate_backend(12)" in finding.remediation.steps_text()[0]
    assert check(activity([session(12, 5.0, state="idle in transaction", xid=False)])).status is CheckStatus.PASS


def test_prepared_transactions_fail_at_any_age_with_quoted_gid() -> None:
    result = check(activity(prepared=[prepared_transaction("tx'1", 0.5)]))
    assert result.status is CheckStatus.FAIL
    finding = result.findings[0]
    assert (finding.code, finding.severity.value) == ("prepared_transaction", "error")
    assert "tx'1" in finding.message and "whatever its age" in finding.message and "0.5s" in finding.message
    step = finding.remediation.steps_text()[0]
    assert "COMMIT PREPARED 'tx''1';" in step and "ROLLBACK PREPARED 'tx''1';" in step
    assert "database app as its owner app or a superuser" in step and "exactly one of" in step
    assert finding.remediation.sql_text() == []  # a decision for a person: never pasted blindly


def test_hidden_sessions_are_information_not_a_warning() -> None:
    result = check(activity([session(12, None, hidden=True)], can_see_all=False, hidden=3, hidden_snapshots=2))
    assert result.status is CheckStatus.PASS
    [finding] = result.findings
    assert (finding.code, finding.severity.value) == ("sessions_not_visible", "info")
    assert "Could not see the state and age of 3 client session(s)" in finding.message
    assert "whether the 2 of them holding a snapshot without an xid are older" in finding.message
    assert finding.remediation.sql_text() == ['GRANT pg_read_all_stats TO "cdc";']
    assert result.summary.endswith("state and age of 3 session(s) of other roles hidden")
    assert check(activity(can_see_all=False, hidden=0)).findings == []


def test_a_negative_age_is_never_printed() -> None:
    """The server clamps ages at 0 (clock_timestamp); a snapshot saved otherwise still prints none."""
    idle = session(12, -0.04, state="idle in transaction")
    [finding] = check(activity([idle], held=[idle])).findings
    assert finding.observed == "0.0s idle in transaction" and "open for 0.0s" in finding.message
    assert "-0" not in finding.message


def test_running_xids_read_the_snapshot_text_as_32_bit_xids() -> None:
    assert running_xids("740:745:740,742") == {"740", "742"}
    assert running_xids(f"{2**32 + 5}:{2**32 + 9}:{2**32 + 5}") == {"5"}  # the epoch is left out
    assert running_xids("745:745:") == set() and running_xids(None) == set()


def test_an_xid_at_or_above_xmax_is_running_though_the_snapshot_does_not_list_it() -> None:
    assert is_running("725", "725:725:")  # the only running xid: no later one has completed
    assert is_running("742", "740:745:740,742") and not is_running("741", "740:745:740,742")
    assert is_running("3", f"{2**32 - 2}:{2**32 - 2}:")  # across the 32-bit wrap, as the server compares
    assert not is_running("4294967200", f"{2**32 + 10}:{2**32 + 10}:") and not is_running("7", None)


def test_the_watch_bound_is_the_smaller_of_ten_seconds_and_max_xact_age() -> None:
    assert watch_bound(600.0) == 10.0 and watch_bound(0.5) == 0.5
