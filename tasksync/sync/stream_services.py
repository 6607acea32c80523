"""R19: the change stream's state and the services around it: health (read by the poll
scheduler), the lease per org, the polls brought back when a stream goes down, and the targeted
pulls an event asks for. The subscriber itself is tasksync/sync/stream.py."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from tasksync.models import StreamHealth, StreamState, SyncState, SyncTrigger, TaskLink
from tasksync.sync import jobs_api, stream_hints

logger = logging.getLogger(__name__)


# -- health, read by the poll scheduler ---------------------------------------------------------
def stream_is_healthy(org_id: str) -> bool:
    """True while a subscriber holds the org's stream, says it is healthy and keeps beating."""
    if not org_id:
        return False
    now = timezone.now()
    fresh = now - timedelta(seconds=settings.SYNC_STREAM_LEASE_SECONDS)
    return StreamState.objects.filter(
        org_id=org_id,
        health=StreamHealth.HEALTHY,
        lease_until__gt=now,
        heartbeat_at__gt=fresh,
    ).exists()


# -- the lease per org --------------------------------------------------------------------------
def stream_lease_acquire(*, org_id: str, owner: str) -> bool:
    StreamState.objects.get_or_create(org_id=org_id)
    now = timezone.now()
    until = now + timedelta(seconds=settings.SYNC_STREAM_LEASE_SECONDS)
    return bool(
        StreamState.objects.filter(org_id=org_id)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(lease_owner=owner, lease_until=until, heartbeat_at=now)
    )


def stream_lease_renew(*, org_id: str, owner: str) -> bool:
    """The heartbeat: False means another subscriber took the org over (our lease lapsed)."""
    now = timezone.now()
    until = now + timedelta(seconds=settings.SYNC_STREAM_LEASE_SECONDS)
    return bool(
        StreamState.objects.filter(org_id=org_id, lease_owner=owner).update(
            lease_until=until, heartbeat_at=now
        )
    )


def stream_lease_release(*, org_id: str, owner: str) -> None:
    StreamState.objects.filter(org_id=org_id, lease_owner=owner).update(
        lease_owner="", lease_until=None, health=StreamHealth.STOPPED, health_changed_at=None
    )


def stream_mark(org_id: str, owner: str, health: str, message: str = "") -> None:
    rows = StreamState.objects.filter(org_id=org_id, lease_owner=owner)
    was_healthy = rows.filter(health=StreamHealth.HEALTHY).exists()
    rows.exclude(health=health).update(health=health, health_changed_at=timezone.now())
    rows.update(message=message[:1000])
    if was_healthy and health != StreamHealth.HEALTHY:
        # Only on the way down: a stream that stays broken must not force polls faster than
        # their own (budget-stretched, R13) interval.
        polls_resume(org_id=org_id)


def polls_resume(*, org_id: str) -> int:
    """The stream is not carrying the org's changes: its users' next polls are due now, not at
    the end of a safety-net interval (events may have been missed meanwhile)."""
    return SyncState.objects.filter(
        org_id=org_id, enabled=True, next_poll_at__gt=timezone.now()
    ).update(next_poll_at=timezone.now())


# -- handing events on --------------------------------------------------------------------------
def stream_catch_up(*, org_id: str, why: str) -> None:
    """Every syncing user of the org is pulled once: the events before now are not known."""
    sf_users = set(
        SyncState.objects.filter(org_id=org_id, enabled=True).values_list("sf_user_id", flat=True)
    )
    logger.info("stream %s: catch-up pull of %d users (%s)", org_id, len(sf_users), why)
    queued = queue_owner_pulls(org_id=org_id, sf_user_ids=sf_users)
    StreamState.objects.filter(org_id=org_id).update(pulls_queued=plus("pulls_queued", len(queued)))


def stream_event_handed_on(*, org_id: str, owner: str, replay_id: bytes) -> None:
    """An event was handed on: its replay id is where a restarted subscriber resumes."""
    StreamState.objects.filter(org_id=org_id, lease_owner=owner).update(
        replay_id=replay_id.hex(),
        last_event_at=timezone.now(),
        events_received=plus("events_received", 1),
    )


def stream_batch_counted(*, org_id: str, echoes: int, pulls: int) -> None:
    """One batch's echoes skipped and pulls queued, added to the org's counters."""
    if echoes or pulls:
        StreamState.objects.filter(org_id=org_id).update(
            echoes_skipped=plus("echoes_skipped", echoes),
            pulls_queued=plus("pulls_queued", pulls),
        )


def queue_owner_pulls(*, org_id: str, sf_user_ids: set[str]) -> list[int]:
    """Queue a targeted pull of these Salesforce users of the org: the users of tasksync whose
    connection is that org and Salesforce user, with sync on. One call per event batch.

    This is where the org pull (R19, one pull per org with an integration user) plugs in: with
    it, this queues one org pull restricted to these owners instead of one run per user.
    """
    from accounts.models import SalesforceConnection
    from tasksync.sync.org_pull import feed_covering

    if not sf_user_ids:
        return []
    if feed_covering(org_id) is not None:
        # R19: the org's feed pulls for every rep at once: one pull, whatever the owners.
        from tasksync.sync.jobs_api import enqueue_org_pull

        enqueue_org_pull(org_id=org_id)
        return []
    user_ids = list(
        SalesforceConnection.objects.filter(
            org__org_id=org_id,
            sf_user_id__in=sorted(sf_user_ids),
            user__sync_state__enabled=True,
        ).values_list("user_id", flat=True)
    )
    for user_id in user_ids:
        jobs_api.enqueue_sync(user_id=user_id, trigger=SyncTrigger.STREAM)
    return user_ids


def known_links(org_id: str, record_ids) -> list[stream_hints.KnownLink]:
    rows = TaskLink.objects.filter(org_id=org_id, sf_id__in=list(record_ids)).values(
        "user_id", "sf_user_id", "state", "synced_remote"
    )
    return [stream_hints.KnownLink(**row) for row in rows]


def stream_connection(org_id: str):
    """The Salesforce connection the stream subscribes with: the org's integration user when it
    is connected and may subscribe (R19), else a connected user of the org with sync on."""
    from accounts.models import ConnectionState, SalesforceConnection
    from tasksync.models import OrgFeed
    from tasksync.sync.org_pull import integration_connection

    feed = OrgFeed.objects.filter(org_id=org_id, can_subscribe=True).first()
    integration = integration_connection(feed)
    if integration is not None:
        return integration
    return (
        SalesforceConnection.objects.select_related("org")
        .filter(org__org_id=org_id, state=ConnectionState.CONNECTED, user__sync_state__enabled=True)
        .exclude(access_token=None)
        .order_by("pk")
        .first()
    )


def streamable_orgs() -> list[str]:
    return sorted(
        set(
            SyncState.objects.filter(enabled=True)
            .exclude(org_id="")
            .values_list("org_id", flat=True)
        )
    )


def plus(field: str, n: int):
    return F(field) + n
