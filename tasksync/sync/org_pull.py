"""R19: one pull per org and interval, with the integration user's token, for every syncing rep.

The org's changes are read once (the same changes query as a rep's own pull: every task changed
since the cursor, whoever owns it, so reassignments reach the reps they leave, R18), and each
rep's share is applied by the same code as a rep's own pull (``pull.apply_page``: decide, then
apply under locks), under that rep's lease, as a run of theirs. Writes are never made here: they
stay under each rep's own token, in the rep's push runs (which read the records they are about
to write first, R8). One delete-log check per org.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.salesforce import errors
from accounts.salesforce.client import SalesforceClient, sf_datetime, soql_id
from tasksync.models import (
    FeedHealth,
    LinkState,
    OrgFeed,
    OutboundChange,
    OutboxOperation,
    OutboxState,
    PauseReason,
    RunOutcome,
    SyncPhase,
    SyncRun,
    SyncState,
    SyncTrigger,
    TaskLink,
)
from tasksync.sync import pull as pull_mod
from tasksync.sync.context import RunContext
from tasksync.sync.lease import lease_acquire, lease_release
from tasksync.sync.pull.in_doubt import in_doubt_creates
from tasksync.sync.pull.query import task_fields

logger = logging.getLogger(__name__)

DELETED_LOG_DAYS = 15
DELETED_CHECK_EVERY = timedelta(minutes=5)
OWNER_CHUNK = 500


# --- is an org covered? -----------------------------------------------------------------------


def integration_connection(feed: OrgFeed | None):
    """The integration user's connection, when it is usable for this org."""
    if feed is None or not feed.enabled or feed.integration_user_id is None:
        return None
    from accounts.models import SalesforceConnection

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


# --- the dispatcher's part --------------------------------------------------------------------


def dispatch_due_org_pulls(*, now=None, org_ids=None) -> int:
    """Queue each covered org's pull when it falls due; moved first with a conditional UPDATE,
    so two dispatchers never queue one org twice (queued inside the caller's transaction, like
    the reps' polls)."""
    from tasksync.sync.jobs_api import enqueue_org_pull

    now = now or timezone.now()
    queued = 0
    for org_id in covered_org_ids() if org_ids is None else org_ids:
        claimed = (
            OrgFeed.objects.filter(org_id=org_id)
            .filter(Q(next_pull_at__isnull=True) | Q(next_pull_at__lte=now))
            .update(next_pull_at=now + timedelta(seconds=settings.SYNC_POLL_SECONDS))
        )
        if claimed:
            enqueue_org_pull(org_id=org_id)
            queued += 1
    return queued


# --- the pull ---------------------------------------------------------------------------------


def org_pull(*, org_id: str) -> dict | None:
    """Read the org's changes once and hand each rep its share. Safe to run twice: a lease per
    org keeps one pull at a time, and applying a change twice is a no-op (content comparison).
    Returns what it did, or None when it did not run."""
    from tasksync.sync import budget

    feed = OrgFeed.objects.filter(org_id=org_id).first()
    connection = integration_connection(feed)
    if connection is None or budget.org_must_wait(connection.org):
        return None  # R12/R13: at the share, or after a 403, no call until the budget recovers
    owner = _lease(feed)
    if owner is None:
        return None
    client = SalesforceClient(connection)
    started = timezone.now()
    done = {"reps": 0, "records": 0, "busy": 0, "api_calls": 0}
    try:
        reps = _reps(org_id)
        if reps:
            busy = _pull_and_hand_on(feed, client, reps, done)
            busy |= _deletions(feed, client, reps)
            done["busy"] = len(busy)
            if not busy:
                _advance(feed, client, reps, started)
        OrgFeed.objects.filter(pk=feed.pk).update(
            health=FeedHealth.OK, message="", last_api_calls=client.calls
        )
        # The org answered: a pause for its API limit is over (as a rep's own success lifts it).
        SyncState.objects.filter(
            org_id=org_id, phase=SyncPhase.PAUSED, pause_reason=PauseReason.OVER_LIMIT
        ).update(phase=SyncPhase.ON, pause_reason=PauseReason.NONE, message="")
    except errors.NeedsReconnect as problem:
        _mark(feed, FeedHealth.RECONNECT, f"Reconnect the integration user: {problem.message}")
    except errors.OverLimit as problem:
        from tasksync.sync.cadence import pause_org

        pause_org(org_id, problem.message)
        _mark(feed, FeedHealth.FAILING, f"Over API limit: {problem.message}")
    except errors.RecordRejected as problem:
        # R19: the integration user cannot read the org's tasks (no View All Data, no API).
        _mark(feed, FeedHealth.REFUSED, f"{problem.code}: {problem.message}")
    except errors.SalesforceProblem as problem:
        _mark(feed, FeedHealth.FAILING, f"{type(problem).__name__}: {problem.message}")
    finally:
        done["api_calls"] = client.calls
        _record_usage(connection, client)
        OrgFeed.objects.filter(pk=feed.pk, lease_owner=owner).update(
            lease_owner="", lease_until=None
        )
    return done


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
    from accounts.models import SalesforceConnection

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


