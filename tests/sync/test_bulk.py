"""``tasksync.bulk.insert_many`` writes exactly the rows ``bulk_create`` would (R4's import of
thousands of tasks goes through it), on SQLite and on PostgreSQL."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.utils import timezone

from tasksync.bulk import insert_many, update_many
from tasksync.models import (
    Direction,
    LinkState,
    ReminderTask,
    SyncEvent,
    SyncRun,
    TaskLink,
    TaskStatus,
)
from tasksync.models.tasks import TaskOrigin
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _columns(model, pks):
    """Every column of the rows as the database holds them, in ``pks`` order."""
    fields = [f for f in model._meta.concrete_fields if f is not model._meta.pk]
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    rows = []
    with connection.cursor() as cursor:
        for key in pks:
            cursor.execute(f"SELECT {names} FROM {table} WHERE {pk} = %s", [key])  # noqa: S608
            rows.append(dict(zip([f.name for f in fields], cursor.fetchone(), strict=True)))
    return rows


def _tasks(user, suffix):
    completed = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    return [
        ReminderTask(
            user_id=user.pk,
            name=f"Imported {suffix} {i} — ünïcode & <b>markup</b>",
            status=TaskStatus.COMPLETE if i % 2 else "open",
            priority="high" if i % 3 == 0 else "normal",
            due_date=date(2030, 1, 1 + i) if i % 2 else None,
            details="line one\nline two" if i % 2 else "",
            origin=TaskOrigin.SALESFORCE,
            completed_at=completed if i % 2 else None,
            field_changed_at={"name": "2026-03-01T12:30:00+00:00"} if i == 3 else {},
        )
        for i in range(5)
    ]


def _without_clock(row):
    return {k: v for k, v in row.items() if k not in ("created_at", "modified_at")}


def test_tasks_are_written_as_bulk_create_writes_them():
    user = UserFactory()
    ours = insert_many(_tasks(user, "x"))
    django = ReminderTask.objects.bulk_create(_tasks(user, "x"))
    assert all(t.pk and not t._state.adding for t in ours)
    mine = _columns(ReminderTask, [t.pk for t in ours])
    theirs = _columns(ReminderTask, [t.pk for t in django])
    assert [_without_clock(r) for r in mine] == [_without_clock(r) for r in theirs]
    # The ORM reads each row back as the instance holds it, the automatic timestamps included.
    for task in ours:
        fresh = ReminderTask.objects.get(pk=task.pk)
        for field in ("name", "status", "priority", "due_date", "details", "completed_at"):
            assert getattr(fresh, field) == getattr(task, field)
        assert fresh.field_changed_at == task.field_changed_at
        assert fresh.created_at == task.created_at
        assert fresh.modified_at == task.modified_at
        assert abs((timezone.now() - fresh.created_at).total_seconds()) < 60


def test_links_and_events_keep_json_dates_and_foreign_keys():
    user = UserFactory()
    tasks = insert_many(_tasks(user, "y"))
    run = SyncRun.objects.create(user=user, trigger="first_sync", started_at=timezone.now())
    stamp = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    links = insert_many(
        [
            TaskLink(
                task_id=t.pk,
                user_id=user.pk,
                org_id="00D000000000001EAA",
                sf_user_id="005000000000001AAA",
                sf_id=f"00T00000000000{i}AAA",
                state=LinkState.SYNCED,
                synced_local={"name": t.name, "due_date": None},
                synced_remote={"Subject": t.name, "Description": 'ü\n"quoted"'},
                sf_system_modstamp=stamp,
                sf_last_modified=stamp,
                last_synced_at=stamp,
            )
            for i, t in enumerate(tasks)
        ]
    )
    events = insert_many(
        [
            SyncEvent(
                run_id=run.pk,
                user_id=user.pk,
                task_id=t.pk,
                sf_id=link.sf_id,
                direction=Direction.PULL,
                action="import",
                changes={"name": [None, t.name]},
            )
            for t, link in zip(tasks, links, strict=True)
        ]
    )
    for link, task in zip(links, tasks, strict=True):
        fresh = TaskLink.objects.select_related("task").get(pk=link.pk)
        assert fresh.task == task
        assert fresh.synced_remote == link.synced_remote
        assert fresh.synced_local == link.synced_local
        assert fresh.sf_system_modstamp == stamp
        assert fresh.state == LinkState.SYNCED
    saved = SyncEvent.objects.filter(run=run).order_by("pk")
    assert [e.task_id for e in saved] == [t.pk for t in tasks]
    assert SyncEvent.objects.get(pk=events[0].pk).changes == {"name": [None, tasks[0].name]}


def test_large_batches_stay_under_the_parameter_limit():
    user = UserFactory()
    tasks = [
        ReminderTask(user_id=user.pk, name=f"Task {i}", origin=TaskOrigin.SALESFORCE)
        for i in range(2500)
    ]
    insert_many(tasks)
    assert len({t.pk for t in tasks}) == 2500
    assert ReminderTask.objects.filter(user=user).count() == 2500
    # Primary keys come back in row order: each instance holds its own row's key.
    assert ReminderTask.objects.get(pk=tasks[1234].pk).name == "Task 1234"


def test_an_unsaved_related_instance_is_refused():
    user = UserFactory()
    task = ReminderTask(user_id=user.pk, name="Unsaved")
    with pytest.raises(ValueError, match="unsaved related object"):
        insert_many([TaskLink(task=task, user=user, org_id="00D000000000001EAA")])
    assert not TaskLink.objects.exists()


def test_update_many_writes_only_the_named_fields_and_stamps_updated_at():
    user = UserFactory()
    tasks = insert_many(_tasks(user, "z"))
    links = insert_many(
        [
            TaskLink(task_id=t.pk, user_id=user.pk, org_id="00D000000000001EAA", sf_user_id="x")
            for t in tasks
        ]
    )
    before = {link.pk: TaskLink.objects.get(pk=link.pk) for link in links}
    for i, link in enumerate(links):
        link.sf_id = f"00T00000000000{i}AAA"
        link.state = LinkState.CREATING
        link.synced_remote = {"Subject": f"Sent {i}"}
        link.org_id = "not written"  # changed on the instance, not named: stays as it was
    update_many(links, ["sf_id", "state", "synced_remote"])
    for i, link in enumerate(links):
        fresh = TaskLink.objects.get(pk=link.pk)
        assert fresh.sf_id == f"00T00000000000{i}AAA"
        assert fresh.state == LinkState.CREATING
        assert fresh.synced_remote == {"Subject": f"Sent {i}"}
        assert fresh.org_id == "00D000000000001EAA"
        assert fresh.created_at == before[link.pk].created_at
        assert fresh.updated_at >= before[link.pk].updated_at
        assert fresh.updated_at == link.updated_at
    assert TaskLink.objects.count() == len(links)
