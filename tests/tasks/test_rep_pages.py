"""R14: what a rep sees where they work: trouble banners, overdue, task views, due-date limits,
live regions and the time zone taken from the browser."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from tasksync.models import OutboundChange, SyncState, TaskLink, ZoneChoice
from tasksync.services import tasks as task_services
from tests.factories import ReminderTaskFactory

INSTANT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # 13:00 in Madrid, the user's zone
TODAY = date(2026, 11, 28)

pytestmark = pytest.mark.django_db


def _get(client, name, **params):
    with time_machine.travel(INSTANT, tick=False):
        return client.get(reverse(name), params).content.decode()


def test_the_command_center_counts_open_overdue_tasks_and_links_to_them(signed_in, user):
    # R14 (R4's lists stay): "N overdue" leads to the task list filtered to them.
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), name="Late one")
    ReminderTaskFactory(user=user, due_date=date(2025, 1, 1), name="Very late")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), status="complete")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), deleted_at=INSTANT)
    ReminderTaskFactory(due_date=date(2026, 11, 27))  # another user's
    ReminderTaskFactory(user=user, due_date=TODAY, name="Due today")
    html = _get(signed_in, "command_center")
    assert '<a id="overdue-link" href="/tasks/?show=overdue">2 overdue</a>' in html
    assert "Due today" in html and "Late one" not in html

    listed = _get(signed_in, "task_list", show="overdue")
    assert "Late one" in listed and "Very late" in listed and "Due today" not in listed


def test_the_command_center_says_nothing_about_overdue_when_none_is(signed_in, user):
    ReminderTaskFactory(user=user, due_date=TODAY)
    assert "overdue" not in _get(signed_in, "command_center")


@pytest.mark.parametrize(
    ("show", "expected"),
    [
        ("overdue", {"Yesterday"}),
        ("today", {"Today"}),
        ("upcoming", {"Tomorrow", "Next year"}),
        ("completed", {"Done"}),
        ("", {"Yesterday", "Today", "Tomorrow", "Next year", "Done", "Undated"}),
    ],
)
def test_the_task_list_filters_overdue_today_upcoming_and_completed(
    signed_in, user, show, expected
):
    # R14: the task list's views, in the user's time zone (R16).
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), name="Yesterday")
    ReminderTaskFactory(user=user, due_date=TODAY, name="Today")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 29), name="Tomorrow")
    ReminderTaskFactory(user=user, due_date=date(2027, 11, 29), name="Next year")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), name="Done", status="complete")
    ReminderTaskFactory(user=user, name="Undated")
    with time_machine.travel(INSTANT, tick=False):
        response = signed_in.get(reverse("task_list"), {"show": show} if show else {})
    assert {t.name for t in response.context["tasks"]} == expected


@pytest.mark.parametrize("due", ["1699-12-31", "4001-01-01"])
def test_a_due_date_salesforce_cannot_hold_is_refused_with_a_clear_error(signed_in, user, due):
    # R14: due dates are limited to what Salesforce accepts; the form says so and keeps the input.
    response = signed_in.post(
        reverse("task_create"), {"name": "Far away", "due_date": due, "priority": "normal"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Salesforce accepts due dates from 1 January 1700 to 31 December 4000" in html
    assert 'min="1700-01-01"' in html and 'max="4000-12-31"' in html
    assert f'value="{due}"' in html and 'value="Far away"' in html
    assert not user.tasks.exists()


@pytest.mark.parametrize("due", ["1700-01-01", "4000-12-31"])
def test_the_first_and_last_dates_salesforce_accepts_are_fine(signed_in, user, due):
    # R14
    signed_in.post(reverse("task_create"), {"name": "Edge", "due_date": due, "priority": "normal"})
    assert user.tasks.get().due_date.isoformat() == due


@pytest.mark.parametrize(
    ("reason", "title", "what_to_do"),
    [
        (
            "staff",
            "Sync is paused by an administrator.",
            "Ask your administrator to resume it",
        ),
        ("reconnect", "Salesforce needs you to reconnect.", "Reconnect on the settings page"),
        ("over_limit", "Your Salesforce org reached its API limit.", "sync resumes by itself"),
    ],
)
@pytest.mark.parametrize("page", ["command_center", "task_list", "settings"])
def test_every_page_says_when_sync_is_paused_and_what_to_do(
    signed_in, user, reason, title, what_to_do, page
):
    # R14: trouble where the rep works, not only on the settings page.
    SyncState.objects.create(user=user, enabled=True, phase="paused", pause_reason=reason)
    html = _get(signed_in, page)
    assert f'data-trouble="{reason}"' in html
    assert title in html and what_to_do in html


def test_every_page_says_when_changes_failed_and_links_to_them(signed_in, user):
    # R11, R14
    SyncState.objects.create(user=user, enabled=True, phase="on")
    task = ReminderTaskFactory(user=user, name="Refused")
    OutboundChange.objects.create(
        task=task, user=user, operation="create", state="failed", last_error="Bad value"
    )
    for page in ("command_center", "task_list"):
        html = _get(signed_in, page)
        assert "1 task did not reach Salesforce." in html
        assert 'href="/settings/#failed-h"' in html


def test_no_banner_while_sync_runs_normally(signed_in, user):
    SyncState.objects.create(user=user, enabled=True, phase="on")
    assert "data-trouble" not in _get(signed_in, "command_center")


def test_a_badge_never_says_synced_while_sync_is_paused(signed_in, user):
    # R14: a linked task is not "Synced" while nothing moves.
    task = ReminderTaskFactory(user=user, name="Linked")
    TaskLink.objects.create(
        task=task, user=user, org_id="00D1", sf_user_id="0051", sf_id="00T000000000001AAA"
    )
    state = SyncState.objects.create(user=user, enabled=True, phase="on")
    assert 'class="badge synced"' in _get(signed_in, "task_list")
    state.phase, state.pause_reason = "paused", "staff"
    state.save()
    html = _get(signed_in, "task_list")
    assert 'class="badge synced"' not in html and ">Synced<" not in html
    assert 'class="badge paused"' in html and "Sync paused" in html


def test_a_live_region_answers_204_when_nothing_changed_and_the_new_html_when_it_did(
    signed_in, user
):
    # R14: lists update without a reload; an unchanged poll costs no body.
    ReminderTaskFactory(user=user, due_date=TODAY, name="First")
    with time_machine.travel(INSTANT, tick=False):
        first = signed_in.get(reverse("live_command_center"))
        version = first.content.decode().split('data-version="')[1].split('"')[0]
        assert signed_in.get(reverse("live_command_center"), {"v": version}).status_code == 204
        task_services.task_create(user=user, name="Second", due_date=TODAY)
        changed = signed_in.get(reverse("live_command_center"), {"v": version})
    assert changed.status_code == 200
    html = changed.content.decode()
    assert "Second" in html and 'id="command-center-live"' in html
    assert f'data-version="{version}"' not in html


def test_a_poll_after_the_session_ended_sends_the_page_to_sign_in(client, db):
    response = client.get(reverse("live_task_list"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/?next=")


def test_the_browsers_time_zone_is_taken_once_and_never_over_the_users_choice(signed_in, user):
    # R16: the first visit takes the browser's zone; the user's own choice stands afterwards.
    user.time_zone = "UTC"
    user.save()
    page = signed_in.get(reverse("command_center")).content.decode()
    assert 'data-detect-zone-url="/time-zone/detected/"' in page
    signed_in.post(reverse("time_zone_detected"), {"time_zone": "America/Chicago"})
    user.refresh_from_db()
    assert user.time_zone == "America/Chicago"

    signed_in.post(
        reverse("settings"), {"form": "preferences", "time_zone": "Asia/Tokyo", "language": ""}
    )
    signed_in.post(reverse("time_zone_detected"), {"time_zone": "Europe/Paris"})
    user.refresh_from_db()
    assert user.time_zone == "Asia/Tokyo"
    assert ZoneChoice.objects.get(user=user).from_browser is False


def test_a_zone_the_user_picked_before_is_never_replaced_by_the_browsers(signed_in, user):
    # R16: the fixture's user already chose Europe/Madrid.
    signed_in.post(reverse("time_zone_detected"), {"time_zone": "America/Chicago"})
    user.refresh_from_db()
    assert user.time_zone == "Europe/Madrid"
    assert ZoneChoice.objects.get(user=user).from_browser is False


def test_an_unknown_browser_zone_changes_nothing(signed_in, user):
    signed_in.post(reverse("time_zone_detected"), {"time_zone": "Mars/Olympus"})
    user.refresh_from_db()
    assert user.time_zone == "Europe/Madrid"


def test_a_spanish_speaking_rep_reads_the_banner_and_overdue_in_spanish(signed_in, user):
    user.language = "es"
    user.save()
    SyncState.objects.create(user=user, enabled=True, phase="paused", pause_reason="staff")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27))
    html = _get(signed_in, "command_center")
    assert "Un administrador ha pausado la sincronización." in html
    assert "1 vencida" in html and "Vencidas" in _get(signed_in, "task_list")


def test_every_page_says_while_the_first_sync_imports(signed_in, user):
    # R3: the import's progress is seen wherever the rep is, not only on the settings page.
    SyncState.objects.create(
        user=user, enabled=True, phase="first_sync", progress_done=12, progress_total=23
    )
    for page in ("command_center", "task_list"):
        html = _get(signed_in, page)
        assert "Importing your Salesforce tasks…" in html and "12 of 23" in html


def test_the_task_list_region_keeps_its_filter_across_polls(signed_in, user):
    # R14: a filtered list stays filtered when it updates.
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27), name="Late")
    ReminderTaskFactory(user=user, due_date=TODAY, name="Due today")
    with time_machine.travel(INSTANT, tick=False):
        page = signed_in.get(reverse("task_list"), {"show": "overdue"}).content.decode()
        assert 'hx-get="/live/tasks/?show=overdue"' in page
        version = page.split('id="task-list-live"')[1].split('data-version="')[1].split('"')[0]
        poll = signed_in.get(reverse("live_task_list"), {"show": "overdue", "v": version})
        assert poll.status_code == 204
        task_services.task_create(user=user, name="Also late", due_date=date(2026, 11, 1))
        poll = signed_in.get(reverse("live_task_list"), {"show": "overdue", "v": version})
    html = poll.content.decode()
    assert "Also late" in html and "Late" in html and "Due today" not in html
    assert 'hx-get="/live/tasks/?show=overdue"' in html


def test_the_zone_post_leaves_the_session_alone(signed_in, user):
    # R16, R17: posted by the page as it opens, while the rep may already have clicked "Connect
    # Salesforce": a session saved by it could overwrite the connect's OAuth state.
    signed_in.post(reverse("salesforce_connect"))
    state = dict(signed_in.session.items())
    assert "salesforce_oauth" in state
    response = signed_in.post(reverse("time_zone_detected"), {"time_zone": "America/Chicago"})
    assert response.status_code == 204
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # not saved
    assert dict(signed_in.session.items()) == state
