"""slot_budget's arithmetic on hand-built snapshots: sampled rate over pg_stat_wal, the limit, an existing
slot's retained WAL, unlimited retention, the profile's minimum and the copy size."""

from __future__ import annotations

from typing import Any

import pytest

from preflight import Options, run_checks
from preflight.facts import MIN_RATE_WINDOW_S, ProbeStatus, WalSample
from preflight.models import CheckResult, CheckStatus, Finding
from tests.snapshots import make_snapshot, slot, table, wal_stats

MB = 1024**2


def sample(wal_bytes: int, seconds: float) -> WalSample:
    return WalSample(ProbeStatus.OK, start_lsn="0/1000000", end_lsn="0/2000000", wal_bytes=wal_bytes, seconds=seconds)


def run(keep: str = "10240", options: dict[str, Any] | None = None, **facts: Any) -> CheckResult:
    facts.setdefault("tables", [table("public", "a", size_bytes=3 * MB), table("public", "b", size_bytes=MB)])
    snapshot = make_snapshot(settings={"max_slot_wal_keep_size": keep}, **facts)
    return run_checks(snapshot, Options(checks=["slot_budget"], **(options or {}))).check("slot_budget")


def by_code(result: CheckResult) -> dict[str, Finding]:
    return {f.code: f for f in result.findings}


def test_sampled_rate_gives_hours_until_the_limit() -> None:
    # 10240 MB at 1 MB/s: 10240 s = 2.844 h, below the generic profile's 24 h
    result = run(wal_sample=sample(10 * MB, 10.0), wal_stats=wal_stats(1, 1.0))
    low = by_code(result)["slot_budget_low"]
    assert low.observed == pytest.approx(10240 / 3600, rel=1e-3)
    assert low.expected == 24.0
    assert "measured over 10 s" in low.message and "pg_stat_wal" not in low.message
    assert result.status is CheckStatus.WARN
    assert low.remediation.sql_text(), "raising max_slot_wal_keep_size is offered"
    # 1 MB/s for 24 h is 86400 MB: written with its unit, rounded up to whole GB (84.4 -> 85)
    assert low.remediation.sql_text()[0] == 'ALTER SYSTEM SET "max_slot_wal_keep_size" = \'85GB\';'


def test_pg_stat_wal_is_used_without_a_sample() -> None:
    result = run(wal_stats=wal_stats(3600 * MB, 36000.0))  # 0.1 MB/s: 102400 s = 28.4 h
    ok = by_code(result)["slot_budget"]
    assert ok.observed == pytest.approx(102400 / 3600, rel=1e-3)
    assert "pg_stat_wal average since its reset" in ok.message
    assert result.status is CheckStatus.PASS


def test_an_existing_slot_has_spent_part_of_the_budget() -> None:
    slots = [slot("cdc", retained_bytes=4096 * MB)]
    result = run(slots=slots, options={"slot_name": "cdc"}, wal_sample=sample(MB, 1.0))
    assert by_code(result)["slot_budget_low"].observed == pytest.approx((10240 - 4096) / 3600, rel=1e-3)
    assert "'cdc' (exists" in by_code(result)["slot_budget_low"].message


def test_a_slot_past_the_limit_has_no_budget() -> None:
    result = run(slots=[slot("cdc", retained_bytes=20000 * MB)], options={"slot_name": "cdc"},
                 wal_sample=sample(MB, 1.0))
    assert by_code(result)["slot_budget_low"].observed == 0.0


def test_profile_minimum_decides() -> None:
    assert run(wal_sample=sample(MB, 1.0), options={"profile": "generic"}).status is CheckStatus.WARN
    relaxed = run(wal_sample=sample(MB, 1.0), keep="204800")  # 200 GB at 1 MB/s: 56.9 h
    assert relaxed.status is CheckStatus.PASS


def test_unlimited_retention_reports_a_day_of_wal() -> None:
    result = run(keep="-1", wal_sample=sample(2 * MB, 4.0))
    unlimited = by_code(result)["slot_retention_unlimited"]
    assert unlimited.observed == 86400 * MB // 2
    assert result.status is CheckStatus.PASS


