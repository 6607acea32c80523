"""Polls on time (R5): whose poll is due (claimed, then queued), and the dispatcher job that
wakes when the next user's poll is due.

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
from django.db import transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from tasksync.models import PauseReason, SyncPhase, SyncState, SyncTrigger
from tasksync.sync import org_pull

POLL_SCHEDULE_NAME = "tasksync: dispatch due polls"  # created by migration 0003
STEP = 0.5  # seconds: the longest sleep between two looks at the schedule and the due polls
MARGIN_BEFORE_TIMEOUT = 30  # seconds left to django-q2's job timeout when a dispatcher stops
# A poll due within the dispatcher's own jitter counts as due now, or a 5-second poll would slip
# to every 10 seconds.
DISPATCH_TOLERANCE = timedelta(seconds=0.25)
CLAIM_BATCH = 500  # users moved to their next poll by one UPDATE


def poll_due_filters(*, now):
    """(due by ``now``, never polled): the users the dispatcher queues. Paused for a reconnect or
    by staff: not polled; over the API limit: polled when the pause's next poll comes (R12)."""
    held = Q(phase=SyncPhase.PAUSED, pause_reason__in=[PauseReason.RECONNECT, PauseReason.STAFF])
    due = Q(phase__in=[SyncPhase.ON, SyncPhase.PAUSED], next_poll_at__lte=now) & ~held
    never_polled = Q(phase=SyncPhase.ON, next_poll_at__isnull=True)
    return due, never_polled


def dispatch_due_polls(*, now=None) -> int:
    """Queue a poll for every enabled user whose next poll is due; moves next_poll_at first, so
    running the dispatcher twice (or on two machines) queues nobody twice.

    One transaction per round: the due rows are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL:
    a second dispatcher skips the rows this one holds instead of waiting for them, and re-checks
    any row that changed before it got there; SQLite takes its write lock at BEGIN), moved to
    their next poll in one UPDATE per 500 users, and their jobs queued before it commits. With
    django-q2's ORM broker the jobs commit with the claim, so a poll is claimed if and only if
    it is queued, and the broker does not reopen its database connection for every job (it does
    outside a transaction). A row locked by someone else at that moment (its own sync writing
    it) is left for the dispatcher's next pass.
    """
    from tasksync.sync.jobs_api import enqueue_sync

    now = (now or timezone.now()) + DISPATCH_TOLERANCE
    # R19: the reps of an org whose feed carries its changes are pulled once, by the org.
    covered = org_pull.covered_org_ids()
    with transaction.atomic():
        org_pull.dispatch_due_org_pulls(now=now, org_ids=covered)
        claimed = _claim_due_polls(now=now, covered=covered)
        for user_id in claimed:
            enqueue_sync(user_id=user_id, trigger=SyncTrigger.POLL)
    return len(claimed)


def _claim_due_polls(*, now, covered) -> list[int]:
    """Lock the due users' states (skipping the rows others hold), move them to their next poll,
    and return their user ids, the longest overdue first."""
    due, never_polled = poll_due_filters(now=now)
    claimed = list(
        SyncState.objects.select_for_update(skip_locked=True)
        .filter(due | never_polled, enabled=True)
        .exclude(org_id__in=covered)
        .order_by(F("next_poll_at").asc(nulls_first=True), "pk")
        .values_list("pk", "user_id")
    )
    for start in range(0, len(claimed), CLAIM_BATCH):
        SyncState.objects.filter(
            pk__in=[pk for pk, _ in claimed[start : start + CLAIM_BATCH]]
        ).update(next_poll_at=now + timedelta(seconds=settings.SYNC_POLL_SECONDS))
    return [user_id for _, user_id in claimed]


def dispatcher_life() -> float:
    return max(STEP, settings.Q_CLUSTER.get("timeout", 300) - MARGIN_BEFORE_TIMEOUT)


def _latest_dispatcher_queued() -> str | None:
    """The id of the dispatcher job the schedule queued last (django-q2 keeps it on the row)."""
    from django_q.models import Schedule

    return Schedule.objects.filter(name=POLL_SCHEDULE_NAME).values_list("task", flat=True).first()


def seconds_until_next_poll(*, now=None) -> float | None:
    """Seconds until the earliest due poll (0 when one is due), None when nobody is polled."""
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
