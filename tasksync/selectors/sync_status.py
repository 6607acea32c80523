"""The settings page's sync part: its state in plain words, the first sync's figures, and whether
sync can be turned on (R3, R14)."""

from dataclasses import dataclass

from django.db.models import Max, Sum
from django.utils.translation import gettext as _

from accounts.models import ConnectionState
from tasksync.models import OutboundChange, OutboxState, PauseReason, SyncPhase, SyncState


@dataclass(frozen=True)
class FirstSyncSummary:
    pulled: int
    finished_at: object


def first_sync_summary_for(*, user) -> FirstSyncSummary | None:
    """R3/R14: what the first sync since sync was last turned on imported ("imported 23 tasks"),
    or None before it finished. Summed over its runs: a job delivered twice, or a first sync
    retried after a failure, is still one import."""
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