def test_idle_server_budget_is_unbounded() -> None:
    finding = by_code(run(wal_sample=sample(0, 5.0)))["slot_budget"]
    assert finding.observed is None and "No WAL was written" in finding.message


def test_pg_stat_wal_reset_less_than_an_hour_ago_is_no_rate() -> None:
    """The demo's case: 8.5 MB/s over the minutes since a reset would read as 721 GB/day: no such figure."""
    for keep, seconds in (("10240", 12.0), ("-1", 12.0), ("10240", MIN_RATE_WINDOW_S - 1)):
        result = run(keep=keep, wal_stats=wal_stats(int(8.5 * MB * seconds), seconds))
        assert set(by_code(result)) == {"wal_rate_unknown", "initial_copy_size"}, result.findings
        unknown = by_code(result)["wal_rate_unknown"]
        assert "reset" in unknown.message and "not extrapolated" in unknown.message and "--sample" in unknown.message
        assert "/day" not in result.summary and "0.0 h" not in unknown.message
        assert "--sample SECONDS" in by_code(result)["initial_copy_size"].message
        assert result.status is CheckStatus.PASS
    enough = run(wal_stats=wal_stats(int(MB * MIN_RATE_WINDOW_S), MIN_RATE_WINDOW_S))  # an hour: a rate
    assert "wal_rate_unknown" not in by_code(enough)
    assert "pg_stat_wal average since its reset" in by_code(enough)["slot_budget_low"].message
    sampled = run(wal_sample=sample(10 * MB, 10.0), wal_stats=wal_stats(10 * MB, 12.0))  # a sample is measured
    assert "measured over 10 s" in by_code(sampled)["slot_budget_low"].message


def test_suggested_size_carries_its_unit_and_is_never_below_the_need_or_the_setting() -> None:
    small = run(keep="1024", wal_sample=sample(MB // 2, 1.0), options={"profile": "generic"})
    # 0.5 MB/s for 24 h = 43200 MB = 42.2 GB: 43GB
    assert by_code(small)["slot_budget_low"].remediation.sql_text()[0] == 'ALTER SYSTEM SET "max_slot_wal_keep_size" = \'43GB\';'
    slow = run(keep="10", wal_sample=sample(10 * 1024, 10.0))  # 1 kB/s: 84.4 MB a day, above the 10 MB limit
    assert by_code(slow)["slot_budget_low"].remediation.sql_text()[0] == 'ALTER SYSTEM SET "max_slot_wal_keep_size" = \'85MB\';'


def test_no_rate_known_says_how_to_measure() -> None:
    result = run(wal_stats=None)
    assert "--sample" in by_code(result)["wal_rate_unknown"].message


def test_copy_size_counts_permanent_tables_only() -> None:
    tables = [table("public", "a", size_bytes=3 * MB), table("public", "u", size_bytes=50 * MB, relpersistence="u"),
              table("public", "v", size_bytes=7 * MB, relkind="v")]
    copy = by_code(run(tables=tables, wal_sample=sample(MB, 1.0)))["initial_copy_size"]
    assert copy.observed == 3 * MB
    assert "within the budget of 2.8 h" in copy.message


def test_copy_size_leaves_out_what_the_decisions_exclude() -> None:
    tables = [table("public", "a", size_bytes=3 * MB), table("public", "big", size_bytes=50 * MB),
              table("public", "m", relkind="p", size_bytes=0),
              table("public", "m_1", size_bytes=20 * MB, is_partition=True, parent_schema="public", parent_name="m")]
    excluded = {"public.big": "exclude", "public.m": "exclude"}
    copy = by_code(run(tables=tables, wal_sample=sample(MB, 1.0), options={"decisions": excluded}))["initial_copy_size"]
    assert copy.observed == 3 * MB
    everything = by_code(run(tables=tables, wal_sample=sample(MB, 1.0)))["initial_copy_size"]
    assert everything.observed == 73 * MB
