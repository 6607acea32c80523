"""Polls on time (R5): the dispatcher job wakes when the next user's poll is due.

django-q2's scheduler looks at its schedules only every ~30 seconds (its guard loop counts 60
cycles of 0.5 s) and fires a one-minute schedule from its previous ``next_run``, so a job started
by the schedule begins anywhere from 0 to ~30 s late. A dispatcher that ran once per schedule
tick (or looped for "the rest of its minute") left gaps of 30–61 s at a 15-second poll.

So one dispatcher job stays on: it sleeps until the earliest due poll (at most ``STEP`` at a
time, so a user who just turned sync on is seen), queues it, and goes on until the schedule has
queued its successor, then ends: the hand-over costs one broker poll, and there is one
dispatcher at a time whatever the scheduler's lateness. A job is capped below django-q2's
timeout in case no successor comes (a cluster running without its scheduler).

Safe to run twice (django-q2 delivers at least once): ``dispatch_due_polls`` claims each due
row before queuing it, so two dispatchers queue nobody twice; they only cost a second worker
until the next hand-over.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Min
from django.utils import timezone

from tasksync.models import SyncState

POLL_SCHEDULE_NAME = "tasksync: dispatch due polls"  # created by migration 0003
STEP = 0.5  # seconds: the longest sleep between two looks at the schedule and the due polls
MARGIN_BEFORE_TIMEOUT = 30  # seconds left to django-q2's job timeout when a dispatcher stops


def dispatcher_life() -> float:
    return max(STEP, settings.Q_CLUSTER.get("timeout", 300) - MARGIN_BEFORE_TIMEOUT)


def _latest_dispatcher_queued() -> str | None:
    """The id of the dispatcher job the schedule queued last (django-q2 keeps it on the row)."""
    from django_q.models import Schedule

    return Schedule.objects.filter(name=POLL_SCHEDULE_NAME).values_list("task", flat=True).first()


def seconds_until_next_poll(*, now=None) -> float | None:
    """Seconds until the earliest due poll (0 when one is due), None when nobody is polled."""
    from tasksync.sync.engine import poll_due_filters

    now = now or timezone.now()
    far = now + timedelta(days=3650)
    due, never_polled = poll_due_filters(now=far)
    pollable = SyncState.objects.filter(enabled=True)
    if pollable.filter(never_polled).exists():
        return 0.0
    earliest = pollable.filter(due).aggregate(at=Min("next_poll_at"))["at"]
    if earliest is None:
        return None
    return max(0.0, (earliest - now).total_seconds())


def dispatch_polls_on_time(*, life: float | None = None) -> int:
    """Queue each due poll when it falls due, until a successor dispatcher is queued (or
    ``life`` seconds passed). Returns how many polls it queued."""
    from tasksync.sync.engine import DISPATCH_TOLERANCE, dispatch_due_polls

    life = dispatcher_life() if life is None else life
    deadline = time.monotonic() + life
    mine = _latest_dispatcher_queued()
    queued = 0
    tolerance = DISPATCH_TOLERANCE.total_seconds()
    while True:
        wait = seconds_until_next_poll()
        if wait is not None and wait <= tolerance:
            claimed = dispatch_due_polls()
            queued += claimed
            if claimed:
                continue
            wait = STEP / 5  # due but held by its own run right now: look again shortly
        left = deadline - time.monotonic()
        if left <= 0:
            return queued
        time.sleep(min(STEP, left, wait if wait is not None else STEP))
        if _latest_dispatcher_queued() != mine:
            return queued  # the schedule queued the next dispatcher: it takes over
