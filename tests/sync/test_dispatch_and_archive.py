"""R5 polling by a dispatcher created by code; R15 archived is not deleted."""

from datetime import timedelta

from django.utils import timezone
from django_q.models import Schedule

from tasksync.models import ReminderTask, SyncRun, SyncState
from tasksync.services import tasks as services
from tasksync.sync.deletions import reconcile_ids
from tasksync.sync.dispatch import dispatch_due_polls
from tests.fixtures_sync import link_of, sf_time


def test_the_poll_schedule_is_created_by_a_migration(db):
    schedule = Schedule.objects.get(name="tasksync: dispatch due polls")
    assert schedule.func == "tasksync.jobs.dispatch_polls" and schedule.minutes == 1


def test_the_dispatcher_queues_each_due_user_once(syncing, settings):
    # R5: at the user's poll interval; running the dispatcher twice queues nobody twice.
    settings.SYNC_POLL_SECONDS = 60
    SyncState.objects.filter(user=syncing).update(next_poll_at=timezone.now() - timedelta(1))
    before = SyncRun.objects.filter(user=syncing).count()
    assert dispatch_due_polls() == 1
    assert dispatch_due_polls() == 0
    assert SyncRun.objects.filter(user=syncing, trigger="poll").count() == 1
    assert SyncRun.objects.filter(user=syncing).count() == before + 1
    state = SyncState.objects.get(user=syncing)
    assert state.next_poll_at > timezone.now() + timedelta(seconds=30)


def test_the_dispatcher_skips_users_paused_for_a_reconnect(syncing):
    SyncState.objects.filter(user=syncing).update(
        phase="paused", pause_reason="reconnect", next_poll_at=timezone.now() - timedelta(1)
    )
    assert dispatch_due_polls() == 0


def test_an_archived_task_is_not_a_deletion(syncing, run, sf_emulator):
    # R15: closed tasks older than a year leave normal queries; that is not a deletion.
    old = timezone.now() - timedelta(days=400)
    record = sf_emulator.create_task(Subject="Closed long ago", Status="Completed")
    run()
    task = ReminderTask.objects.get(user=syncing, name="Closed long ago")
    assert link_of(task).sf_id == record["Id"]
    # A year passes: Salesforce's archival job takes the closed task out of normal queries.
    sf_emulator.update_task(
        record["Id"], ActivityDate=old.date().isoformat(), CreatedDate=sf_time(old)
    )
    sf_emulator.archive_old()
    assert sf_emulator.get_task(record["Id"])["IsArchived"] is True
    run()
    assert ReminderTask.objects.live().filter(pk=task.pk).exists()
    # The id reconciliation (used when the delete log was purged) still finds archived tasks.
    from tasksync.sync import engine

    ctx = _context(syncing, engine)
    reconcile_ids(ctx)
    assert ReminderTask.objects.live().filter(pk=task.pk).exists()


def _context(user, engine):
    from accounts.salesforce.client import SalesforceClient
    from tasksync.models import SyncRun as Run
    from tasksync.sync.context import RunContext
    from tasksync.sync.lease import lease_acquire
    from tasksync.sync.picklist import statuses_for

    state = SyncState.objects.get(user=user)
    connection = engine._connection(state)
    return RunContext(
        user=user,
        state=state,
        run=Run.objects.create(user=user, trigger="manual", started_at=timezone.now()),
        client=SalesforceClient(connection),
        connection=connection,
        statuses=statuses_for(state),
        lease_owner=lease_acquire(user_id=user.pk),
    )


def test_a_hard_deleted_task_found_by_reconciliation_is_deleted_here(syncing, run, sf_emulator):
    # R6/R7: when the delete log cannot be trusted, ids are reconciled instead of guessed.
    from tasksync.sync import engine

    task = services.task_create(user=syncing, name="Gone for good")
    run()
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    # Purge it from the recycle bin: queryAll no longer sees it.
    sf_emulator.advance(timedelta(days=16))
    sf_emulator.run_maintenance()
    sf_emulator.set_now(timezone.now())
    assert sf_emulator.get_task(sf_id, include_deleted=True) is None
    reconcile_ids(_context(syncing, engine))
    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
