"""Turning sync on and off, and the staff actions (R3, R7, R14, R17). Thin callers: views,
admin actions and commands."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from tasksync.models import (
    LinkState,
    OutboundChange,
    OutboxState,
    PauseReason,
    SyncPhase,
    SyncState,
    SyncTrigger,
    TaskLink,
)
from tasksync.sync import jobs_api

FRESH_AFTER_DAYS = 15  # R7: a longer break behaves as a first sync


def sync_state_for(*, user) -> SyncState:
    state, _ = SyncState.objects.get_or_create(user=user)
    return state


@transaction.atomic
def sync_enable(*, user) -> SyncState:
    """R3: turning sync on queues a sync at once. R4: the first time it imports the last 24 hours;
    R7: after a break it catches up (or starts over when the break passed 15 days)."""
    connection = user.salesforce_connection
    state = SyncState.objects.select_for_update().get_or_create(user=user)[0]
    if state.enabled:
        return state
    identity = (connection.org.org_id, connection.sf_user_id)
    if state.org_id and (state.org_id, state.sf_user_id) != identity:
        _start_fresh(state)
    now = timezone.now()
    state.org_id, state.sf_user_id = identity
    state.enabled = True
    state.last_enabled_at = now
    state.pause_reason, state.message = PauseReason.NONE, ""
    long_break = state.last_success_at is None or now - state.last_success_at > timezone.timedelta(
        days=FRESH_AFTER_DAYS
    )
    if state.first_enabled_at is None or long_break:
        state.phase = SyncPhase.FIRST_SYNC
        state.progress_done = state.progress_total = 0
        trigger = SyncTrigger.FIRST_SYNC
    else:
        state.phase = SyncPhase.ON
        trigger = SyncTrigger.MANUAL
    state.first_enabled_at = state.first_enabled_at or now
    state.push_queued = True
    state.save()
    transaction.on_commit(lambda: jobs_api.enqueue_sync(user_id=user.pk, trigger=trigger))
    return state


def sync_disable(*, user) -> SyncState:
    """R7: while off nothing moves either way; links are kept."""
    state = sync_state_for(user=user)
    if state.enabled:
        state.enabled = False
        state.phase = SyncPhase.OFF
        state.last_disabled_at = timezone.now()
        state.push_queued = False
        state.save(update_fields=["enabled", "phase", "last_disabled_at", "push_queued"])
    return state


def _start_fresh(state: SyncState) -> None:
    """R17: another Salesforce user or org. Old links are retired and never used to write into
    the new org; cursors start over; the next enable is a first sync."""
    TaskLink.objects.filter(user_id=state.user_id).exclude(state=LinkState.RETIRED).update(
        state=LinkState.RETIRED
    )
    OutboundChange.objects.filter(user_id=state.user_id).delete()
    state.watermark = state.deleted_watermark = state.last_success_at = None
    state.first_enabled_at = None
    state.status_open_value = state.status_complete_value = ""


def sync_identity_changed(*, user) -> None:
    if SyncState.objects.filter(user=user).exists():
        state = sync_disable(user=user)
        _start_fresh(state)
        state.org_id = state.sf_user_id = ""
        state.save()


def sync_reconnected(*, user) -> bool:
    """R14: reconnecting Salesforce after a "reconnect" pause resumes sync at once: the pause is
    lifted and a run queued, with nothing else to click. Other pauses (staff, over the limit)
    stay. Called inside the transaction that stores the new grant; the run is queued after it
    commits."""
    state = SyncState.objects.filter(
        user=user, enabled=True, phase=SyncPhase.PAUSED, pause_reason=PauseReason.RECONNECT
    ).first()
    if state is None:
        return False
    # A first sync that was interrupted starts again as a first sync (R4).
    first = state.last_success_at is None
    resumed = SyncState.objects.filter(
        pk=state.pk, phase=SyncPhase.PAUSED, pause_reason=PauseReason.RECONNECT
    ).update(
        phase=SyncPhase.FIRST_SYNC if first else SyncPhase.ON,
        pause_reason=PauseReason.NONE,
        message="",
        next_poll_at=None,
        push_queued=True,
    )
    if resumed:
        trigger = SyncTrigger.FIRST_SYNC if first else SyncTrigger.POLL
        transaction.on_commit(lambda: jobs_api.enqueue_sync(user_id=user.pk, trigger=trigger))
    return bool(resumed)


def sync_now(*, user, trigger: str = SyncTrigger.MANUAL) -> bool:
    """Queue a run at once. False when nothing was queued: sync is off, or (R14) staff paused
    it and this is not a staff resync."""
    state = SyncState.objects.filter(user=user, enabled=True).first()
    if state is None:
        return False
    paused_by_staff = state.phase == SyncPhase.PAUSED and state.pause_reason == PauseReason.STAFF
    if paused_by_staff and trigger != SyncTrigger.RESYNC:
        return False
    transaction.on_commit(lambda: jobs_api.enqueue_sync(user_id=user.pk, trigger=trigger))
    return True


def sync_resync(*, user) -> bool:
    return sync_now(user=user, trigger=SyncTrigger.RESYNC)


def sync_pause(*, user) -> bool:
    return bool(
        SyncState.objects.filter(user=user, enabled=True).update(
            phase=SyncPhase.PAUSED, pause_reason=PauseReason.STAFF, message=""
        )
    )


def sync_resume(*, user) -> bool:
    return bool(
        SyncState.objects.filter(user=user, enabled=True, phase=SyncPhase.PAUSED).update(
            phase=SyncPhase.ON, pause_reason=PauseReason.NONE, message="", next_poll_at=None
        )
    )


def sync_retry_failed(*, user) -> int:
    """R11: failed records go back to the queue (after the user or staff fixed them)."""
    count = OutboundChange.objects.filter(user=user, state=OutboxState.FAILED).update(
        state=OutboxState.PENDING, not_before=None, attempts=0
    )
    if count:
        sync_now(user=user, trigger=SyncTrigger.PUSH)
    return count


def _paused_by(state: SyncState) -> str:
    """Who paused the sync, from the admin's log of the "pause" action (R14), or ""."""
    from tasksync.selectors import staff_pause_entry

    entry = staff_pause_entry(state=state)
    if entry is None:
        return ""
    return f"{entry.user.get_username()} on {entry.action_time:%Y-%m-%d %H:%M} UTC"


