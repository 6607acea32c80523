"""The admin's lists draw their rows cheaply without changing what they show (R14), and never
read a connection's tokens to do it (R17)."""

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import SalesforceConnection, User
from tasksync.models import ReminderTask, SyncEvent, SyncRun, SyncState, TaskLink
from tests.factories import ReminderTaskFactory

HOSTILE = '<script>alert("x")</script> & co'


@pytest.mark.parametrize("model", [ReminderTask, User, SyncState])
def test_the_action_checkbox_is_djangos_own_markup(model, db):
    # The admin's JavaScript (select all, the action bar) reads this markup: it must not drift.
    task = ReminderTaskFactory(name=HOSTILE)
    obj = {ReminderTask: task, User: task.user, SyncState: SyncState(pk=7, user=task.user)}[model]
    if model is User:
        obj.username = HOSTILE
    ours = admin.site._registry[model]
    assert ours.action_checkbox(obj) == admin.ModelAdmin.action_checkbox(ours, obj)
    assert "<script>" not in ours.action_checkbox(obj)


def _token_reads(admin_client, url):
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(url)
    assert response.status_code == 200, url
    joined = [q["sql"] for q in queries if "accounts_salesforceconnection" in q["sql"]]
    return joined, [sql for sql in joined if "access_token" in sql or "refresh_token" in sql]


@pytest.mark.parametrize("model", [SyncEvent, TaskLink, SyncState])
def test_no_list_of_the_log_reads_a_connections_tokens(model, history, admin_client):
    # R17: these lists link each row's record in Salesforce through its user's connection,
    # joined to every row; the tokens are not even read (so never decrypted) to draw them.
    opts = model._meta
    joined, tokens = _token_reads(
        admin_client, reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    )
    assert joined and not tokens


def test_a_run_page_and_a_tasks_history_read_no_token(history, admin_client):
    run = SyncRun.objects.filter(events__isnull=False).order_by("pk").first()
    task = SyncEvent.objects.filter(task__isnull=False).order_by("pk").first().task
    for url in (
        reverse("admin:tasksync_syncrun_change", args=[run.pk]),
        reverse("admin:tasksync_remindertask_history", args=[task.pk]),
    ):
        joined, tokens = _token_reads(admin_client, url)
        assert joined and not tokens, url


def test_the_connections_change_page_still_says_whether_tokens_are_stored(history, admin_client):
    conn = SalesforceConnection.objects.get(user=history)
    html = admin_client.get(
        reverse("admin:accounts_salesforceconnection_change", args=[conn.pk])
    ).content.decode()
    assert "Tokens stored" in html and conn.access_token not in html


def test_a_searched_page_of_events_reads_no_token(history, admin_client):
    url = reverse("admin:tasksync_syncevent_changelist") + "?q=task"
    joined, tokens = _token_reads(admin_client, url)
    assert joined and not tokens


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for method in ("seqscan", "bitmapscan", "sort"):  # as with a big log: the index
                cursor.execute(f"SET LOCAL enable_{method} = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


@pytest.mark.parametrize("key", ["run", "task"])
def test_a_runs_or_a_tasks_events_are_read_newest_first_from_an_index(key, history):
    # R14: the first import's 10,000 events, or a busy task's, are paged newest first without
    # sorting them all for each page.
    event = SyncEvent.objects.filter(run__isnull=False, task__isnull=False).first()
    page = SyncEvent.objects.filter(**{key: getattr(event, key)}).order_by("-created_at", "-id")
    plan = _plan(page[:100])
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_the_task_list_pages_every_reps_tasks_newest_first_from_the_key(history, admin_client):
    # R14: staff's list of all tasks reads a page from the primary key's index, newest first.
    response = admin_client.get(reverse("admin:tasksync_remindertask_changelist"))
    tasks = list(response.context["cl"].result_list)
    assert [task.pk for task in tasks] == sorted((task.pk for task in tasks), reverse=True)
    plan = _plan(response.context["cl"].queryset[:100])
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
