"""Read-side queries for pages: what a user sees, in their own time zone (R4, R16)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from tasksync.models import ReminderTask, TaskPriority, TaskStatus

_HIGH_FIRST = Case(
    When(priority=TaskPriority.HIGH, then=Value(0)), default=Value(1), output_field=IntegerField()
)


@dataclass(frozen=True)
class CommandCenter:
    today: date
    tomorrow: date
    due_today: list
    due_tomorrow: list


def user_today(*, user, now=None) -> date:
    """The calendar date it is for ``user`` at ``now`` (default: the current instant)."""
    now = now or timezone.now()
    return timezone.localtime(now, user.zone).date()


def command_center_for(*, user, now=None) -> CommandCenter:
    today = user_today(user=user, now=now)
    tomorrow = today + timedelta(days=1)
    tasks = list(
        ReminderTask.objects.live()
        .for_user(user)
        .filter(status=TaskStatus.OPEN, due_date__in=[today, tomorrow])
        .order_by(_HIGH_FIRST, "name", "pk")
    )
    return CommandCenter(
        today=today,
        tomorrow=tomorrow,
        due_today=[t for t in tasks if t.due_date == today],
        due_tomorrow=[t for t in tasks if t.due_date == tomorrow],
    )


def task_list_for(*, user, status: str | None = None):
    tasks = ReminderTask.objects.live().for_user(user)
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    return tasks
