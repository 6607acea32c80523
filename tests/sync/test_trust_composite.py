"""The windows of tests/sync/test_trust.py for a push sent as one Composite call (issue 16): the
emulator holds the call's answer after it committed, and another thread with its own database
connection saves the rep's change in that window. Nothing of ours is mocked."""

from __future__ import annotations

import pytest
from django.db import transaction

from tasksync.models import OutboundChange, ReminderTask
from tasksync.services import tasks as services
from tasksync.sync.engine import sync_user
from tests.concurrency import Background
from tests.fixtures_sync import link_of

pytestmark = pytest.mark.django_db(transaction=True)


def _mixed_push_on_the_wire(user, sf_emulator):
    """An edit of a linked task and a new task saved together: the push their commit queues is
    one Composite call (an update and a create), whose answer the emulator holds. Returns
    (edited, created, worker, hold)."""
    edited = services.task_create(user=user, name="Call Ana")  # pushed when saved
    assert link_of(edited).sf_id

    def save_both():
        with transaction.atomic():
            services.task_update(task=ReminderTask.objects.get(pk=edited.pk), details="one")
            return services.task_create(user=user, name="Call Bea")

    hold = sf_emulator.hold_response(method="POST", path="composite$")["id"]
    worker = Background(save_both)
    worker.start()
    assert sf_emulator.wait_until_held(hold, timeout=30)
    created = ReminderTask.objects.get(user=user, name="Call Bea")
    return edited, created, worker, hold


def test_a_delete_saved_while_a_composite_push_is_on_the_wire_still_reaches_salesforce(
    syncing, sf_emulator
):
    # R6: the create and the edit landed; deletes of both saved meanwhile are sent after them.
    edited, created, worker, hold = _mixed_push_on_the_wire(syncing, sf_emulator)
    assert len(sf_emulator.tasks(include_deleted=False)) == 2  # committed in Salesforce
    services.task_delete(task=ReminderTask.objects.get(pk=edited.pk))
    services.task_delete(task=ReminderTask.objects.get(pk=created.pk))
    sf_emulator.release(hold)
    worker.value()
    sync_user(user_id=syncing.pk, trigger="push")
    assert sf_emulator.tasks(include_deleted=False) == []
    assert link_of(edited).state == link_of(created).state == "local_deleted"
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_an_edit_saved_while_a_composite_push_is_on_the_wire_is_sent_after_it(syncing, sf_emulator):
    # R11: the newer edits stay queued and land; nothing is lost.
    edited, created, worker, hold = _mixed_push_on_the_wire(syncing, sf_emulator)
    services.task_update(task=ReminderTask.objects.get(pk=edited.pk), details="two")
    services.task_update(task=ReminderTask.objects.get(pk=created.pk), details="later")
    sf_emulator.release(hold)
    worker.value()
    sync_user(user_id=syncing.pk, trigger="push")
    assert sf_emulator.get_task(link_of(edited).sf_id)["Description"] == "two"
    assert sf_emulator.get_task(link_of(created).sf_id)["Description"] == "later"
    assert not OutboundChange.objects.filter(user=syncing).exists()
