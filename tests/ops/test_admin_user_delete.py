"""Staff delete a user in the admin: their sync history goes with them (R14), their Salesforce
grant is revoked (R17), their Salesforce tasks stay in Salesforce, and a colleague keeps
everything.

The audit admins refuse deleting a row on its own (tests/ops/test_admin_pages.py); before this,
Django's delete confirmation counted that refusal against deleting the user who owns the rows, so
no one, not even a superuser, could delete a user who had ever synced."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import SalesforceConnection, User
from tasksync.models import (
    Notice,
    OutboundChange,
    ReminderTask,
    SyncConflict,
    SyncEvent,
    SyncRun,
    SyncState,
    TaskLink,
)
from tasksync.services import tasks as task_services

pytestmark = pytest.mark.django_db

THEIRS = [
    Notice,
    ReminderTask,
    TaskLink,
    OutboundChange,
    SyncRun,
    SyncEvent,
    SyncConflict,
    SyncState,
]


def _delete_url(user):
    return reverse("admin:accounts_user_delete", args=[user.pk])


def _rows_of(user_id) -> dict[str, int]:
    rows = {model.__name__: model.objects.filter(user_id=user_id).count() for model in THEIRS}
    rows["SalesforceConnection"] = SalesforceConnection.objects.filter(user_id=user_id).count()
    return rows


def _a_colleague():
    colleague = User.objects.create(username="bob")
    task_services.task_create(user=colleague, name="Bob's call")
    return colleague


def test_a_superuser_deletes_a_user_who_has_synced(history, admin_client, sf_emulator):
    # R14, R17: the user, their tasks, links, runs, events, conflicts and connection are deleted;
    # their refresh token is revoked at Salesforce; their Salesforce tasks stay there.
    colleague = _a_colleague()
    connection = SalesforceConnection.objects.get(user=history)
    refresh = connection.refresh_token
    sf_ids = list(
        TaskLink.objects.filter(user=history, sf_id__isnull=False).values_list("sf_id", flat=True)
    )
    before = _rows_of(history.pk)
    assert all(before[name] for name in ("ReminderTask", "TaskLink", "SyncRun", "SyncEvent"))
    assert before["SyncConflict"] and before["SalesforceConnection"] and before["Notice"]

    page = admin_client.get(_delete_url(history))
    assert page.status_code == 200
    assert not page.context["perms_lacking"], page.context["perms_lacking"]
    assert not page.context["protected"]
    assert b"permission to delete" not in page.content
    # The summary counts each kind once, though events are reached through the user, their
    # runs and their tasks alike.
    summary = {str(name): count for name, count in page.context["model_count"]}
    assert summary == {
        "users": 1,
        "reminder tasks": before["ReminderTask"],
        "task links": before["TaskLink"],
        "outbound changes": before["OutboundChange"],
        "notices": before["Notice"],
        "sync runs": before["SyncRun"],
        "sync events": before["SyncEvent"],
        "sync conflicts": before["SyncConflict"],
        "sync states": before["SyncState"],
        "Salesforce connections": before["SalesforceConnection"],
    }

    response = admin_client.post(_delete_url(history), {"post": "yes"})

    assert response.status_code == 302, response.content[:500]
    assert not User.objects.filter(pk=history.pk).exists()
    assert _rows_of(history.pk) == dict.fromkeys(before, 0)
    assert sf_emulator.token_is_revoked(refresh)
    assert sf_ids and all(sf_emulator.get_task(sf_id, include_deleted=False) for sf_id in sf_ids)
    assert ReminderTask.objects.filter(user=colleague, name="Bob's call").exists()


def test_the_confirmation_counts_a_history_instead_of_listing_it(admin_client):
    # R14's log can be 100,000 rows a user: the page names the user and counts the rest, in the
    # same queries whatever the size (Django's own page listed every row: 4.5 s and 2.8 MB for
    # a user with 10,000 synced tasks).
    def page_for(size):
        user = User.objects.create(username=f"rep{size}")
        tasks = ReminderTask.objects.bulk_create(
            [ReminderTask(user=user, name=f"Call number {i}") for i in range(size)]
        )
        run = SyncRun.objects.create(user=user, trigger="first_sync", started_at=timezone.now())
        TaskLink.objects.bulk_create(
            [TaskLink(user=user, task=task, sf_id=f"00T{i:015d}") for i, task in enumerate(tasks)]
        )
        SyncEvent.objects.bulk_create([SyncEvent(user=user, run=run, task=t) for t in tasks])
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(_delete_url(user))
        assert page.status_code == 200
        return page, len(queries)

    small, small_queries = page_for(3)
    large, large_queries = page_for(60)

    assert small_queries == large_queries
    assert b"Call number" not in large.content
    summary = {str(name): count for name, count in large.context["model_count"]}
    assert summary == {
        "users": 1,
        "reminder tasks": 60,
        "task links": 60,
        "sync runs": 1,
        "sync events": 60,
    }


def test_the_delete_action_deletes_several_users_and_revokes_each_grant(
    history, admin_client, sf_emulator
):
    # R17: the changelist's "Delete selected users" goes through the same service as the page.
    colleague = _a_colleague()
    refresh = SalesforceConnection.objects.get(user=history).refresh_token
    changelist = reverse("admin:accounts_user_changelist")
    chosen = {"action": "delete_selected", "_selected_action": [history.pk, colleague.pk]}

    confirm = admin_client.post(changelist, chosen)
    assert confirm.status_code == 200
    assert not confirm.context["perms_lacking"]
    response = admin_client.post(changelist, {**chosen, "post": "yes"})

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[history.pk, colleague.pk]).exists()
    assert _rows_of(history.pk) == dict.fromkeys(_rows_of(history.pk), 0)
    assert sf_emulator.token_is_revoked(refresh)


def test_staff_need_the_right_to_delete_tasks_to_delete_a_user_who_has_tasks(
    history, staff_with, sf_emulator
):
    # The history is the user's and goes with them; their tasks are what Django's own
    # permissions guard, so a staff member who may not delete tasks may not delete them this way.
    refresh = SalesforceConnection.objects.get(user=history).refresh_token
    perms = ("accounts.view_user", "accounts.delete_user")
    may_not = staff_with(*perms)

    page = may_not.get(_delete_url(history))
    assert page.status_code == 200
    assert {str(name) for name in page.context["perms_lacking"]} == {"reminder task"}
    assert may_not.post(_delete_url(history), {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=history.pk).exists()
    assert not sf_emulator.token_is_revoked(refresh)

    may = staff_with(*perms, "tasksync.delete_remindertask", username="lead")
    assert not may.get(_delete_url(history)).context["perms_lacking"]
    assert may.post(_delete_url(history), {"post": "yes"}).status_code == 302
    assert not User.objects.filter(pk=history.pk).exists()


def test_a_user_is_deleted_when_salesforce_cannot_be_reached(history, admin_client, sf_emulator):
    # R17: the revoke is attempted; if Salesforce does not answer, the user is deleted anyway and
    # the token is forgotten with them (as on a disconnect).
    sf_emulator.drop_response("POST", r"/services/oauth2/revoke")
    response = admin_client.post(_delete_url(history), {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=history.pk).exists()
    assert not SalesforceConnection.objects.filter(user_id=history.pk).exists()
