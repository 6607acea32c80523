"""R13: the org's API budget as pure arithmetic. No database, no network: an org and a client are
plain objects with the usage Salesforce reported (Sforce-Limit-Info: api-usage=N/M)."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tasksync.sync import budget

MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def half_share(settings):
    settings.SYNC_API_BUDGET_SHARE = 0.5


def test_share_used_is_the_reported_fraction():
    assert budget.share_used(25_000, 100_000) == 0.25
    assert budget.share_used(None, 100_000) == 0.0


def test_an_unknown_limit_counts_as_nothing_used():
    # Before the first response there is no Sforce-Limit-Info: tasksync does not hold back.
    assert budget.share_used(500, None) == 0.0
    assert budget.share_used(500, 0) == 0.0
    assert not budget.over_share(500, None)
    assert not budget.over_share(500, 0)


def test_the_share_is_reached_at_the_configured_fraction_not_before():
    # R13: default share 50%.
    assert not budget.over_share(49_999, 100_000)
    assert budget.over_share(50_000, 100_000)
    assert budget.over_share(120_000, 100_000)


def test_the_share_is_a_setting(settings):
    settings.SYNC_API_BUDGET_SHARE = 0.8
    assert not budget.over_share(79_999, 100_000)
    assert budget.over_share(80_000, 100_000)


def test_polls_keep_their_interval_far_from_the_share():
    # R13
    assert budget.stretch(MINUTE, 0, 100_000) == MINUTE
    assert budget.stretch(MINUTE, 29_999, 100_000) == MINUTE


def test_polls_stretch_as_the_share_comes_near():
    # R13: 60% of the share doubles the interval, 80% makes it four times longer.
    assert budget.stretch(MINUTE, 30_000, 100_000) == 2 * MINUTE
    assert budget.stretch(MINUTE, 39_999, 100_000) == 2 * MINUTE
    assert budget.stretch(MINUTE, 40_000, 100_000) == 4 * MINUTE
    assert budget.stretch(MINUTE, 49_999, 100_000) == 4 * MINUTE


def test_at_the_share_a_poll_waits_for_the_budget_to_recover():
    # R12/R13: at the share nothing is called until the rolling budget can have recovered.
    assert budget.stretch(MINUTE, 50_000, 100_000) == budget.RECOVERY_WAIT
    assert budget.stretch(timedelta(hours=1), 50_000, 100_000) == timedelta(hours=10)


def test_without_a_known_limit_polls_are_not_stretched():
    assert budget.stretch(MINUTE, 10**9, None) == MINUTE


usage = st.integers(min_value=0, max_value=300_000)


@given(a=usage, b=usage, limit=st.integers(min_value=1, max_value=200_000))
def test_more_usage_never_shortens_the_interval(a, b, limit):
    # R13: stretching is monotonic in the usage, and never below the base interval.
    low, high = sorted((a, b))
    base = timedelta(seconds=60)
    assert base <= budget.stretch(base, low, limit) <= budget.stretch(base, high, limit)


@given(used=usage, limit=st.integers(min_value=1, max_value=200_000))
def test_a_stretched_poll_past_the_share_never_comes_before_recovery(used, limit):
    # R12: a poll scheduled at the share must not run before org_must_wait lets it.
    interval = budget.stretch(timedelta(seconds=15), used, limit)
    assert (interval >= budget.RECOVERY_WAIT) == budget.over_share(used, limit)


def test_check_stops_a_client_at_the_share_with_a_message_that_says_why():
    # R13: "pushes wait": the next deferrable call is not made.
    with pytest.raises(budget.BudgetReached) as reached:
        budget.check(SimpleNamespace(api_used=50_000, api_max=100_000))
    assert (reached.value.used, reached.value.limit) == (50_000, 100_000)
    assert str(reached.value) == (
        "The org has used 50000 of its 100000 daily API calls; tasksync stops at 50% and "
        "resumes when the 24-hour budget recovers."
    )


def test_check_lets_a_client_under_the_share_go_on():
    budget.check(SimpleNamespace(api_used=49_999, api_max=100_000))
    budget.check(SimpleNamespace(api_used=None, api_max=None))


def org(used, limit, *, seen_ago):
    at = None if seen_ago is None else timezone.now() - seen_ago
    return SimpleNamespace(api_used=used, api_max=limit, api_usage_at=at)


@time_machine.travel("2026-12-01 10:00:00+00:00", tick=False)
def test_an_org_at_its_share_waits_until_the_budget_can_have_recovered():
    # R12: nothing calls that org until the budget can have recovered.
    assert budget.org_must_wait(org(50_000, 100_000, seen_ago=timedelta(0)))
    assert budget.org_must_wait(org(50_000, 100_000, seen_ago=budget.RECOVERY_WAIT - MINUTE))


@time_machine.travel("2026-12-01 10:00:00+00:00", tick=False)
def test_after_the_recovery_wait_one_run_may_probe():
    assert not budget.org_must_wait(org(50_000, 100_000, seen_ago=budget.RECOVERY_WAIT))


@time_machine.travel("2026-12-01 10:00:00+00:00", tick=False)
def test_an_org_under_its_share_or_never_measured_does_not_wait():
    assert not budget.org_must_wait(None)
    assert not budget.org_must_wait(org(49_999, 100_000, seen_ago=timedelta(0)))
    assert not budget.org_must_wait(org(50_000, 100_000, seen_ago=None))
    assert not budget.org_must_wait(org(None, None, seen_ago=timedelta(0)))
