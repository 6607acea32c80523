from datetime import date

import pytest
from django.core.exceptions import ValidationError

from tasksync.models import ReminderTask
from tasksync.services import tasks as services
from tasksync.signals import local_task_changed
from tests.factories import ReminderTaskFactory


@pytest.fixture
def sent(db):
    calls = []

    def receiver(sender, **kwargs):
        calls.append((kwargs["operation"], tuple(kwargs["fields"])))

    local_task_changed.connect(receiver)
    yield calls
    local_task_changed.disconnect(receiver)


def test_it_creates_a_task_and_announces_it(user, sent):
    task = services.task_create(user=user, name="Call Ana", due_date=date(2026, 12, 1))
    assert task.pk and task.status == "open" and task.priority == "normal"
    assert sent == [("create", services.SYNCED_FIELDS)]
    assert set(task.field_changed_at) == set(services.SYNCED_FIELDS)


def test_it_reports_only_the_fields_that_changed(user, sent):
    task = services.task_create(user=user, name="Call Ana")
    changed = services.task_update(task=task, name="Call Ana", priority="high")
    assert changed == ["priority"]
    assert sent[-1] == ("update", ("priority",))


def test_it_does_not_announce_an_update_that_changes_nothing(user, sent):
    task = services.task_create(user=user, name="Call Ana")
    assert services.task_update(task=task, name="Call Ana") == []
    assert len(sent) == 1


def test_it_stamps_completion_and_clears_it_on_reopen(user):
    task = services.task_create(user=user, name="Call Ana")
    services.task_complete(task=task)
    task.refresh_from_db()
    assert task.status == "complete" and task.completed_at is not None
    services.task_reopen(task=task)
    task.refresh_from_db()
    assert task.status == "open" and task.completed_at is None


def test_it_keeps_a_tombstone_when_deleting(user, sent):
    task = services.task_create(user=user, name="Call Ana")
    services.task_delete(task=task)
    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
    assert ReminderTask.objects.get(pk=task.pk).deleted_at is not None
    assert sent[-1] == ("delete", ())


def test_it_does_not_announce_changes_applied_by_the_sync(user, sent):
    # R9: what the sync writes is never taken for a new local change.
    task = services.task_create(user=user, name="From Salesforce", from_sync=True)
    services.task_update(task=task, name="Renamed in Salesforce", from_sync=True)
    services.task_delete(task=task, from_sync=True)
    assert sent == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "x" * 256),
        ("details", "x" * 32_001),
        ("status", "maybe"),
        ("priority", "low"),
    ],
)
def test_it_refuses_values_outside_r1_limits(user, field, value):
    task = ReminderTaskFactory(user=user)
    with pytest.raises(ValidationError) as error:
        services.task_update(task=task, **{field: value})
    assert field in error.value.message_dict


def test_it_accepts_the_r1_limits_exactly(user):
    task = services.task_create(user=user, name="x" * 255, details="y" * 32_000)
    assert len(task.name) == 255 and len(task.details) == 32_000
