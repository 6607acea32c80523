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
        .select_related("link", "outbound")  # each row's sync badge, without a query per task
        .order_by(_HIGH_FIRST, "name", "pk")
    )
    return CommandCenter(
        today=today,
        tomorrow=tomorrow,
        due_today=[t for t in tasks if t.due_date == today],
        due_tomorrow=[t for t in tasks if t.due_date == tomorrow],
    )


def task_list_for(*, user, status: str | None = None):
    # R14: each row shows its sync badge, read from the link and the outbox row in the same query.
    tasks = ReminderTask.objects.live().for_user(user).select_related("link", "outbound")
    if status in TaskStatus.values:
        tasks = tasks.filter(status=status)
    return tasks


@dataclass(frozen=True)
class SyncStatus:
    phase: str
    label: str
    reason: str
    message: str
    progress_done: int
    progress_total: int
    last_success_at: object
    failed: list
    org_throttled: bool
    status_open: str = ""
    status_complete: str = ""

    @property
    def importing(self):
        return self.phase == "first_sync"

    def as_json(self):
        return {
            "phase": self.phase,
            "label": str(self.label),
            "reason": str(self.reason),
            "progress_done": self.progress_done,
            "progress_total": self.progress_total,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "failed": len(self.failed),
        }


def sync_status_for(*, user) -> SyncStatus:
    """R14: what the settings page tells the user about their sync."""
    from tasksync.models import OutboundChange, OutboxState, SyncPhase, SyncState

    state = SyncState.objects.filter(user=user).first()
    failed = list(
        OutboundChange.objects.filter(user=user, state=OutboxState.FAILED)
        .select_related("task")
        .order_by("-changed_at")[:50]
    )
    if state is None or not state.enabled:
        phase, label, reason = "off", SyncPhase.OFF.label, ""
    else:
        phase, label = state.phase, SyncPhase(state.phase).label
        reason = state.get_pause_reason_display() if state.pause_reason else ""
    return SyncStatus(
        phase=phase,
        label=label,
        reason=reason,
        message=state.message if state else "",
        progress_done=state.progress_done if state else 0,
        progress_total=state.progress_total if state else 0,
        last_success_at=state.last_success_at if state else None,
        failed=failed,
        org_throttled=bool(state and state.pause_reason == "over_limit"),
        status_open=state.status_open_value if state else "",
        status_complete=state.status_complete_value if state else "",
    )
