"""The rep's task pages: the command center and the task list, in the user's own time zone (R4,
R14, R16)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from tasksync.models import ReminderTask, TaskPriority, TaskStatus

_HIGH_FIRST = Case(
    When(priority=TaskPriority.HIGH, then=Value(0)), default=Value(1), output_field=IntegerField()
)


# What a task row shows (tasksync/templatetags/task_rows.py), its link's and its outbox row's
# state included: the pages read these columns only (no details, no JSON to decode).
TASK_ROW_FIELDS = (
    "name",
    "status",
    "priority",
    "due_date",
    "related_who",
    "related_what",
    "link__state",
    "link__sf_id",
    "outbound__state",
    "outbound__last_error",
)


def _rows(tasks):
    """The tasks as the pages list them: each row's sync badge from the same query (no query
    per task), the row's columns only."""
    return tasks.select_related("link", "outbound").only(*TASK_ROW_FIELDS)


@dataclass(frozen=True)
class CommandCenter:
    today: date
    tomorrow: date
    due_today: list
    due_tomorrow: list
    overdue: int = 0


def user_today(*, user, now=None) -> date:
    """The calendar date it is for ``user`` at ``now`` (default: the current instant)."""
    now = now or timezone.now()
    return timezone.localtime(now, user.zone).date()


def command_center_for(*, user, now=None) -> CommandCenter:
    today = user_today(user=user, now=now)
    tomorrow = today + timedelta(days=1)
    open_tasks = ReminderTask.objects.live().for_user(user).filter(status=TaskStatus.OPEN)
    tasks = list(
        _rows(open_tasks.filter(due_date__in=[today, tomorrow])).order_by(_HIGH_FIRST, "name", "pk")
    )
    return CommandCenter(
        today=today,
        tomorrow=tomorrow,
        due_today=[t for t in tasks if t.due_date == today],
        due_tomorrow=[t for t in tasks if t.due_date == tomorrow],
        # R14: R4's lists stay as they are; the open tasks due before today are counted.
        overdue=open_tasks.filter(due_date__lt=today).count(),
    )


# R14: the task list's views, in a rep's words; each is a filter on the user's live tasks.
TASK_VIEWS = ("overdue", "today", "upcoming", "completed")


def task_list_for(*, user, status: str | None = None, show: str = "", now=None):
    # R14: each row shows its sync badge, read from the link and the outbox row in the same query.
    tasks = _rows(ReminderTask.objects.live().for_user(user))
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    if show in TASK_VIEWS:
        today = user_today(user=user, now=now)
        tasks = {
            "overdue": tasks.filter(status=TaskStatus.OPEN, due_date__lt=today),
            "today": tasks.filter(status=TaskStatus.OPEN, due_date=today),
            "upcoming": tasks.filter(status=TaskStatus.OPEN, due_date__gt=today),
            "completed": tasks.filter(status=TaskStatus.COMPLETE).order_by("-completed_at", "-pk"),
        }[show]
    return tasks
