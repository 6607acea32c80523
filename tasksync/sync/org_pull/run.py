"""The org's pull (R19): under the org's lease, with the integration user's token, the org's
changes read once and handed to its reps; the feed's health and the cursors after it."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from accounts.models import SalesforceConnection
from accounts.salesforce import errors
from accounts.salesforce.client import SalesforceClient
from tasksync.models import FeedHealth, OrgFeed, PauseReason, SyncPhase, SyncState
from tasksync.sync import budget
from tasksync.sync import pull as pull_mod
from tasksync.sync.cadence import pause_org
from tasksync.sync.org_pull.coverage import integration_connection
from tasksync.sync.org_pull.shares import deletions, pull_and_hand_on

logger = logging.getLogger(__name__)


def org_pull(*, org_id: str) -> dict | None:
    """Read the org's changes once and hand each rep its share. Safe to run twice: a lease per
    org keeps one pull at a time, and applying a change twice is a no-op (content comparison).
    Returns what it did, or None when it did not run."""
    feed = OrgFeed.objects.filter(org_id=org_id).first()
    connection = integration_connection(feed)
    if connection is None or budget.org_must_wait(connection.org):
        return None  # R12/R13: at the share, or after a 403, no call until the budget recovers
    owner = _lease(feed)
    if owner is None:
        return None
    client = SalesforceClient(connection)
    done = {"reps": 0, "records": 0, "busy": 0, "api_calls": 0}
    try:
        _pull(feed, client, done)
    except errors.SalesforceProblem as problem:
        _failed(feed, problem)
    finally:
        done["api_calls"] = client.calls
        budget.record_usage(connection, client)
        OrgFeed.objects.filter(pk=feed.pk, lease_owner=owner).update(
            lease_owner="", lease_until=None
        )
    return done


def _pull(feed: OrgFeed, client, done: dict) -> None:
    started = timezone.now()
    reps = _reps(feed.org_id)
    if reps:
        busy = pull_and_hand_on(feed, client, reps, done)
        busy |= deletions(feed, client, reps)
        done["busy"] = len(busy)
        if not busy:
            _advance(feed, client, reps, started)
    OrgFeed.objects.filter(pk=feed.pk).update(
        health=FeedHealth.OK, message="", last_api_calls=client.calls
    )
    # The org answered: a pause for its API limit is over (as a rep's own success lifts it).
    SyncState.objects.filter(
        org_id=feed.org_id, phase=SyncPhase.PAUSED, pause_reason=PauseReason.OVER_LIMIT
    ).update(phase=SyncPhase.ON, pause_reason=PauseReason.NONE, message="")


def _failed(feed: OrgFeed, problem: errors.SalesforceProblem) -> None:
    """The feed's health says why the org's pull failed; over the limit, the org's reps pause."""
    if isinstance(problem, errors.NeedsReconnect):
        _mark(feed, FeedHealth.RECONNECT, f"Reconnect the integration user: {problem.message}")
    elif isinstance(problem, errors.OverLimit):
        pause_org(feed.org_id, problem.message)
        _mark(feed, FeedHealth.FAILING, f"Over API limit: {problem.message}")
    elif isinstance(problem, errors.RecordRejected):
        # R19: the integration user cannot read the org's tasks (no View All Data, no API).
        _mark(feed, FeedHealth.REFUSED, f"{problem.code}: {problem.message}")
    else:
        _mark(feed, FeedHealth.FAILING, f"{type(problem).__name__}: {problem.message}")


def _lease(feed: OrgFeed) -> str | None:
    now = timezone.now()
    owner = uuid.uuid4().hex
    claimed = (
        OrgFeed.objects.filter(pk=feed.pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS),
        )
    )
    return owner if claimed else None


def _reps(org_id: str) -> list[SyncState]:
    """The org's reps whose changes the feed carries: sync on and past the first import (R4 is
    each rep's own read), not held by staff. A rep whose token needs reconnecting still gets
    Salesforce's changes; only their pushes wait (R19). Reps paused for the org's API limit are
    included: this pull is the org's probe once the budget can have recovered."""
    states = list(
        SyncState.objects.select_related("user")
        .filter(org_id=org_id, enabled=True, phase__in=[SyncPhase.ON, SyncPhase.PAUSED])
        .exclude(phase=SyncPhase.PAUSED, pause_reason=PauseReason.STAFF)
        .order_by("pk")
    )
    connections = {
        c.user_id: c
        for c in SalesforceConnection.objects.select_related("org").filter(
            user_id__in=[s.user_id for s in states], org__org_id=org_id
        )
    }
    out = []
    for state in states:
        connection = connections.get(state.user_id)
        if connection is not None and connection.sf_user_id == state.sf_user_id:
            state.connection = connection
            out.append(state)
    return out


def _advance(feed: OrgFeed, client, reps, started) -> None:
    """Every rep's share is applied: the org's cursor, and each covered rep's, move on."""
    cursor = (getattr(feed, "read_at", None) or client.sf_now()) - pull_mod.OVERLAP
    now = timezone.now()
    OrgFeed.objects.filter(pk=feed.pk).update(
        watermark=cursor, last_pull_started_at=started, last_success_at=now
    )
    SyncState.objects.filter(pk__in=[s.pk for s in reps]).filter(
        Q(watermark__isnull=True) | Q(watermark__lt=cursor)
    ).update(watermark=cursor, last_success_at=now)


def _mark(feed: OrgFeed, health: str, message: str) -> None:
    logger.warning("org pull of %s: %s", feed.org_id, message)
    OrgFeed.objects.filter(pk=feed.pk).update(health=health, message=message[:1000])
    # The feed is not carrying the org's changes: each rep's own poll is due now.
    SyncState.objects.filter(org_id=feed.org_id, enabled=True).update(next_poll_at=timezone.now())
