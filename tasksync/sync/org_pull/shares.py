"""Each rep's share of the org's changes (R18, R19), applied by the same code as a rep's own
pull, under that rep's lease, as a run of theirs; the org's one delete-log check (R6)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.salesforce.client import sf_datetime
from tasksync.models import (
    LinkState,
    OrgFeed,
    OutboundChange,
    OutboxState,
    RunOutcome,
    SyncRun,
    SyncState,
    SyncTrigger,
    TaskLink,
)
from tasksync.sync import pull as pull_mod
from tasksync.sync.context import RunContext
from tasksync.sync.lease import lease_acquire, lease_release
from tasksync.sync.outbox import request_push
from tasksync.sync.picklist import statuses_for
from tasksync.sync.pull.in_doubt import in_doubt_creates

DELETED_LOG_DAYS = 15
DELETED_CHECK_EVERY = timedelta(minutes=5)


def pull_and_hand_on(feed: OrgFeed, client, reps, done) -> set[int]:
    """One changes query for the org; each page's records handed to the reps they concern.
    Returns the reps whose lease another run held (their share waits for the next pull)."""
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
    run = _start_run(state)
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
        _finish_run(state, run, owner)
    if _has_work(state.user_id):
        transaction.on_commit(lambda: request_push(user_id=state.user_id))
    return True


def _start_run(state: SyncState) -> SyncRun:
    return SyncRun.objects.create(
        user=state.user, trigger=SyncTrigger.ORG_PULL, started_at=timezone.now()
    )


def _finish_run(state: SyncState, run: SyncRun, owner: str) -> None:
    run.finished_at = timezone.now()
    run.save()
    lease_release(user_id=state.user_id, owner=owner)


def _context(state, client, run, owner) -> RunContext:
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


def deletions(feed: OrgFeed, client, reps) -> set[int]:
    """One delete-log check per org (sObject Get Deleted), applied to each rep's own links."""
    now = client.sf_now()
    floor = now - timedelta(days=DELETED_LOG_DAYS) + timedelta(minutes=5)
    start = max(feed.deleted_watermark or floor, floor)
    if now - start < DELETED_CHECK_EVERY:
        return set()
    result = client.deleted(start, now)
    ids = [item["id"] for item in result.get("deletedRecords") or []]
    busy = _apply_deletions(feed, client, reps, ids) if ids else set()
    if not busy:
        covered = sf_datetime(result.get("latestDateCovered")) or now
        OrgFeed.objects.filter(pk=feed.pk).update(deleted_watermark=covered)
    return busy


def _apply_deletions(feed: OrgFeed, client, reps, ids) -> set[int]:
    """The deleted ids applied to each rep linked to one, under their lease; returns the reps
    whose lease another run held."""
    linked = set(
        TaskLink.objects.filter(
            org_id=feed.org_id, sf_id__in=ids, user_id__in=[s.user_id for s in reps]
        ).values_list("user_id", flat=True)
    )
    busy: set[int] = set()
    for state in reps:
        if state.user_id not in linked:
            continue
        owner = lease_acquire(user_id=state.user_id)
        if owner is None:
            busy.add(state.user_id)
            continue
        run = _start_run(state)
        try:
            pull_mod.apply_deleted_ids(_context(state, client, run, owner), ids)
            run.outcome = RunOutcome.SUCCESS
        finally:
            _finish_run(state, run, owner)
    return busy
