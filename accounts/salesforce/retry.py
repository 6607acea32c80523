"""How long to wait before trying a transient failure again (R11, R12): one formula for the
client's in-run retries (seconds apart) and the outbox's later tries (minutes to an hour apart).
Pure: the caller draws the jitter."""

from __future__ import annotations


def backoff_ceiling(attempt: int, *, first: float, cap: float) -> float:
    """Exponential: ``first`` seconds for the first retry, doubling, at most ``cap``."""
    return min(first * 2 ** max(attempt - 1, 0), cap)


def backoff(attempt: int, *, first: float, cap: float, jitter: float) -> float:
    """ "Equal jitter": between half the ceiling and the ceiling (``jitter`` in [0, 1]), so many
    retries spread out and none comes sooner than half the back-off."""
    ceiling = backoff_ceiling(attempt, first=first, cap=cap)
    return ceiling / 2 + ceiling / 2 * min(max(jitter, 0.0), 1.0)
