"""Is an org covered by its feed (R19), and the dispatcher's part: each covered org's pull
queued when it falls due."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import SalesforceConnection
from tasksync.models import FeedHealth, OrgFeed
from tasksync.sync import jobs_api


def integration_connection(feed: OrgFeed | None):
    """The integration user's connection, when it is usable for this org."""
    if feed is None or not feed.enabled or feed.integration_user_id is None:
        return None
    connection = (
        SalesforceConnection.objects.select_related("org", "user")
        .filter(user_id=feed.integration_user_id, org__org_id=feed.org_id)
        .first()
    )
    return connection if connection is not None and connection.is_usable else None


def feed_covering(org_id: str) -> OrgFeed | None:
    """The org's feed when it is carrying the org's changes: its integration user is connected
    and may read every rep's tasks, and its pulls succeed. Otherwise each rep polls on its own."""
    if not org_id:
        return None
    feed = OrgFeed.objects.filter(org_id=org_id, enabled=True, can_read_all=True).first()
    if feed is None or feed.health not in (FeedHealth.OK, FeedHealth.WAITING):
        return None
    return feed if integration_connection(feed) is not None else None


def covered_org_ids() -> list[str]:
    return [f.org_id for f in OrgFeed.objects.filter(enabled=True) if feed_covering(f.org_id)]


def dispatch_due_org_pulls(*, now=None, org_ids=None) -> int:
    """Queue each covered org's pull when it falls due; moved first with a conditional UPDATE,
    so two dispatchers never queue one org twice (queued inside the caller's transaction, like
    the reps' polls)."""
    now = now or timezone.now()
    queued = 0
    for org_id in covered_org_ids() if org_ids is None else org_ids:
        claimed = (
            OrgFeed.objects.filter(org_id=org_id)
            .filter(Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now))
            .update(next_pull_at=now + timedelta(seconds=settings.SYNC_POLL_SECONDS))
        )
        if claimed:
            jobs_api.enqueue_org_pull(org_id=org_id)  # looked up at the call, like enqueue_sync
            queued += 1
    return queued
