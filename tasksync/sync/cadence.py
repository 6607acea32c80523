"""When a user's next poll comes (R5, R13, R19), and the pauses that hold polls back (R12, R13):
written by the engine at a run's end, and by the org pull when the org is over its limit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from tasksync.models import PauseReason, SyncPhase, SyncState
from tasksync.sync import budget


def poll_interval(state: SyncState, *, org=None, stream: bool = True) -> timedelta:
    """R5 poll interval, stretched as the org nears its API budget share (R13); while the org's
    change stream is healthy, only a safety net (R19). ``org``: the state's org if the caller
    has read it (a run reads it with its connection), else it is read here. ``stream`` False:
    the caller knows the org has no stream."""
    from tasksync.sync.stream import stream_is_healthy

    base = timedelta(seconds=settings.SYNC_POLL_SECONDS)
    if stream and stream_is_healthy(state.org_id):
        base = max(base, timedelta(seconds=settings.SYNC_STREAM_SAFETY_POLL_SECONDS))
    org = org if org is not None else org_for(state)
    return budget.stretch(base, org.api_used, org.api_max) if org else base


def schedule_next(state: SyncState, *, failed: bool = False, since=None) -> None:
    interval = poll_interval(state)
    if failed:
        interval = max(interval, timedelta(minutes=2))
    SyncState.objects.filter(pk=state.pk).update(next_poll_at=(since or timezone.now()) + interval)


def org_for(state: SyncState):
    from accounts.models import SalesforceOrg

    if not state.org_id:
        return None
    return SalesforceOrg.objects.filter(org_id=state.org_id).first()


def pause_user(state: SyncState, reason: str, message: str) -> None:
    SyncState.objects.filter(pk=state.pk).update(
        phase=SyncPhase.PAUSED, pause_reason=reason, message=message[:1000]
    )


def pause_org(org_id: str, message: str) -> None:
    """R12/R13: the budget is the org's, so every user of the org waits; no spinning: the
    dispatcher looks again once the rolling 24-hour budget has had time to recover."""
    SyncState.objects.filter(org_id=org_id, enabled=True).exclude(
        phase=SyncPhase.PAUSED, pause_reason__in=[PauseReason.RECONNECT, PauseReason.STAFF]
    ).update(
        phase=SyncPhase.PAUSED,
        pause_reason=PauseReason.OVER_LIMIT,
        message=message[:1000],
        next_poll_at=timezone.now() + budget.RECOVERY_WAIT,
    )
