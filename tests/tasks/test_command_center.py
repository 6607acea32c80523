"""R4/R16: the Command Center shows tasks due today and tomorrow in the user's time zone."""

from datetime import UTC, date, datetime

import time_machine
from django.urls import reverse

from tasksync.selectors import command_center_for, user_today
from tests.factories import ReminderTaskFactory, UserFactory

# 2026-11-28 12:00 UTC is already 2026-11-29 01:00 in Auckland (UTC+13) and still 2026-11-28
# 04:00 in Los Angeles (UTC-8).
INSTANT = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_it_computes_today_in_each_users_time_zone(db):
    auckland = UserFactory(time_zone="Pacific/Auckland")
    los_angeles = UserFactory(time_zone="America/Los_Angeles")
    assert user_today(user=auckland, now=INSTANT) == date(2026, 11, 29)
    assert user_today(user=los_angeles, now=INSTANT) == date(2026, 11, 28)


def test_a_task_due_on_one_date_is_today_in_auckland_and_tomorrow_in_los_angeles(db):
    # R16: same UTC instant, same calendar date, two different answers.
    auckland = UserFactory(time_zone="Pacific/Auckland")
    los_angeles = UserFactory(time_zone="America/Los_Angeles")
    due = date(2026, 11, 29)
    nz_task = ReminderTaskFactory(user=auckland, due_date=due)
    la_task = ReminderTaskFactory(user=los_angeles, due_date=due)

    nz = command_center_for(user=auckland, now=INSTANT)
    la = command_center_for(user=los_angeles, now=INSTANT)

    assert nz.due_today == [nz_task] and nz.due_tomorrow == []
    assert la.due_today == [] and la.due_tomorrow == [la_task]


def test_it_leaves_out_other_days_completed_deleted_and_other_users_tasks(db):
    user = UserFactory(time_zone="UTC")
    today = date(2026, 11, 28)
    shown = ReminderTaskFactory(user=user, due_date=today, name="Shown")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 30))
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 27))
    ReminderTaskFactory(user=user, due_date=None)
    ReminderTaskFactory(user=user, due_date=today, status="complete")
    ReminderTaskFactory(user=user, due_date=today, deleted_at=INSTANT)
    ReminderTaskFactory(due_date=today)
    center = command_center_for(user=user, now=INSTANT)
    assert center.due_today == [shown] and center.due_tomorrow == []


def test_the_page_lists_high_priority_first(client, db):
    user = UserFactory(time_zone="UTC")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 28), name="A normal one")
    ReminderTaskFactory(user=user, due_date=date(2026, 11, 28), name="Z urgent", priority="high")
    client.force_login(user)
    with time_machine.travel(INSTANT, tick=False):
        html = client.get(reverse("command_center")).content.decode()
    assert html.index("Z urgent") < html.index("A normal one")


def test_completing_from_the_command_center_removes_the_task(client, db):
    user = UserFactory(time_zone="UTC")
    task = ReminderTaskFactory(user=user, due_date=date(2026, 11, 28), name="Call Ana")
    client.force_login(user)
    with time_machine.travel(INSTANT, tick=False):
        assert "Call Ana" in client.get(reverse("command_center")).content.decode()
        response = client.post(
            reverse("task_complete", args=[task.pk]), {"next": reverse("command_center")}
        )
        assert response.url == reverse("command_center")
        assert client.get(reverse("command_center")).context["center"].due_today == []


def test_the_command_center_costs_the_same_queries_for_many_tasks(
    client, db, django_assert_max_num_queries
):
    user = UserFactory(time_zone="UTC")
    for i in range(40):
        ReminderTaskFactory(user=user, due_date=date(2026, 11, 28), name=f"Task {i}")
    client.force_login(user)
    with time_machine.travel(INSTANT, tick=False), django_assert_max_num_queries(8):
        response = client.get(reverse("command_center"))
    assert len(response.context["center"].due_today) == 40
