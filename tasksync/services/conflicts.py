"""R8: staff may apply the value that lost a conflict instead of the one that won.

Applying it is an ordinary local edit (``task_update``): it is stamped now, recorded in the outbox
and reaches Salesforce like any edit while sync is on, so both sides end on the chosen value.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tasksync.models import ReminderTask, SyncConflict, Winner
from tasksync.services.tasks import SYNCED_FIELDS, task_update
from tasksync.sync.mapping import as_model_value


class ConflictNotApplicable(Exception):
    """The conflict cannot be turned around (already resolved, a delete, a deleted task)."""


def conflict_other_value(*, conflict: SyncConflict):
    """The value that lost: Salesforce's when this app won, this app's when Salesforce won."""
    return conflict.remote_value if conflict.winner == Winner.LOCAL else conflict.local_value


@transaction.atomic
def conflict_apply_other(*, conflict: SyncConflict, by_user) -> SyncConflict:
    """Set the task's field to the losing value and mark the conflict resolved.

    When Salesforce won, this re-applies the old local value; when this app won, it takes
    Salesforce's value. Either way the edit is pushed, so Salesforce ends on it too.
    Raises ConflictNotApplicable when there is nothing sensible to apply.
    """
    conflict = SyncConflict.objects.select_for_update().get(pk=conflict.pk)
    if conflict.resolved_at is not None:
        raise ConflictNotApplicable("already resolved")
    if conflict.field not in SYNCED_FIELDS:
        # R6: delete against edit; the delete stands and is not undone from here.
        raise ConflictNotApplicable(f"a {conflict.field!r} conflict cannot be applied")
    task = ReminderTask.objects.select_for_update().get(pk=conflict.task_id)
    if task.deleted_at is not None:
        raise ConflictNotApplicable("the task was deleted")
    value = conflict_other_value(conflict=conflict)
    task_update(task=task, **{conflict.field: as_model_value(conflict.field, value)})
    loser = "Salesforce's" if conflict.winner == Winner.LOCAL else "this app's"
    conflict.resolved_at = timezone.now()
    conflict.resolution = f"{by_user} applied {loser} value {value!r} instead of the winner."
    conflict.save(update_fields=["resolved_at", "resolution"])
    return conflict
