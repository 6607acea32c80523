"""One sync cycle of one user, and the dispatcher that decides whose poll is due (R3–R7, R13)."""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.salesforce import errors
from accounts.salesforce.client import SalesforceClient, sf_datetime, soql_id
from tasksync.models import (
    LinkState,
    PauseReason,
    RunOutcome,
    SyncPhase,
    SyncRun,
    SyncState,
    SyncTrigger,
    TaskLink,
)
from tasksync.sync import budget, decide, org_pull
from tasksync.sync import pull as pull_mod
from tasksync.sync import push as push_mod
from tasksync.sync.context import IdentityChanged, RunContext
from tasksync.sync.lease import LeaseLost, lease_acquire, lease_release
from tasksync.sync.mapping import StatusMap

logger = logging.getLogger(__name__)

DELETED_LOG_DAYS = decide.DELETED_LOG_DAYS  # R7, sObject Get Deleted: 15 days
DELETED_CHECK_EVERY = decide.DELETED_CHECK_EVERY
DISPATCH_TOLERANCE = timedelta(seconds=0.25)
MAX_ROUNDS = 3


def sync_user(*, user_id: int, trigger: str = SyncTrigger.POLL) -> SyncRun | None:
    """Run one cycle: pull, then push, while holding the user's lease. Never raises for Salesforce
    trouble: it is classified, recorded on the run and the user's state, and reacted to."""
    state = SyncState.objects.select_related("user").filter(user_id=user_id).first()
    if state is None:
        return None
    forced = trigger in (SyncTrigger.RESYNC, SyncTrigger.MANUAL)
    # Paused for a reconnect or by staff: nothing moves until that is fixed. Over the API limit:
    # the dispatcher comes back after the budget had time to recover, and a success resumes.
    # R14: a staff pause is lifted only by staff (resume, or a resync); a "Sync now" never does.
    paused = state.phase == SyncPhase.PAUSED
    held = paused and state.pause_reason != PauseReason.OVER_LIMIT
    staff_held = paused and state.pause_reason == PauseReason.STAFF
    staff_probe = trigger == SyncTrigger.RESYNC
    if not state.enabled or (held and not forced) or (staff_held and not staff_probe):
        SyncState.objects.filter(pk=state.pk).update(push_queued=False)
        return None
    owner = lease_acquire(user_id=user_id)
    if owner is None:
        # Another worker is syncing this user: it will go round once more for us.
        SyncState.objects.filter(pk=state.pk).update(rerun_requested=True, push_queued=False)
        return None
    state.refresh_from_db()
    org = _org_for(state)
    # R12/R13: at the share, or after REQUEST_LIMIT_EXCEEDED, nothing calls the org (polls,
    # pushes, a rep's "Sync now", a manual run) until the budget can have recovered; only staff
    # force a probe (a resync).
    if budget.org_must_wait(org) and not staff_probe:
        # R13: at the share and too soon for the budget to have recovered: no call at all.
        lease_release(user_id=user_id, owner=owner)
        _pause_org(state.org_id, budget.BudgetReached(org.api_used, org.api_max).args[0])
        return None
    # Saved when it first has something to hold, else at the end (RunContext.save_run).
    run = SyncRun(user=state.user, trigger=trigger, started_at=timezone.now())
    ctx = None
    try:
        connection = _connection(state)
        client = SalesforceClient(connection)
        ctx = RunContext(
            user=state.user,
            state=state,
            run=run,
            client=client,
            connection=connection,
            statuses=_statuses(state),
            lease_owner=owner,
        )
        _cycle(ctx, resync=trigger == SyncTrigger.RESYNC)
        _succeeded(ctx)
    except LeaseLost:
        run.outcome, run.error = RunOutcome.FAILED, "Another worker took over this user."
    except IdentityChanged:
        # R17: the Salesforce account changed (or sync was turned off) during the run: it stops
        # before writing anything under the new identity.
        run.outcome = RunOutcome.FAILED
        run.error = "Stopped: the Salesforce connection or the sync setting changed during the run."
    except errors.NeedsReconnect as problem:
        _pause(state, PauseReason.RECONNECT, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"Reconnect Salesforce: {problem.message}"
    except errors.OverLimit as problem:
        if ctx is not None:  # the org is at its limit, whatever the last header said
            ctx.client.api_used = max(ctx.client.api_used or 0, ctx.client.api_max or 0)
        _pause_org(state.org_id, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"Over API limit: {problem.message}"
    except budget.BudgetReached as reached:
        _pause_org(state.org_id, str(reached))
        run.outcome, run.error = RunOutcome.PARTIAL, str(reached)
    except errors.SalesforceProblem as problem:
        # Transient or unexpected: the next poll retries; nothing was lost (outbox, cursors).
        logger.warning("sync of user %s failed: %s", user_id, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"{type(problem).__name__}: {problem.message}"
        _schedule_next(state, failed=True)
    except Exception as exc:
        # A bug or a database failure: recorded on the run, then raised so the worker logs it.
        logger.exception("sync of user %s crashed", user_id)
        run.outcome, run.error = RunOutcome.FAILED, f"Internal error: {type(exc).__name__}"
        _schedule_next(state, failed=True)
        raise
    finally:
        if ctx is not None and ctx.events:
            with contextlib.suppress(LeaseLost):
                ctx.flush()
        run.finished_at = timezone.now()
        # The run's bookkeeping in one transaction: its row, the org's usage, and the user's
        # state with the lease's release (an idle poll's only writes after its lease claim).
        with transaction.atomic():
            if ctx is not None:
                run.api_calls = ctx.client.calls
                _record_usage(ctx)
            run.save()
            _release(user_id, owner, ctx)
        _rerun_if_asked(user_id)
    return run


def _release(user_id: int, owner: str, ctx: RunContext | None) -> None:
    """Release the lease, writing what the run settled on the user's state (its cursors, its
    success) in the same UPDATE, but only while the state still speaks for the run's identity
    (R17): after a switch, only the lease is released."""
    mine = SyncState.objects.filter(user_id=user_id, lease_owner=owner)
    updates = ctx.state_updates if ctx is not None else {}
    if updates and mine.filter(enabled=True, org_id=ctx.org_id, sf_user_id=ctx.sf_user_id).update(
        lease_owner="", lease_until=None, **updates
    ):
        return
    lease_release(user_id=user_id, owner=owner)


def _rerun_if_asked(user_id: int) -> None:
    """A change or a job that arrived while this run held the lease asked for another round
    (``rerun_requested``); if the run had already left its push loop, queue that round now, or
    the change would wait for the next poll. Claimed with a conditional UPDATE: queued once."""
    from tasksync.sync.jobs_api import enqueue_sync

    asked = SyncState.objects.filter(user_id=user_id, enabled=True, rerun_requested=True)
    # Read first: the lease is released, so whoever asks from now on runs the round itself.
    if asked.exists() and asked.update(rerun_requested=False, push_queued=True):
        enqueue_sync(user_id=user_id, trigger=SyncTrigger.PUSH)


def _connection(state: SyncState):
    from accounts.models import SalesforceConnection

    connection = (
        SalesforceConnection.objects.select_related("org").filter(user_id=state.user_id).first()
    )
    if connection is None or not connection.is_usable:
        raise errors.NeedsReconnect("Salesforce is not connected.")
    return connection


def _statuses(state: SyncState) -> StatusMap:
    return StatusMap(
        open=state.status_open_value or settings.SALESFORCE_STATUS_OPEN,
        complete=state.status_complete_value or settings.SALESFORCE_STATUS_COMPLETE,
    )


def _cycle(ctx: RunContext, *, resync: bool) -> None:
    state = ctx.state
    if state.phase == SyncPhase.FIRST_SYNC:
        window = ctx.sf_now() - pull_mod.FIRST_SYNC_WINDOW
        # R7: back after more than 15 days: deletions of the last 15 days still apply.
        _pull(ctx, import_window_start=window, deletions=state.last_success_at is not None)
        state.phase = SyncPhase.ON
        state.save(update_fields=["phase"])
    elif resync:
        _detect_statuses(ctx)
        resync_cycle(ctx)
    elif (feed := org_pull.feed_covering(state.org_id)) is not None:
        # R19: the org's feed pulls for every rep; this run only reads what it will write.
        org_pull.read_before_push(ctx, feed)
    else:
        _pull(ctx)
    for round_no in range(MAX_ROUNDS):
        if round_no or state.rerun_requested or state.push_queued:
            SyncState.objects.filter(pk=state.pk).update(rerun_requested=False, push_queued=False)
        push_mod.push(ctx)
        if not SyncState.objects.filter(pk=state.pk, rerun_requested=True).exists():
            break


def resync_cycle(ctx: RunContext) -> None:
    """R14: re-read the last 15 days and re-push linked tasks that differ; never duplicates."""
    from tasksync.sync.resync import resync

    resync(ctx)


def _pull(ctx: RunContext, *, import_window_start=None, deletions: bool | None = None) -> None:
    """The cycle's pull and what rides in its first call (one call for an idle poll): the
    delete log when it is due (R6, R7), the org's TaskStatus picklist when the org's copy is
    a day old or was thrown away after a rejected status (R1)."""
    state, client = ctx.state, ctx.client
    importing = import_window_start is not None
    window = None
    if deletions or (deletions is None and not importing):
        window = decide.deleted_log_window(state.deleted_watermark, ctx.sf_now(), force=importing)
    extras, heavy = [], 0
    if window is not None:
        extras.append(client.deleted_subrequest(*window))
    org = ctx.connection.org
    if decide.picklist_due(org.task_statuses_at, timezone.now(), have_rows=bool(org.task_statuses)):
        extras.append(client.task_statuses_subrequest())
        heavy = 1
    else:
        _use_statuses(ctx, org.task_statuses)

    def on_first(answers):
        if "statuses" in answers:
            _statuses_answered(ctx, answers["statuses"])

    answers = pull_mod.pull(
        ctx,
        import_window_start=import_window_start,
        extras=tuple(extras),
        heavy_extras=heavy,
        on_first=on_first,
    )
    if window is not None:
        _pull_deletions(ctx, window=window, answer=answers.get("deleted"))
    elif importing and state.deleted_watermark is None:
        # Nothing was linked before this import: no deletion before it concerns us. The delete
        # log is first read five minutes on, from where this read began.
        state.deleted_watermark = state.watermark
        ctx.state_updates["deleted_watermark"] = state.deleted_watermark


def _statuses_answered(ctx: RunContext, result: dict) -> None:
    """The picklist subrequest's answer: kept for the org (R1), and this user's values picked.
    A refusal (no access to TaskStatus) keeps the values in use; the next cycle asks again."""
    if result.get("httpStatusCode") != 200:
        logger.info("TaskStatus picklist refused: %s", result.get("httpStatusCode"))
        return
    rows = [
        {k: r.get(k) for k in ("ApiName", "MasterLabel", "IsClosed", "IsDefault", "SortOrder")}
        for r in (result.get("body") or {}).get("records") or []
    ]
    org = ctx.connection.org
    org.task_statuses, org.task_statuses_at = rows, timezone.now()
    type(org).objects.filter(pk=org.pk).update(
        task_statuses=rows, task_statuses_at=org.task_statuses_at
    )
    _use_statuses(ctx, rows)


def _use_statuses(ctx: RunContext, rows) -> None:
    """R1 (beyond): this user's open default and closed value, from the org's picklist."""
    state = ctx.state
    configured = StatusMap(settings.SALESFORCE_STATUS_OPEN, settings.SALESFORCE_STATUS_COMPLETE)
    picked = decide.pick_statuses(rows or [], configured)
    if not rows or (state.status_open_value, state.status_complete_value) == (
        picked.open,
        picked.complete,
    ):
        return
    state.status_open_value, state.status_complete_value = picked.open, picked.complete
    state.save(update_fields=["status_open_value", "status_complete_value"])
    ctx.statuses = _statuses(state)


def _detect_statuses(ctx: RunContext) -> None:
    """R1 (beyond): the org's TaskStatus picklist (kept for a day per org) gives the open
    default and the closed value. Used by a resync; other cycles read it in their pull."""
    org = ctx.connection.org
    if not decide.picklist_due(
        org.task_statuses_at, timezone.now(), have_rows=bool(org.task_statuses)
    ):
        _use_statuses(ctx, org.task_statuses)
        return
    try:
        rows = ctx.client.task_statuses()
    except errors.RecordRejected:
        return
    _statuses_answered(ctx, {"httpStatusCode": 200, "body": {"records": rows}})


def _pull_deletions(
    ctx: RunContext, *, force: bool = False, window=None, answer: dict | None = None
) -> None:
    """Deletions queryAll can no longer see (recycle bin emptied), from sobjects/Task/deleted/:
    ``answer`` is its result as a subrequest of the pull's first call, else it is read here."""
    state = ctx.state
    if window is None:
        window = decide.deleted_log_window(state.deleted_watermark, ctx.sf_now(), force=force)
        if window is None:
            return
    start, now = window  # R16: on Salesforce's clock
    try:
        if answer is None:
            result = ctx.client.deleted(start, now)
        elif answer.get("httpStatusCode") == 200:
            result = answer.get("body") or {}
        else:
            raise ctx.client.subrequest_problem(answer)
    except errors.RecordRejected as problem:
        logger.info("deleted/ refused (%s): reconciling ids instead", problem.code)
        reconcile_ids(ctx)
        state.deleted_watermark = now - timedelta(minutes=1)
        ctx.state_updates["deleted_watermark"] = state.deleted_watermark
        return
    ids = [item["id"] for item in result.get("deletedRecords") or []]
    pull_mod.apply_deleted_ids(ctx, ids)
    earliest = sf_datetime(result.get("earliestDateAvailable"))
    if earliest and earliest > start:
        # The delete log was purged past our start: some deletions may be missing. Reconcile.
        reconcile_ids(ctx)
    covered = sf_datetime(result.get("latestDateCovered"))
    state.deleted_watermark = covered or now
    ctx.state_updates["deleted_watermark"] = state.deleted_watermark


def reconcile_ids(ctx: RunContext) -> None:
    """Ask Salesforce which linked ids still exist (queryAll sees deleted and archived ones);
    an id it no longer knows was deleted for good."""
    live_ids = list(
        TaskLink.objects.filter(
            user=ctx.user, org_id=ctx.org_id, state__in=[LinkState.SYNCED, LinkState.FAILED]
        )
        .exclude(sf_id__isnull=True)
        .values_list("sf_id", flat=True)
    )
    gone = []
    for start in range(0, len(live_ids), 200):
        chunk = live_ids[start : start + 200]
        soql = "SELECT Id, IsDeleted FROM Task WHERE Id IN ({})".format(
            ", ".join(soql_id(i) for i in chunk)
        )
        seen = set()
        for page in ctx.client.iter_pages(soql, include_deleted=True):
            for record in page.get("records") or []:
                if not record.get("IsDeleted"):
                    seen.add(record["Id"])
        gone += [i for i in chunk if i not in seen]
    pull_mod.apply_deleted_ids(ctx, gone)


def _succeeded(ctx: RunContext) -> None:
    run, state = ctx.run, ctx.state
    run.outcome = RunOutcome.PARTIAL if run.failed else RunOutcome.SUCCESS
    state.last_success_at = timezone.now()
    state.phase = SyncPhase.ON
    state.pause_reason = PauseReason.NONE
    state.message = ""
    # Written with the lease's release (_release). Counted from the run's start, like the
    # dispatcher's own claim, so the poll keeps its beat.
    ctx.state_updates.update(
        last_success_at=state.last_success_at,
        phase=state.phase,
        pause_reason=state.pause_reason,
        message="",
        next_poll_at=run.started_at + poll_interval(state),
    )


def _schedule_next(state: SyncState, *, failed: bool = False, since=None) -> None:
    interval = poll_interval(state)
    if failed:
        interval = max(interval, timedelta(minutes=2))
    SyncState.objects.filter(pk=state.pk).update(next_poll_at=(since or timezone.now()) + interval)


def poll_interval(state: SyncState) -> timedelta:
    """R5 poll interval, stretched as the org nears its API budget share (R13); while the org's
    change stream is healthy, only a safety net (R19)."""
    from tasksync.sync.stream import stream_is_healthy

    base = timedelta(seconds=settings.SYNC_POLL_SECONDS)
    if stream_is_healthy(state.org_id):
        base = max(base, timedelta(seconds=settings.SYNC_STREAM_SAFETY_POLL_SECONDS))
    org = _org_for(state)
    return budget.stretch(base, org.api_used, org.api_max) if org else base


def _org_for(state: SyncState):
    from accounts.models import SalesforceOrg

    if not state.org_id:
        return None
    return SalesforceOrg.objects.filter(org_id=state.org_id).first()


def _record_usage(ctx: RunContext) -> None:
    """R13: keep the org's Sforce-Limit-Info usage, org-wide, as Salesforce last reported it."""
    client = ctx.client
    if client.api_max:
        type(ctx.connection.org).objects.filter(pk=ctx.connection.org_id).update(
            api_used=client.api_used, api_max=client.api_max, api_usage_at=timezone.now()
        )


def _pause(state: SyncState, reason: str, message: str) -> None:
    SyncState.objects.filter(pk=state.pk).update(
        phase=SyncPhase.PAUSED, pause_reason=reason, message=message[:1000]
    )


def _pause_org(org_id: str, message: str) -> None:
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


def poll_due_filters(*, now):
    """(due by ``now``, never polled): the users the dispatcher queues. Paused for a reconnect or
    by staff: not polled; over the API limit: polled when the pause's next poll comes (R12)."""
    from django.db.models import Q

    held = Q(phase=SyncPhase.PAUSED, pause_reason__in=[PauseReason.RECONNECT, PauseReason.STAFF])
    due = Q(phase__in=[SyncPhase.ON, SyncPhase.PAUSED], next_poll_at__lte=now) & ~held
    never_polled = Q(phase=SyncPhase.ON, next_poll_at__isnull=True)
    return due, never_polled


def dispatch_due_polls(*, now=None) -> int:
    """Queue a poll for every enabled user whose next poll is due; moves next_poll_at first, so
    running the dispatcher twice (or on two machines) queues nobody twice.

    One transaction per round: the due rows are locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL:
    a second dispatcher skips the rows this one holds instead of waiting for them, and re-checks
    any row that changed before it got there; SQLite takes its write lock at BEGIN), moved to
    their next poll in one UPDATE per 500 users, and their jobs queued before it commits. With
    django-q2's ORM broker the jobs commit with the claim, so a poll is claimed if and only if
    it is queued, and the broker does not reopen its database connection for every job (it does
    outside a transaction). A row locked by someone else at that moment (its own sync writing
    it) is left for the dispatcher's next pass.
    """
    from django.db.models import F

    from tasksync.sync.jobs_api import enqueue_sync

    now = now or timezone.now()
    # A poll due within the dispatcher's own jitter counts as due now, or a 5-second poll would
    # slip to every 10 seconds.
    now += DISPATCH_TOLERANCE
    due, never_polled = poll_due_filters(now=now)
    batch = 500
    # R19: the reps of an org whose feed carries its changes are pulled once, by the org.
    covered = org_pull.covered_org_ids()
    with transaction.atomic():
        org_pull.dispatch_due_org_pulls(now=now, org_ids=covered)
        claimed = list(
            SyncState.objects.select_for_update(skip_locked=True)
            .filter(due | never_polled, enabled=True)
            .exclude(org_id__in=covered)
            .order_by(F("next_poll_at").asc(nulls_first=True), "pk")
            .values_list("pk", "user_id")
        )
        for start in range(0, len(claimed), batch):
            SyncState.objects.filter(
                pk__in=[pk for pk, _ in claimed[start : start + batch]]
            ).update(next_poll_at=now + timedelta(seconds=settings.SYNC_POLL_SECONDS))
        for _, user_id in claimed:
            enqueue_sync(user_id=user_id, trigger=SyncTrigger.POLL)
    return len(claimed)
