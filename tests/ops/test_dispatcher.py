"""The poll dispatcher job (R5): it queues each poll when it falls due, not at the next tick of
django-q2's one-minute schedule. The real cluster's cadence is in test_poll_cadence.py."""

from datetime import timedelta

from django.utils import timezone

from tasksync import jobs
from tasksync.models import SyncRun, SyncState
from tasksync.sync.dispatch import seconds_until_next_poll
from tests.fixtures_sync import state_of


def test_it_queues_a_poll_when_it_falls_due_within_its_run(syncing, settings):
    # R5: due in 1.5 s, a 60-second interval: the dispatcher that is running queues it on time
    # (it used to look once and leave the rest of the minute to the next schedule tick).
    settings.SYNC_POLL_SECONDS = 60
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 33}  # a 3-second dispatcher life
    due = timezone.now() + timedelta(seconds=1.5)
    SyncState.objects.filter(user=syncing).update(next_poll_at=due)
    assert jobs.dispatch_polls() == 1
    run = SyncRun.objects.get(user=syncing, trigger="poll")
    assert abs((run.started_at - due).total_seconds()) < 0.75


def test_it_knows_how_long_until_the_next_poll(syncing):
    now = timezone.now()
    SyncState.objects.filter(user=syncing).update(next_poll_at=now + timedelta(seconds=9))
    assert 8.5 < seconds_until_next_poll(now=now) <= 9
    SyncState.objects.filter(user=syncing).update(next_poll_at=now - timedelta(seconds=9))
    assert seconds_until_next_poll(now=now) == 0


def test_it_does_not_wait_for_users_it_will_not_poll(syncing):
    # Paused by staff or for a reconnect: no poll is due (R12, R14).
    state = state_of(syncing)
    state.phase, state.pause_reason = "paused", "staff"
    state.save(update_fields=["phase", "pause_reason"])
    assert seconds_until_next_poll() is None
