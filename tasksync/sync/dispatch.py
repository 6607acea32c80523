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

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import F, Min, Q
from django.utils import timezone

from tasksync.models import PauseReason, SyncPhase, SyncState, SyncTrigger
from tasksync.sync import org_pull

logger = logging.getLogger(__name__)

POLL_SCHEDULE_NAME = "tasksync: dispatch due polls"  # created by migration 0003
STEP = 0.5  # seconds: the longest sleep between two looks at the schedule and the due polls
MARGIN_BEFORE_TIMEOUT = 30  # seconds left to django-q2's job timeout when a dispatcher stops
# A poll due within the dispatcher's own jitter counts as due now, or a 5-second poll would slip
# to every 10 seconds.
DISPATCH_TOLERANCE = timedelta(seconds=0.25)
CLAIM_BATCH = 500  # users moved to their next poll by one UPDATE
# Polls per job, at most (SYNC_POLL_BATCH), and jobs per round, at least: django-q2's own work
# for a job (the broker, pickling, the monitor) costs a worker more CPU than an idle poll does
# (issue 16, B4), so a busy round's polls go several to a job; a small round stays a job a user,
# spread over the workers.
MIN_JOBS_PER_ROUND = 8


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
    from tasksync.sync.jobs_api import enqueue_syncs

    now = (now or timezone.now()) + DISPATCH_TOLERANCE
    # R19: the reps of an org whose feed carries its changes are pulled once, by the org.
    covered = org_pull.covered_org_ids()
    with transaction.atomic():
        org_pull.dispatch_due_org_pulls(now=now, org_ids=covered)
        claimed = _claim_due_polls(now=now, covered=covered)
        for batch in poll_batches(claimed):
            enqueue_syncs(user_ids=batch, trigger=SyncTrigger.POLL)
    return len(claimed)


def poll_batches(user_ids: list[int]) -> list[list[int]]:
    """The round's polls as jobs: up to SYNC_POLL_BATCH a job, but never fewer than
    MIN_JOBS_PER_ROUND jobs while there are that many users, the longest overdue first."""
    size = max(1, min(settings.SYNC_POLL_BATCH, len(user_ids) // MIN_JOBS_PER_ROUND))
    return [user_ids[start : start + size] for start in range(0, len(user_ids), size)]


def run_batch(user_ids: list[int], *, trigger: str) -> str:
    """Run these users' syncs, up to SYNC_POLL_THREADS at once. A poll spends most of its time
    waiting on Salesforce (100–300 ms a call from a real org), so a worker's threads overlap
    those waits; each user's run is still one at a time (its lease, R10), each thread has its
    own database connection (kept for the next batch), and a crash in one run never stops the
    others. Past a quarter of django-q2's job timeout the polls not yet started go back to the
    queue as a batch of their own: a slow run never makes the job time out with polls not yet
    run (django-q2 would only deliver the whole batch again, much later)."""
    from tasksync.sync.jobs_api import enqueue_syncs

    batch = _Batch(user_ids, trigger, settings.Q_CLUSTER.get("timeout", 300) / 4)
    threads = max(1, min(settings.SYNC_POLL_THREADS, len(user_ids)))
    if threads == 1 or connections["default"].in_atomic_block:
        # In the job's own thread and connection: a batch of one, or a job run inside a
        # transaction (django-q2's sync mode inside the dispatcher's), whose uncommitted rows
        # and locks other connections could not see past.
        batch.work()
    else:
        pool = _poll_threads(settings.SYNC_POLL_THREADS)
        for running in [pool.submit(batch.work_in_thread) for _ in range(threads)]:
            running.result()
    left = user_ids[batch.started :]
    if left:
        enqueue_syncs(user_ids=left, trigger=trigger)
    done = batch.started
    return f"{done} of {len(user_ids)} run" + (
        f", {batch.crashed} crashed" if batch.crashed else ""
    )


class _Batch:
    """The users of one batch, handed out one at a time to the threads that run them."""

    def __init__(self, user_ids: list[int], trigger: str, seconds: float):
        self.user_ids = user_ids
        self.trigger = trigger
        self.deadline = time.monotonic() + seconds
        self.started = self.crashed = 0
        self.lock = threading.Lock()

    def next_user(self) -> int | None:
        with self.lock:
            if self.started >= len(self.user_ids):
                return None
            if self.started and time.monotonic() > self.deadline:
                return None  # the rest are queued again (run_batch)
            self.started += 1
            return self.user_ids[self.started - 1]

    def work(self) -> None:
        from tasksync.sync.engine import sync_user

        while (user_id := self.next_user()) is not None:
            try:
                sync_user(user_id=user_id, trigger=self.trigger)
            except Exception:  # noqa: BLE001 - logged and recorded by the run; the others go on
                logger.exception("sync of user %s in a batch crashed", user_id)
                with self.lock:
                    self.crashed += 1

    def work_in_thread(self) -> None:
        # A kept thread's connection from an earlier batch: dropped if it has had its time
        # (CONN_MAX_AGE) or broke, as Django does at a request's start.
        close_old_connections()
        self.work()


# This process's poll threads, kept from batch to batch with their database connections (a new
# connection a thread and batch cost a poll more than the thread saved at 0 ms); a forked child
# (django-q2's workers) starts its own.
_threads_lock = threading.Lock()
_threads: tuple[tuple[int, int], ThreadPoolExecutor] | None = None


def _poll_threads(size: int) -> ThreadPoolExecutor:
    global _threads
    key = (os.getpid(), size)
    with _threads_lock:
        if _threads is None or _threads[0] != key:
            if _threads is not None and _threads[0][0] == key[0]:
                _retire(*_threads)
            _threads = (key, ThreadPoolExecutor(max_workers=size, thread_name_prefix="poll"))
        return _threads[1]


def release_poll_threads() -> None:
    """End this process's poll threads and close their connections (before the database they
    hold is dropped, as a test run's is; the next batch starts new ones)."""
    global _threads
    with _threads_lock:
        if _threads is not None and _threads[0][0] == os.getpid():
            _retire(*_threads)
        _threads = None


def _retire(key: tuple[int, int], pool: ThreadPoolExecutor) -> None:
    """A pool of another size (the setting changed): every one of its threads closes its
    connections (the barrier keeps any thread from taking two of the tasks), then it ends."""
    size = key[1]
    barrier = threading.Barrier(size)

    def close_then_wait():
        connections.close_all()
        barrier.wait(timeout=30)

    for done in [pool.submit(close_then_wait) for _ in range(size)]:
        done.result()
    pool.shutdown(wait=True)


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
