"""R11/R12: one back-off formula, for the client's in-run retries and the outbox's later tries."""

from datetime import timedelta

from accounts.salesforce import retry
from tasksync.sync import decide


def test_it_doubles_from_the_first_delay_up_to_the_cap():
    assert [retry.backoff_ceiling(n, first=1, cap=5) for n in (1, 2, 3, 4)] == [1, 2, 4, 5]


def test_equal_jitter_stays_between_half_the_ceiling_and_the_ceiling():
    assert retry.backoff(3, first=1, cap=60, jitter=0.0) == 2
    assert retry.backoff(3, first=1, cap=60, jitter=1.0) == 4
    assert retry.backoff(3, first=1, cap=60, jitter=7.0) == 4  # clamped


def test_the_outbox_uses_the_same_formula_in_minutes():
    assert decide.backoff(2, jitter=0.5) == timedelta(
        seconds=retry.backoff(2, first=30, cap=3600, jitter=0.5)
    )
