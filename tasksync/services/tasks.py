"""Every change to a reminder task goes through these services, so the sync hooks in at one place.

Changes made by users send ``local_task_changed``; changes applied by the sync from Salesforce pass
``from_sync=True`` so they are never taken for new local changes (R9).
"""

from datetime import date

from django.db import transaction
from django.utils import timezone

from tasksync.bulk import insert_rows
from tasksync.models import ReminderTask, TaskPriority, TaskStatus
from tasksync.models.tasks import TaskOrigin
from tasksync.signals import local_task_changed
from tasksync.sync.mapping import LOCAL_FIELDS

# The fields that travel to Salesforce (R1): the mapping's list, one list for the whole project.
# Other columns are bookkeeping.
SYNCED_FIELDS = LOCAL_FIELDS


def _stamp(task, fields, now):
    stamps = dict(task.field_changed_at or {})
    for field in fields:
        stamps[field] = now.isoformat()
    task.field_changed_at = stamps


@transaction.atomic
def task_create(
    *,
    user,
    name: str,
    status: str = TaskStatus.OPEN,
    priority: str = TaskPriority.NORMAL,
    due_date: date | None = None,
    details: str = "",
    origin: str = TaskOrigin.LOCAL,
    from_sync: bool = False,
) -> ReminderTask:
    now = timezone.now()
    task = ReminderTask(
        user=user,
        name=name,
        status=status,
        priority=priority,
        due_date=due_date,
        details=details or "",
        origin=origin,
        completed_at=now if status == TaskStatus.COMPLETE else None,
    )
    if not from_sync:
        _stamp(task, SYNCED_FIELDS, now)
    task.full_clean()
    task.save()
    if not from_sync:
        local_task_changed.send(
            sender=ReminderTask, task=task, operation="create", fields=SYNCED_FIELDS
        )
    return task


@transaction.atomic
def task_update(*, task: ReminderTask, from_sync: bool = False, **changes) -> list[str]:
    """Apply ``changes`` (synced field names only) and return the fields that really changed."""
    unknown = set(changes) - set(SYNCED_FIELDS)
    if unknown:
        raise TypeError(f"not task fields: {sorted(unknown)}")
    changed = [f for f, value in changes.items() if getattr(task, f) != value]
    if not changed:
        return []
    now = timezone.now()
    for field in changed:
        setattr(task, field, changes[field])
    if "details" in changed and task.details is None:
        task.details = ""
    update_fields = [*changed, "modified_at"]
    if "status" in changed:
        task.completed_at = now if task.status == TaskStatus.COMPLETE else None
        update_fields.append("completed_at")
    if not from_sync:
        _stamp(task, changed, now)
        update_fields.append("field_changed_at")
    task.full_clean()
    task.save(update_fields=update_fields)
    if not from_sync:
        local_task_changed.send(sender=ReminderTask, task=task, operation="update", fields=changed)
    return changed


def task_complete(*, task: ReminderTask) -> list[str]:
    return task_update(task=task, status=TaskStatus.COMPLETE)


def task_reopen(*, task: ReminderTask) -> list[str]:
    return task_update(task=task, status=TaskStatus.OPEN)


@transaction.atomic
def task_delete(*, task: ReminderTask, from_sync: bool = False) -> None:
    """Delete a task, keeping a tombstone: it leaves every page, the sync still knows it (R6)."""
    if task.deleted_at is not None:
        return
    task.deleted_at = timezone.now()
    task.save(update_fields=["deleted_at", "modified_at"])
    if not from_sync:
        local_task_changed.send(sender=ReminderTask, task=task, operation="delete", fields=())


@transaction.atomic
def task_restore(*, task: ReminderTask) -> None:
    """Bring back a tombstoned task (a Salesforce task restored from the recycle bin, R6)."""
    if task.deleted_at is None:
        return
    task.deleted_at = None
    task.save(update_fields=["deleted_at", "modified_at"])


def task_bulk_import(*, fields, rows) -> list[int]:
    """Save tasks imported from Salesforce (R4), given as tuples of ``fields`` values that the
    import validated (``tasksync.sync.import_check``: ``full_clean``'s rules), in a few
    statements, without a model instance per task; returns their ids in order."""
    return insert_rows(ReminderTask, fields, rows)
