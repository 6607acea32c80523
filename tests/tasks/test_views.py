from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from tasksync.models import ReminderTask
from tests.factories import ReminderTaskFactory

TASK_VIEWS = ["task_edit", "task_delete", "task_complete", "task_reopen"]


@pytest.mark.parametrize("name", ["command_center", "task_list", "task_create", "settings"])
def test_it_sends_anonymous_visitors_to_sign_in(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("name", TASK_VIEWS)
def test_it_answers_404_for_another_users_task(signed_in, other_user, name):
    task = ReminderTaskFactory(user=other_user)
    assert signed_in.get(reverse(name, args=[task.pk])).status_code in (404, 405)
    assert signed_in.post(reverse(name, args=[task.pk])).status_code == 404
    task.refresh_from_db()
    assert task.status == "open" and task.deleted_at is None


@pytest.mark.parametrize("name", TASK_VIEWS)
def test_it_answers_404_for_a_deleted_task(signed_in, user, name):
    task = ReminderTaskFactory(user=user, deleted_at="2026-11-01T00:00:00Z")
    assert signed_in.post(reverse(name, args=[task.pk])).status_code == 404


def test_it_creates_a_task_from_the_form(signed_in, user):
    response = signed_in.post(
        reverse("task_create"),
        {
            "name": "Call Ana",
            "due_date": "2026-12-01",
            "priority": "high",
            "details": "Re: renewal",
        },
    )
    assert response.status_code == 302
    task = ReminderTask.objects.get(user=user)
    assert (task.name, task.due_date, task.priority) == ("Call Ana", date(2026, 12, 1), "high")


def test_it_shows_the_error_and_keeps_what_was_typed(signed_in, user):
    response = signed_in.post(
        reverse("task_create"),
        {"name": "n" * 256, "due_date": "2026-12-01", "priority": "high", "details": "keep me"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Keep the name to 255 characters (it has 256)" in html
    assert "keep me" in html and 'value="2026-12-01"' in html and "n" * 256 in html
    assert not ReminderTask.objects.exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "   "}, "name", "Give the task a name."),
        ({"name": "ok", "details": "d" * 32_001}, "details", "32000 characters"),
        ({"name": "ok", "due_date": "31/12/2026"}, "due_date", "Enter a date like 2026-12-31."),
        ({"name": "ok", "priority": "low"}, "priority", "Select a valid choice"),
    ],
)
def test_it_validates_every_field_limit(signed_in, data, field, message):
    response = signed_in.post(reverse("task_create"), {"priority": "normal", **data})
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])


def test_it_edits_completes_reopens_and_deletes(signed_in, user):
    task = ReminderTaskFactory(user=user, name="Old")
    signed_in.post(
        reverse("task_edit", args=[task.pk]),
        {"name": "New", "priority": "normal", "status": "open", "details": ""},
    )
    task.refresh_from_db()
    assert task.name == "New"
    signed_in.post(reverse("task_complete", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == "complete"
    signed_in.post(reverse("task_reopen", args=[task.pk]))
    task.refresh_from_db()
    assert task.status == "open"
    signed_in.post(reverse("task_delete", args=[task.pk]))
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert list(signed_in.get(reverse("task_list")).context["tasks"]) == []


def test_it_leaves_a_task_untouched_when_an_edit_is_invalid(signed_in, user):
    task = ReminderTaskFactory(user=user, name="Keep")
    response = signed_in.post(
        reverse("task_edit", args=[task.pk]), {"name": "", "priority": "normal", "status": "open"}
    )
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.name == "Keep"


def test_it_filters_the_task_list_by_status_and_orders_by_due_date(signed_in, user):
    ReminderTaskFactory(user=user, name="Later", due_date=date(2026, 12, 9))
    ReminderTaskFactory(user=user, name="Sooner", due_date=date(2026, 12, 1))
    ReminderTaskFactory(user=user, name="Done", status="complete")
    ReminderTaskFactory(name="Someone else's")
    html = signed_in.get(reverse("task_list")).content.decode()
    assert html.index("Sooner") < html.index("Later") < html.index("Done")
    assert "Someone else" not in html
    open_html = signed_in.get(reverse("task_list"), {"status": "open"}).content.decode()
    assert "Done" not in open_html and "Sooner" in open_html


def test_it_refuses_a_post_without_a_csrf_token(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse("task_create"), {"name": "x", "priority": "normal"})
    assert response.status_code == 403
    assert not ReminderTask.objects.exists()


def test_it_ignores_an_offsite_next_url(signed_in):
    response = signed_in.post(
        reverse("task_create"), {"name": "x", "priority": "normal", "next": "https://evil.example/"}
    )
    assert response.url == reverse("task_list")


def test_it_escapes_markup_in_task_names(signed_in, user):
    ReminderTaskFactory(user=user, name="<script>alert(1)</script>")
    html = signed_in.get(reverse("task_list")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_task_list_pages_long_lists_with_a_constant_number_of_queries(
    signed_in, user, django_assert_max_num_queries
):
    # R14: every live task is reachable, 100 a page, without a query per task.
    for i in range(130):
        ReminderTaskFactory(user=user, name=f"Task {i:03d}", due_date=date(2026, 12, 1))
    with django_assert_max_num_queries(8):
        first = signed_in.get(reverse("task_list"))
    assert len(first.context["tasks"]) == 100
    assert "Page 1 of 2 (130 tasks)" in first.content.decode()
    second = signed_in.get(reverse("task_list"), {"page": 2})
    assert len(second.context["tasks"]) == 30