def _pull_and_hand_on(feed: OrgFeed, client, reps, done) -> set[int]:
    since = min(
        [s.watermark for s in reps if s.watermark is not None]
        + ([feed.watermark] if feed.watermark else []),
        default=None,
    ) or (client.sf_now() - pull_mod.FIRST_SYNC_WINDOW)
    soql = pull_mod.changes_query(None, since)
    by_sf_user = {s.sf_user_id: s for s in reps}
    busy: set[int] = set()
    feed.read_at = None
    for page in client.iter_pages(soql, include_deleted=True):
        feed.read_at = feed.read_at or client.server_time() or client.sf_now()
        records = page.get("records") or []
        done["records"] += len(records)
        for state, share in _shares(records, by_sf_user, feed.org_id).items():
            if not _apply_share(state, client, share):
                busy.add(state.user_id)
            done["reps"] += 1
    return busy


def _shares(records, by_sf_user, org_id) -> dict:
    """Each rep's records: those they own, created, or hold a link to (R18: only theirs)."""
    holders: dict[str, set[int]] = {}
    for sf_id, user_id in TaskLink.objects.filter(
        org_id=org_id,
        sf_id__in=[r["Id"] for r in records],
        user_id__in=[s.user_id for s in by_sf_user.values()],
    ).values_list("sf_id", "user_id"):
        holders.setdefault(sf_id, set()).add(user_id)
    by_user = {s.user_id: s for s in by_sf_user.values()}
    shares: dict = {}
    for record in records:
        users = set(holders.get(record["Id"], ()))
        for key in ("OwnerId", "CreatedById"):
            state = by_sf_user.get(record.get(key))
            if state is not None:
                users.add(state.user_id)
        for user_id in users:
            shares.setdefault(by_user[user_id], []).append(record)
    return shares


def _apply_share(state: SyncState, client, records) -> bool:
    """Apply one rep's records as a run of theirs, under their lease. False when another run of
    theirs holds the lease (the org's cursor then stays, and the next pull reads them again)."""
    owner = lease_acquire(user_id=state.user_id)
    if owner is None:
        return False
    run = SyncRun.objects.create(
        user=state.user, trigger=SyncTrigger.ORG_PULL, started_at=timezone.now()
    )
    ctx = _context(state, client, run, owner)
    try:
        with transaction.atomic():
            ctx.guard()
            pull_mod.apply_page(ctx, records, in_doubt_creates(ctx))
            ctx.flush()
        run.outcome = RunOutcome.PARTIAL if run.failed else RunOutcome.SUCCESS
    except Exception as exc:
        run.outcome, run.error = RunOutcome.FAILED, f"{type(exc).__name__}: {exc}"[:1000]
        raise
    finally:
        run.finished_at = timezone.now()
        run.save()
        lease_release(user_id=state.user_id, owner=owner)
    if _has_work(state.user_id):
        from tasksync.sync.outbox import request_push

        transaction.on_commit(lambda: request_push(user_id=state.user_id))
    return True


