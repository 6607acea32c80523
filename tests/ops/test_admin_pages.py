"""Every admin page renders, and the audit log cannot be edited by hand (R14)."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import User
from tasksync.models import OutboundChange, SyncConflict, SyncEvent, SyncRun, SyncState, TaskLink

REGISTERED = sorted(admin.site._registry, key=lambda model: model._meta.label)


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_it_renders_the_list_search_and_change_page_of_every_registered_model(
    model, history, admin_client
):
    # R14: every admin list and change page renders, with at least one object.
    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(username="root")
    first = admin.site._registry[model].get_queryset(request).order_by("pk").first()
    assert first is not None, f"no {model._meta.label} to show"
    response = admin_client.get(_url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    assert admin_client.get(_url(model, "changelist"), {"q": "x"}).status_code == 200
    assert admin_client.get(_url(model, "change", first.pk)).status_code == 200


@pytest.mark.parametrize(
    "model", [SyncRun, SyncEvent, SyncConflict, TaskLink, OutboundChange, SyncState]
)
def test_it_keeps_the_sync_log_read_only(model, history, admin_client):
    # R14: audit rows can be viewed, never added, changed or deleted by hand.
    first = model.objects.order_by("pk").first()
    assert admin_client.get(_url(model, "add")).status_code == 403
    assert admin_client.post(_url(model, "change", first.pk), {}).status_code == 403
    assert admin_client.post(_url(model, "delete", first.pk), {"post": "yes"}).status_code == 403
    page = admin_client.get(_url(model, "change", first.pk)).content.decode()
    assert 'name="_save"' not in page
    assert model.objects.filter(pk=first.pk).exists()


def test_it_lists_a_runs_events_on_its_page(history, admin_client):
    # R14: who, trigger, counts, and the per-record events of the run.
    run = SyncRun.objects.get(failed__gt=0)
    html = admin_client.get(_url(SyncRun, "change", run.pk)).content.decode()
    event = SyncEvent.objects.filter(run=run, ok=False).get()
    assert "No forbidden" in html
    assert event.sf_id in html or event.task.name in html
    listing = admin_client.get(_url(SyncRun, "changelist"), {"outcome__exact": "partial"})
    assert listing.context["cl"].result_count == 1


@pytest.mark.parametrize("term", ["username", "email", "sf_user_id", "org_id"])
def test_it_finds_runs_by_user_and_salesforce_ids(history, admin_client, sf_connection, term):
    value = {
        "username": history.username,
        "email": history.email,
        "sf_user_id": sf_connection.sf_user_id,
        "org_id": sf_connection.org.org_id,
    }[term]
    response = admin_client.get(_url(SyncRun, "changelist"), {"q": value})
    assert response.context["cl"].result_count == SyncRun.objects.count()
    assert (
        admin_client.get(_url(SyncRun, "changelist"), {"q": "nobody"}).context["cl"].result_count
        == 0
    )


def test_it_shows_a_tasks_history_with_old_and_new_values_and_a_salesforce_link(
    history, admin_client, sf_connection
):
    # R14: per-task history, reachable from the task and from its link.
    conflict = SyncConflict.objects.get()
    task, link = conflict.task, TaskLink.objects.get(task=conflict.task)
    for page in (_url(type(task), "change", task.pk), _url(TaskLink, "change", link.pk)):
        html = admin_client.get(page).content.decode()
        assert f"?task__id__exact={task.pk}" in html
        assert f'href="{sf_connection.instance_url}/{link.sf_id}"' in html
    events = admin_client.get(_url(SyncEvent, "changelist"), {"task__id__exact": task.pk})
    html = events.content.decode()
    assert events.context["cl"].result_count == SyncEvent.objects.filter(task=task).count() >= 3
    assert "details: Local value → Salesforce value" in html
    assert f'href="{sf_connection.instance_url}/{link.sf_id}"' in html


def test_it_shows_both_values_times_and_the_winner_of_a_conflict(history, admin_client):
    # R8: field, both values, both times, the winner.
    html = admin_client.get(_url(SyncConflict, "changelist")).content.decode()
    for text in ("Local value", "Salesforce value", "details", "Salesforce"):
        assert text in html
    unresolved = admin_client.get(_url(SyncConflict, "changelist"), {"resolved": "no"})
    assert unresolved.context["cl"].result_count == 1


def test_it_shows_a_users_sync_state_with_failures_and_connection_health(
    history, admin_client, sf_connection
):
    # R14: state, last success, needs reconnect, over limit, failed items.
    from accounts.connections import connection_mark_needs_reconnect

    connection_mark_needs_reconnect(connection=sf_connection, reason="revoked")
    response = admin_client.get(_url(SyncState, "changelist"))
    row = response.context["cl"].result_list[0]
    model_admin = admin.site._registry[SyncState]
    assert model_admin.failed_items(row) != 0
    assert model_admin.needs_reconnect(row) is True
    assert model_admin.over_limit(row) is False
    html = response.content.decode()
    assert "?user__id__exact=" in html and "state__exact=failed" in html
    filtered = admin_client.get(_url(SyncState, "changelist"), {"connection": "needs_reconnect"})
    assert filtered.context["cl"].result_count == 1
