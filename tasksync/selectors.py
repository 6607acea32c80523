"""Read-side queries for pages: what a user sees, in their own time zone (R4, R16)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, Count, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import ConnectionState, SalesforceConnection
from tasksync.models import (
    Notice,
    OutboundChange,
    OutboxState,
    PauseReason,
    ReminderTask,
    SyncPhase,
    SyncState,
    TaskPriority,
    TaskStatus,
)

_HIGH_FIRST = Case(
    When(priority=TaskPriority.HIGH, then=Value(0)), default=Value(1), output_field=IntegerField()
)


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
        open_tasks.filter(due_date__in=[today, tomorrow])
        .select_related("link", "outbound")  # each row's sync badge, without a query per task
        .order_by(_HIGH_FIRST, "name", "pk")
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
    tasks = ReminderTask.objects.live().for_user(user).select_related("link", "outbound")
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


@dataclass(frozen=True)
class Trouble:
    """One reason the rep's sync needs attention, and what to do about it (R14)."""

    kind: str  # staff | reconnect | over_limit | failed
    title: str
    detail: str
    action: str  # what the rep should do
    link_label: str = ""
    link_url: str = ""


@dataclass(frozen=True)
class RepStatus:
    """What every page of a rep's shows above its content: sync trouble and unread notices."""

    hold: str  # "" while sync runs; "paused" or "off" when linked tasks are not being synced
    troubles: list
    notices: list
    pause_reason: str = ""
    # R3: while the first sync imports, every page says how far it got.
    importing: bool = False
    progress_done: int = 0
    progress_total: int = 0