def sync_skip_reason(*, user, trigger: str = SyncTrigger.MANUAL) -> str:
    """Why a run of ``user`` with ``trigger`` does nothing right now, in an operator's words, or
    "" when it would run (sync_user and resync print it; issue 14)."""
    from accounts.models import SalesforceOrg
    from tasksync.sync import budget

    state = SyncState.objects.filter(user=user).first()
    if state is None or not state.enabled:
        return "sync is off for this user (they turn it on on their settings page)."
    paused = state.phase == SyncPhase.PAUSED
    if paused and state.pause_reason == PauseReason.STAFF and trigger != SyncTrigger.RESYNC:
        who = _paused_by(state)
        return (
            f"sync is paused by staff{f' ({who})' if who else ''}; resume it in the admin "
            "(Sync states → Resume), or run resync, which staff may run on a paused user."
        )
    if (
        paused
        and state.pause_reason == PauseReason.RECONNECT
        and trigger
        not in (
            SyncTrigger.RESYNC,
            SyncTrigger.MANUAL,
        )
    ):
        return f"sync waits for the user to reconnect Salesforce ({state.message or 'no reason'})."
    if state.lease_until and state.lease_until > timezone.now():
        return (
            "a sync of this user is already running (its lease lasts until "
            f"{state.lease_until:%H:%M:%S} UTC); it goes round once more for this request."
        )
    org = SalesforceOrg.objects.filter(org_id=state.org_id).first() if state.org_id else None
    if trigger != SyncTrigger.RESYNC and budget.org_must_wait(org):
        return (
            f"the org has used {org.api_used} of its {org.api_max} daily API calls; nothing calls "
            "it until the budget can have recovered (resync forces one probe)."
        )
    return ""
