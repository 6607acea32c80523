"""Transient failures (R11, R12): the outbox's back-off and when it gives up."""

from __future__ import annotations

from datetime import datetime, timedelta

from accounts.salesforce import retry

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)


def backoff_ceiling(attempts: int) -> timedelta:
    """R11/R12: exponential back-off: 30 s, 1 min, 2 min, … capped at an hour between tries."""
    return timedelta(
        seconds=retry.backoff_ceiling(
            attempts, first=BACKOFF_FIRST.total_seconds(), cap=BACKOFF_CAP.total_seconds()
        )
    )


def backoff(attempts: int, *, jitter: float) -> timedelta:
    """The outbox's delay before the next try (``retry.backoff``'s equal jitter, drawn by the
    caller): between half the ceiling and the ceiling."""
    return timedelta(
        seconds=retry.backoff(
            attempts,
            first=BACKOFF_FIRST.total_seconds(),
            cap=BACKOFF_CAP.total_seconds(),
            jitter=jitter,
        )
    )


def gives_up(first_failed_at: datetime | None, now: datetime) -> bool:
    """R11: a transient failure is retried for at least 24 hours before the change is failed."""
    return first_failed_at is not None and now - first_failed_at >= GIVE_UP_AFTER