_CONNECTION_STATE = Subquery(
    SalesforceConnection.objects.filter(user_id=OuterRef("user_id")).values("state")[:1]
)
_FAILED_COUNT = Coalesce(
    Subquery(
        OutboundChange.objects.filter(user_id=OuterRef("user_id"), state=OutboxState.FAILED)
        .order_by()
        .values("user_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    ),
    0,
)
NOTICES_SHOWN = 10


def staff_pause_entry(*, state):
    """The admin log entry of the staff "pause" action that holds this sync (R14), or None when
    the pause came another way."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    return (
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(SyncState),
            object_id=str(state.pk),
            change_message="Paused.",
        )
        .select_related("user")
        .order_by("-action_time")
        .first()
    )


def staff_pauser_for(*, state) -> str:
    """Who paused the sync (R14), by name for the rep, or "". Read only while a staff pause is
    on."""
    entry = staff_pause_entry(state=state)
    if entry is None:
        return ""
    name = entry.user.get_full_name() or entry.user.get_username()
    return _("%(name)s (administrator)") % {"name": name}


def rep_status_for(*, user) -> RepStatus:
    """R14: trouble where the rep works. Two queries: the state (with the connection's state and
    the failed count folded in) and the unread notices."""
    state = (
        SyncState.objects.filter(user=user)
        .annotate(connection_state=_CONNECTION_STATE, failed_count=_FAILED_COUNT)
        .first()
    )
    notices = list(
        Notice.objects.filter(user=user, read_at__isnull=True).order_by("-created_at", "-id")[
            : NOTICES_SHOWN + 1
        ]
    )
    if state is None:
        return RepStatus(hold="", troubles=[], notices=notices)
    settings_url = reverse("settings")
    troubles = []
    reason = state.pause_reason if state.enabled and state.phase == SyncPhase.PAUSED else ""
    if state.enabled and (
        reason == PauseReason.RECONNECT or state.connection_state == ConnectionState.NEEDS_RECONNECT
    ):
        troubles.append(
            Trouble(
                "reconnect",
                _("Salesforce needs you to reconnect."),
                _("Salesforce no longer accepts tasksync's access, so nothing is syncing."),
                _("Reconnect on the settings page; sync resumes by itself, nothing is lost."),
                _("Reconnect Salesforce"),
                settings_url + "#salesforce",
            )
        )
    elif reason == PauseReason.STAFF:
        detail = _("Your changes wait here, nothing is lost, and nothing comes from Salesforce.")
        if state.message:
            note = _("Note from staff:")
            detail = f"{detail} {note} “{state.message}”"
        who = staff_pauser_for(state=state)
        troubles.append(
            Trouble(
                "staff",
                _("Sync is paused by %(who)s.") % {"who": who}
                if who
                else _("Sync is paused by an administrator."),
                detail,
                _("Ask your administrator to resume it: “Sync now” cannot lift this pause."),
            )
        )
    elif reason == PauseReason.OVER_LIMIT:
        troubles.append(
            Trouble(
                "over_limit",
                _("Your Salesforce org reached its API limit."),
                _("tasksync waits for the org's daily allowance to recover: %(message)s")
                % {"message": state.message}
                if state.message
                else _("tasksync waits for the org's daily allowance to recover."),
                _("Nothing to do: your changes are kept and sync resumes by itself."),
            )
        )
    if state.failed_count:
        troubles.append(
            Trouble(
                "failed",
                ngettext(
                    "%(count)d task did not reach Salesforce.",
                    "%(count)d tasks did not reach Salesforce.",
                    state.failed_count,
                )
                % {"count": state.failed_count},
                ngettext(
                    "Salesforce refused it; the settings page shows its message.",
                    "Salesforce refused them; the settings page shows its message for each.",
                    state.failed_count,
                ),
                _("Fix the task (or ask an admin to fix the rule in Salesforce), then retry."),
                _("See what failed"),
                settings_url + "#failed-h",
            )
        )
    hold = "" if state.is_active else ("paused" if state.enabled else "off")
    return RepStatus(
        hold=hold,
        troubles=troubles,
        notices=notices,
        pause_reason=reason,
        importing=state.enabled and state.phase == SyncPhase.FIRST_SYNC,
        progress_done=state.progress_done,
        progress_total=state.progress_total,
    )


@dataclass(frozen=True)
class FirstSyncSummary:
    pulled: int
    finished_at: object


def first_sync_summary_for(*, user) -> FirstSyncSummary | None:
    """R3/R14: what the first sync since sync was last turned on imported ("imported 23 tasks"),
    or None before it finished. Summed over its runs: a job delivered twice, or a first sync
    retried after a failure, is still one import."""
    from django.db.models import Max, Sum

    from tasksync.models import RunOutcome, SyncRun, SyncTrigger

    state = SyncState.objects.filter(user=user).only("last_enabled_at").first()
    if state is None or state.last_enabled_at is None:
        return None
    figures = (
        SyncRun.objects.filter(
            user=user, trigger=SyncTrigger.FIRST_SYNC, started_at__gte=state.last_enabled_at
        )
        .exclude(outcome=RunOutcome.RUNNING)
        .aggregate(pulled=Sum("pulled"), finished_at=Max("finished_at"))
    )
    if figures["finished_at"] is None:
        return None
    return FirstSyncSummary(pulled=figures["pulled"] or 0, finished_at=figures["finished_at"])


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
    reason_code: str = ""  # PauseReason's value: staff | reconnect | over_limit

    @property
    def importing(self):
        return self.phase == SyncPhase.FIRST_SYNC

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
        # Prefetched, not joined: with nothing failed the tasks table is not read at all, so the
        # settings page never waits on a first import that is writing it.
        .prefetch_related("task")
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
        org_throttled=bool(state and state.pause_reason == PauseReason.OVER_LIMIT),
        status_open=state.status_open_value if state else "",
        status_complete=state.status_complete_value if state else "",
        reason_code=state.pause_reason if state and state.enabled else "",
    )


@dataclass(frozen=True)
class SyncAvailability:
    can_enable: bool
    enabled: bool
    reason: str


def sync_availability(*, user) -> SyncAvailability:
    """R3: sync can only be turned on while a Salesforce account is connected."""
    state = SyncState.objects.filter(user=user).first()
    enabled = bool(state and state.enabled)
    connection = getattr(user, "salesforce_connection", None)
    if connection is None or not connection.is_usable:
        reason = (
            _("Reconnect Salesforce first.")
            if connection is not None and connection.state == ConnectionState.NEEDS_RECONNECT
            else _("Connect Salesforce first.")
        )
        return SyncAvailability(can_enable=False, enabled=enabled, reason=reason)
    return SyncAvailability(can_enable=True, enabled=enabled, reason="")
