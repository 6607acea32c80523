"""Deleting a user deletes everything of theirs and nothing of anyone else's.

A link's and an event's ``user`` column has no database key of its own (the task's and the
run's keys check the same user, and PostgreSQL checks each key of each of a first import's rows
at commit: issue 16). What a key would have guaranteed is checked here: once a user is deleted
(Django's delete, which follows every ``CASCADE``), no row anywhere still names them."""

from __future__ import annotations

import pytest
from django.db import connection

from tasksync.models import OutboundChange, ReminderTask, SyncEvent, SyncRun, TaskLink
from tests.factories import (
    OutboundChangeFactory,
    ReminderTaskFactory,
    SyncEventFactory,
    SyncRunFactory,
    TaskLinkFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TABLES = [ReminderTask, TaskLink, OutboundChange, SyncRun, SyncEvent]


def _a_users_rows(user):
    link = TaskLinkFactory(task=ReminderTaskFactory(user=user))
    OutboundChangeFactory(task=link.task)
    run = SyncRunFactory(user=user)
    SyncEventFactory(run=run, task=link.task)
    # A record that failed before it had a task, and an event of no run.
    SyncEventFactory(run=run, task=None, ok=False, message="Subject: too long")
    SyncEventFactory(run=None, user=user, task=None)


def _orphans() -> dict[str, int]:
    """Rows of each table whose user_id names no user."""
    users = connection.ops.quote_name(UserFactory._meta.model._meta.db_table)
    found = {}
    with connection.cursor() as cursor:
        for model in TABLES:
            table = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"SELECT COUNT(*) FROM {table} t "  # noqa: S608 - names from the models
                f"WHERE NOT EXISTS (SELECT 1 FROM {users} u WHERE u.id = t.user_id)"
            )
            found[model.__name__] = cursor.fetchone()[0]
    return found


def test_deleting_a_user_leaves_no_row_of_theirs():
    leaving, staying = UserFactory(), UserFactory()
    _a_users_rows(leaving)
    _a_users_rows(staying)

    gone = leaving.pk
    leaving.delete()

    assert _orphans() == dict.fromkeys([m.__name__ for m in TABLES], 0)
    assert not any(m.objects.filter(user_id=gone).exists() for m in TABLES)
    # The colleague keeps all of theirs: 1 task, link, outbox row and run, 3 events.
    kept = {m.__name__: m.objects.filter(user=staying).count() for m in TABLES}
    assert kept == {
        "ReminderTask": 1,
        "TaskLink": 1,
        "OutboundChange": 1,
        "SyncRun": 1,
        "SyncEvent": 3,
    }
