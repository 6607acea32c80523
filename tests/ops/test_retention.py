"""R11, R14: the sync log is pruned after SYNC_LOG_RETENTION_DAYS; what still needs an operator
(unresolved conflicts, failures waiting in the outbox) is kept with its run."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.utils import timezone
from django_q.models import Schedule

from tasksync.models import OutboundChange, SyncConflict, SyncEvent, SyncRun
from tasksync.sync.retention import prune_sync_logs
from tests.factories import ReminderTaskFactory

NOW = timezone.now()


def _run(user, *, days_ago, failed_task=None, **extra):
    started = NOW - timedelta(days=days_ago)
    run = SyncRun.objects.create(
        user=user, trigger="poll", started_at=started, outcome="success", **extra
    )
    event = SyncEvent.objects.create(
        run=run,
        user=user,
        direction="push",
        action="update",
        ok=failed_task is None,
        task=failed_task,
    )
    SyncEvent.objects.filter(pk=event.pk).update(created_at=started)
    return run


def _conflict(user, run, *, resolved_days_ago=None):
    conflict = SyncConflict.objects.create(
        user=user,
        task=ReminderTaskFactory(user=user),
        run=run,
        field="details",
        local_value="a",
        remote_value="b",
        winner="salesforce",
        resolved_at=NOW - timedelta(days=resolved_days_ago) if resolved_days_ago else None,
    )
    SyncConflict.objects.filter(pk=conflict.pk).update(created_at=run.started_at)
    return conflict


def test_it_prunes_runs_and_events_older_than_the_retention(user, settings):
    # R14: the log keeps SYNC_LOG_RETENTION_DAYS (default 31).
    settings.SYNC_LOG_RETENTION_DAYS = 31
    old, recent = _run(user, days_ago=32), _run(user, days_ago=30)
    result = prune_sync_logs(now=NOW)
    assert list(SyncRun.objects.all()) == [recent]
    assert list(SyncEvent.objects.values_list("run_id", flat=True)) == [recent.pk]
    assert (result["runs"], result["events"]) == (1, 1)
    assert not SyncRun.objects.filter(pk=old.pk).exists()


def test_it_follows_the_retention_setting(user, settings):
    settings.SYNC_LOG_RETENTION_DAYS = 7
    _run(user, days_ago=8)
    kept = _run(user, days_ago=6)
    prune_sync_logs(now=NOW)
    assert list(SyncRun.objects.all()) == [kept]


def test_it_keeps_an_unresolved_conflict_and_the_run_that_found_it(user):
    # R8: unresolved conflicts stay, still pointing at their run (run is SET_NULL).
    open_run, closed_run = _run(user, days_ago=90), _run(user, days_ago=90)
    unresolved = _conflict(user, open_run)
    resolved = _conflict(user, closed_run, resolved_days_ago=60)
    result = prune_sync_logs(now=NOW)
    unresolved.refresh_from_db()
    assert unresolved.run_id == open_run.pk
    assert SyncEvent.objects.filter(run=open_run).exists()
    assert not SyncRun.objects.filter(pk=closed_run.pk).exists()
    assert not SyncConflict.objects.filter(pk=resolved.pk).exists()
    assert (result["runs"], result["conflicts"], result["kept_runs"]) == (1, 1, 1)


def test_it_keeps_failures_that_still_wait_in_the_outbox(user):
    # R11: a failed change is never silently dropped, nor is the event that tells why.
    task = ReminderTaskFactory(user=user)
    OutboundChange.objects.create(
        task=task, user=user, operation="update", state="failed", last_error="Rejected"
    )
    failing = _run(user, days_ago=40, failed_task=task)
    fixed = ReminderTaskFactory(user=user)
    retried = _run(user, days_ago=40, failed_task=fixed)  # no failed outbox row any more
    prune_sync_logs(now=NOW)
    assert OutboundChange.objects.filter(task=task, state="failed").exists()
    assert SyncEvent.objects.filter(run=failing, ok=False).exists()
    assert not SyncRun.objects.filter(pk=retried.pk).exists()


def test_it_is_safe_to_run_twice(user):
    _run(user, days_ago=40)
    prune_sync_logs(now=NOW)
    again = prune_sync_logs(now=NOW)
    assert (again["runs"], again["events"], again["conflicts"]) == (0, 0, 0)


@pytest.mark.django_db
def test_it_is_scheduled_daily_by_a_migration():
    # STYLE: schedules are created by code, idempotently.
    from django.apps import apps

    migration = import_module("tasksync.migrations.0004_retention_schedule")
    migration.create_schedule(apps, None)  # a second run of the migration adds nothing
    schedule = Schedule.objects.get(func="tasksync.sync.retention.prune_sync_logs")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.DAILY, -1)