def _context(state, client, run, owner) -> RunContext:
    from tasksync.sync.picklist import statuses_for

    return RunContext(
        user=state.user,
        state=state,
        run=run,
        client=client,  # only its clock is used here: the apply makes no call
        connection=state.connection,
        statuses=statuses_for(state),
        lease_owner=owner,
    )


def _has_work(user_id: int) -> bool:
    return (
        OutboundChange.objects.filter(user_id=user_id, state=OutboxState.PENDING).exists()
        or TaskLink.objects.filter(user_id=user_id, state=LinkState.CREATING).exists()
    )


def _deletions(feed: OrgFeed, client, reps) -> set[int]:
    """One delete-log check per org (sObject Get Deleted), applied to each rep's own links."""
    now = client.sf_now()
    floor = now - timedelta(days=DELETED_LOG_DAYS) + timedelta(minutes=5)
    start = max(feed.deleted_watermark or floor, floor)
    if now - start < DELETED_CHECK_EVERY:
        return set()
    result = client.deleted(start, now)
    ids = [item["id"] for item in result.get("deletedRecords") or []]
    busy: set[int] = set()
    if ids:
        linked = set(
            TaskLink.objects.filter(
                org_id=feed.org_id, sf_id__in=ids, user_id__in=[s.user_id for s in reps]
            ).values_list("user_id", flat=True)
        )
        for state in reps:
            if state.user_id not in linked:
                continue
            owner = lease_acquire(user_id=state.user_id)
            if owner is None:
                busy.add(state.user_id)
                continue
            run = SyncRun.objects.create(
                user=state.user, trigger=SyncTrigger.ORG_PULL, started_at=timezone.now()
            )
            try:
                pull_mod.apply_deleted_ids(_context(state, client, run, owner), ids)
                run.outcome = RunOutcome.SUCCESS
            finally:
                run.finished_at = timezone.now()
                run.save()
                lease_release(user_id=state.user_id, owner=owner)
    if not busy:
        covered = sf_datetime(result.get("latestDateCovered")) or now
        OrgFeed.objects.filter(pk=feed.pk).update(deleted_watermark=covered)
    return busy


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


def _record_usage(connection, client) -> None:
    """R13: the org's usage, as the integration user's responses report it."""
    if client.api_max:
        type(connection.org).objects.filter(pk=connection.org_id).update(
            api_used=client.api_used, api_max=client.api_max, api_usage_at=timezone.now()
        )


# --- a covered rep's push run ---------------------------------------------------------------


def read_before_push(ctx: RunContext, feed: OrgFeed) -> None:
    """A rep covered by the feed pulls nothing on its own; before pushing, its run reads the
    records it is about to write, by id (R8: a Salesforce edit made since the feed's last pull
    is seen, and decided, before the push could overwrite it). One query per 200 ids; none when
    nothing is queued. In-doubt creates are matched by the feed's pulls (R10)."""
    ids = list(
        TaskLink.objects.filter(
            user=ctx.user,
            org_id=ctx.org_id,
            sf_id__isnull=False,
            task__outbound__state=OutboxState.PENDING,
            task__outbound__operation__in=[OutboxOperation.UPDATE, OutboxOperation.DELETE],
        )
        .exclude(state__in=[LinkState.RETIRED, LinkState.REASSIGNED])
        .values_list("sf_id", flat=True)
    )
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        soql = (
            f"SELECT {task_fields()} FROM Task WHERE Id IN ({', '.join(soql_id(i) for i in chunk)})"
        )
        for page in ctx.client.iter_pages(soql, include_deleted=True):
            with transaction.atomic():
                ctx.guard()
                pull_mod.apply_page(ctx, page.get("records") or [], in_doubt=[])
                ctx.flush()
    ctx.in_doubt_checked = feed.last_pull_started_at is not None
    ctx.in_doubt_checked_at = feed.last_pull_started_at
