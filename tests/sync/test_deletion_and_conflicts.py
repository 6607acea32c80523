"""R6 deletion, R8 conflicts: deletes travel, nothing resurrects, the later edit wins."""

import time_machine
from django.utils import timezone

from tasksync.models import ReminderTask, SyncConflict
from tasksync.services import tasks as services
from tests.fixtures_sync import link_of, remote


def _synced_task(user, run, **fields):
    task = services.task_create(user=user, name=fields.pop("name", "Call Ana"), **fields)
    run()
    task.refresh_from_db()
    return task


def test_deleting_a_local_task_sends_its_salesforce_task_to_the_recycle_bin(
    syncing, run, sf_emulator
):
    # R6
    task = _synced_task(syncing, run)
    services.task_delete(task=task)
    run()
    record = sf_emulator.get_task(link_of(task).sf_id, include_deleted=True)
    assert record["IsDeleted"] is True


def test_a_salesforce_deletion_removes_the_local_task_and_keeps_a_tombstone(
    syncing, run, sf_emulator
):
    # R6
    task = _synced_task(syncing, run)
    sf_emulator.delete_task(link_of(task).sf_id)
    result = run()
    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
    assert ReminderTask.objects.get(pk=task.pk).deleted_at is not None
    assert result.deleted == 1


def test_a_task_restored_from_the_recycle_bin_comes_back(syncing, run, sf_emulator):
    # R6 (beyond)
    task = _synced_task(syncing, run)
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    run()
    sf_emulator.undelete_task(sf_id)
    run()
    assert ReminderTask.objects.live().filter(pk=task.pk).exists()


def test_a_late_salesforce_edit_does_not_resurrect_a_local_delete(syncing, run, sf_emulator):
    # R6: delete beats edit, and the meeting is recorded as a conflict.
    task = _synced_task(syncing, run)
    sf_id = link_of(task).sf_id
    services.task_delete(task=task)
    sf_emulator.update_task(sf_id, Description="edited after the delete")
    run()
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True
    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
    assert SyncConflict.objects.filter(task=task, field="deleted").exists()


def test_a_local_edit_does_not_resurrect_a_salesforce_delete(syncing, run, sf_emulator):
    # R6: the delete stands; the lost edit is recorded as a conflict.
    task = _synced_task(syncing, run)
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    services.task_update(task=task, details="edited after the delete")
    run()
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True
    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
    conflict = SyncConflict.objects.get(task=task)
    assert (conflict.field, conflict.winner) == ("details", "salesforce")


def test_changes_to_different_fields_merge_without_conflict(syncing, run, sf_emulator):
    # R8
    task = _synced_task(syncing, run)
    services.task_update(task=task, priority="high")
    sf_emulator.update_task(link_of(task).sf_id, Description="From Salesforce")
    run()
    task.refresh_from_db()
    record = remote(sf_emulator, task)
    assert (task.priority, task.details) == ("high", "From Salesforce")
    assert (record["Priority"], record["Description"]) == ("High", "From Salesforce")
    assert not SyncConflict.objects.exists()


def test_the_later_salesforce_edit_of_the_same_field_wins_and_is_recorded(
    syncing, run, sf_emulator
):
    # R8
    task = _synced_task(syncing, run)
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=10), tick=False):
        services.task_update(task=task, details="Local, earlier")
    sf_emulator.update_task(link_of(task).sf_id, Description="Salesforce, later")
    run()
    task.refresh_from_db()
    assert task.details == "Salesforce, later"
    assert remote(sf_emulator, task)["Description"] == "Salesforce, later"
    conflict = SyncConflict.objects.get(task=task)
    assert (conflict.field, conflict.winner) == ("details", "salesforce")
    assert (conflict.local_value, conflict.remote_value) == ("Local, earlier", "Salesforce, later")
    assert conflict.local_changed_at < conflict.remote_changed_at


def test_the_later_local_edit_of_the_same_field_wins_and_is_recorded(syncing, run, sf_emulator):
    # R8
    task = _synced_task(syncing, run)
    sf_emulator.update_task(link_of(task).sf_id, Description="Salesforce, earlier")
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10), tick=False):
        services.task_update(task=task, details="Local, later")
    run()
    task.refresh_from_db()
    assert task.details == "Local, later"
    assert remote(sf_emulator, task)["Description"] == "Local, later"
    conflict = SyncConflict.objects.get(task=task)
    assert conflict.winner == "local"


def test_both_sides_agreeing_is_no_conflict(syncing, run, sf_emulator):
    # R8: the same value on both sides is not a conflict.
    task = _synced_task(syncing, run)
    services.task_complete(task=task)
    sf_emulator.update_task(link_of(task).sf_id, Status="Completed")
    run()
    assert not SyncConflict.objects.exists()
    task.refresh_from_db()
    assert task.status == "complete"


def test_an_edit_meeting_a_delete_that_must_wait_is_recorded_once(syncing, run, sf_emulator):
    # R6/R8: the conflict is recorded once even while the delete backs off.
    from tasksync.models import OutboundChange
    from tasksync.sync.engine import sync_user

    task = _synced_task(syncing, run)
    sf_id = link_of(task).sf_id
    services.task_delete(task=task)
    sf_emulator.update_task(sf_id, Description="edited after the delete")
    sf_emulator.inject_fault(method="DELETE", path="composite/sobjects", status=503, times=None)
    sync_user(user_id=syncing.pk, trigger="poll")
    sync_user(user_id=syncing.pk, trigger="poll")
    assert SyncConflict.objects.filter(task=task, field="deleted").count() == 1
    sf_emulator.clear_faults()
    OutboundChange.objects.update(not_before=None)
    run()
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True
