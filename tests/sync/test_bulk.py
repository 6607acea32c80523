"""``tasksync.bulk.insert_many`` writes exactly the rows ``bulk_create`` would (R4's import of
thousands of tasks goes through it), on SQLite and on PostgreSQL."""

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
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


def _saved_links(suffix):
    """A user's tasks and a link to each, written."""
    user = UserFactory()
    tasks = insert_many(_tasks(user, suffix))
    return insert_many(
        [
            TaskLink(task_id=t.pk, user_id=user.pk, org_id="00D000000000001EAA", sf_user_id="x")
            for t in tasks
        ]
    )


def test_update_many_writes_only_the_named_fields_and_stamps_updated_at():
    links = _saved_links("z")
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


def test_update_many_sends_only_the_named_columns_and_never_brings_a_deleted_row_back():
    # Issue 16: a push settles a thousand links; only the settled columns travel, in one
    # UPDATE (PostgreSQL: one array per column; SQLite: one VALUES list within its limit).

    links = _saved_links("u")
    gone = links[0]
    TaskLink.objects.filter(pk=gone.pk).delete()  # deleted meanwhile
    for link in links:
        link.state = LinkState.SYNCED
    with CaptureQueriesContext(connection) as queries:
        update_many(links, ["state"])
    assert len(queries) == 1
    sql = queries[0]["sql"]
    assert sql.startswith(("UPDATE", "WITH")) and "INSERT" not in sql
    assert '"synced_remote"' not in sql and '"org_id"' not in sql
    assert not TaskLink.objects.filter(pk=gone.pk).exists()
    assert set(TaskLink.objects.values_list("state", flat=True)) == {LinkState.SYNCED}
    assert TaskLink.objects.count() == len(links) - 1


def test_update_many_writes_json_that_needs_escaping_each_to_its_own_row():
    # PostgreSQL receives a JSON column's values as one JSON array and splits it back in order
    # (a text array would have psycopg escape every quote in Python): each value, quotes,
    # backslashes, newlines and non-Latin text included, lands in its own row, none shifted.
    links = _saved_links("j")
    tricky = ['say "hi"', "C:\\dir\\", "line 1\nline 2", "Zürich — 東京", "{not json}", ""]
    for i, link in enumerate(links):
        link.synced_local = {"name": tricky[i % len(tricky)], "n": i, "nested": {"list": [i]}}
        link.synced_remote = {"Description": f'"{i}"\\', "Subject": None}
    update_many(links, ["synced_local", "synced_remote"])
    for i, link in enumerate(links):
        fresh = TaskLink.objects.get(pk=link.pk)
        assert fresh.synced_local == {
            "name": tricky[i % len(tricky)],
            "n": i,
            "nested": {"list": [i]},
        }
        assert fresh.synced_remote == {"Description": f'"{i}"\\', "Subject": None}


# --- insert_rows: plain tuples, no instance per row (issue 16) --------------------------------

_TASK_FIELDS = (
    "user_id",
    "name",
    "status",
    "priority",
    "due_date",
    "details",
    "origin",
    "completed_at",
    "related_who",
)


def test_insert_rows_writes_the_rows_bulk_create_writes_for_the_same_values():
    from tasksync.bulk import insert_rows

    user = UserFactory()
    tasks = [t for t in _tasks(user, "r") if not t.field_changed_at]
    rows = [tuple(getattr(t, f) for f in _TASK_FIELDS) for t in tasks]
    before = timezone.now()
    pks = insert_rows(ReminderTask, _TASK_FIELDS, rows)
    django = ReminderTask.objects.bulk_create(tasks)
    assert len(set(pks)) == len(rows) and all(isinstance(pk, int) for pk in pks)
    # Keys in row order; every column as bulk_create writes it, the defaults of the fields not
    # named included (deleted_at, field_changed_at, related_what).
    mine = _columns(ReminderTask, pks)
    theirs = _columns(ReminderTask, [t.pk for t in django])
    assert [_without_clock(r) for r in mine] == [_without_clock(r) for r in theirs]
    # The clocks: one stamp for every row and both fields.
    fresh = list(ReminderTask.objects.filter(pk__in=pks).order_by("pk"))
    assert {(t.created_at, t.modified_at) for t in fresh} == {(fresh[0].created_at,) * 2}
    assert before <= fresh[0].created_at <= timezone.now()
    assert [t.due_date for t in fresh] == [t.due_date for t in tasks]
    assert [t.completed_at for t in fresh] == [t.completed_at for t in tasks]


def test_insert_rows_encodes_json_and_datetimes_as_the_orm_reads_them_back():
    from tasksync.bulk import insert_rows

    user = UserFactory()
    tasks = insert_many(_tasks(user, "j"))
    run = SyncRun.objects.create(user=user, trigger="first_sync", started_at=timezone.now())
    stamp = datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=UTC)
    fields = ("task_id", "user_id", "org_id", "sf_user_id", "sf_id", "state")
    fields += ("synced_local", "synced_remote", "sf_system_modstamp", "last_synced_at")
    remote = {"Subject": "ü <b>", "Description": 'line\n"quoted"\x7f', "ActivityDate": None}
    link_pks = insert_rows(
        TaskLink,
        fields,
        [
            (t.pk, user.pk, "00D000000000001EAA", "005000000000001AAA", f"00T00000000000{i}AAA")
            + (LinkState.SYNCED.value, {"name": t.name, "n": i}, remote, stamp, stamp)
            for i, t in enumerate(tasks)
        ],
    )
    event_pks = insert_rows(
        SyncEvent,
        ("run_id", "user_id", "task_id", "sf_id", "direction", "action"),
        [(run.pk, user.pk, t.pk, "", Direction.PULL.value, "import") for t in tasks],
    )
    for i, (pk, task) in enumerate(zip(link_pks, tasks, strict=True)):
        fresh = TaskLink.objects.select_related("task").get(pk=pk)
        assert fresh.task == task
        assert fresh.synced_local == {"name": task.name, "n": i}
        assert fresh.synced_remote == remote
        assert fresh.sf_system_modstamp == fresh.last_synced_at == stamp
        assert fresh.sf_last_modified is None and fresh.create_key == ""
        assert fresh.updated_at == fresh.created_at
    events = list(SyncEvent.objects.filter(run=run).order_by("pk"))
    assert [e.pk for e in events] == event_pks
    assert [e.task_id for e in events] == [t.pk for t in tasks]
    assert {(e.ok, e.message, json_text(e.changes)) for e in events} == {(True, "", "{}")}


def json_text(value):
    import json

    return json.dumps(value)


def test_insert_rows_of_many_rows_returns_each_rows_key():
    from tasksync.bulk import insert_rows

    user = UserFactory()
    rows = [(user.pk, f"Task {i}", "salesforce") for i in range(2500)]
    pks = insert_rows(ReminderTask, ("user_id", "name", "origin"), rows)
    assert len(set(pks)) == 2500
    assert ReminderTask.objects.get(pk=pks[1234]).name == "Task 1234"
    assert (
        list(ReminderTask.objects.filter(user=user).order_by("pk").values_list("pk", flat=True))
        == pks
    )
