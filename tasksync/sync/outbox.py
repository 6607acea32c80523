"""Local changes waiting for Salesforce: recorded in the same transaction as the change (R11)."""

from django.db import transaction
from django.dispatch import receiver

from tasksync.models import (
    LinkState,
    OutboundChange,
    OutboxOperation,
    OutboxState,
    ReminderTask,
    SyncState,
    SyncTrigger,
    TaskLink,
)
from tasksync.signals import local_task_changed
from tasksync.sync import jobs_api


def _active_link(task) -> TaskLink | None:
    return TaskLink.objects.filter(task=task).exclude(state=LinkState.RETIRED).first()


@receiver(local_task_changed, sender=ReminderTask, dispatch_uid="tasksync.sync.outbox")
def record_local_change(sender, *, task, operation, fields, **kwargs):
    """Coalesce a user's change into the task's outbox row and ask for a push after commit.

    R4/R7: tasks created while sync is off stay local; edits and deletes of linked tasks made while
    off are kept and pushed when sync is turned on again.
    """
    enabled = SyncState.objects.filter(user_id=task.user_id, enabled=True).exists()
    row = OutboundChange.objects.select_for_update().filter(task=task).first()
    link = _active_link(task)

    if operation == OutboxOperation.CREATE:
        if not enabled:
            return
        OutboundChange.objects.update_or_create(
            task=task,
            defaults={"user_id": task.user_id, "operation": operation, "fields": list(fields)},
        )
    elif operation == OutboxOperation.UPDATE:
        if row is None and link is None:
            return  # never synced: stays local
        if row is None:
            row = OutboundChange(task=task, user_id=task.user_id, operation=operation, fields=[])
        if row.operation != OutboxOperation.DELETE:
            row.fields = sorted(set(row.fields) | set(fields))
        _reset(row)
        row.save()
    elif operation == OutboxOperation.DELETE:
        reached_salesforce = link is not None and (link.sf_id or link.create_started_at)
        if not reached_salesforce:
            if row is not None:
                row.delete()  # created and deleted before it ever reached Salesforce
            return
        if row is None:
            row = OutboundChange(task=task, user_id=task.user_id)
        row.operation, row.fields = OutboxOperation.DELETE, []
        _reset(row)
        row.save()

    if enabled:
        user_id = task.user_id
        transaction.on_commit(lambda: request_push(user_id=user_id))


def _reset(row):
    """A new change is a new chance: a failed row is retried once the user edits the task."""
    row.state = OutboxState.PENDING
    row.not_before = None
    row.attempts = 0
    row.failing_since = None
    row.last_error = ""
    row.last_error_code = ""


def request_push(*, user_id: int) -> bool:
    """Queue one push job for the user unless one is already waiting (coalescing bursts)."""
    claimed = SyncState.objects.filter(user_id=user_id, enabled=True, push_queued=False).update(
        push_queued=True
    )
    if claimed:
        jobs_api.enqueue_sync(user_id=user_id, trigger=SyncTrigger.PUSH)
    else:
        # A run may be going on right now: ask it to go round once more.
        SyncState.objects.filter(user_id=user_id, enabled=True).update(rerun_requested=True)
    return bool(claimed)
