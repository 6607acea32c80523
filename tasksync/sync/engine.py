"""One sync cycle of one user (R3–R7, R13): its lease, budget and identity, the pull and the
pushes, and the run's bookkeeping. Beside it in ``tasksync.sync``: ``dispatch`` (whose poll is
due), ``cadence`` (when the next comes, pauses), ``picklist`` (the org's Status values) and
``deletions`` (the delete log)."""

from __future__ import annotations

import contextlib
import functools
import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.salesforce import errors
from accounts.salesforce.client import SalesforceClient
from tasksync.models import PauseReason, RunOutcome, SyncPhase, SyncRun, SyncState, SyncTrigger
from tasksync.sync import budget, decide, org_pull, picklist, rounds
from tasksync.sync import deletions as deletions_mod
from tasksync.sync import pull as pull_mod
from tasksync.sync import push as push_mod
from tasksync.sync.cadence import org_for, pause_org, pause_user, poll_interval, schedule_next
from tasksync.sync.context import IdentityChanged, RunContext
from tasksync.sync.first_read import read_state
from tasksync.sync.lease import LeaseLost, lease_acquire, lease_release

logger = logging.getLogger(__name__)


def sync_user(*, user_id: int, trigger: str = SyncTrigger.POLL) -> SyncRun | None:
    """Run one cycle: pull, then push, while holding the user's lease. Never raises for Salesforce
    trouble: it is classified, recorded on the run and the user's state, and reacted to."""
    # Claimed only when the state may run (``_held``'s rule as a filter), so a run's first
    # statement is its claim; the state, user, connection and org are then read in one query,
    # with what the run may skip (first_read).
    owner = lease_acquire(user_id=user_id, only=_runnable(trigger))
    if owner is None:
        state = SyncState.objects.filter(user_id=user_id).first()
        if state is None or _held(state, trigger):
            return None
        # Another worker is syncing this user: it will go round once more for us.
        SyncState.objects.filter(pk=state.pk).update(rerun_requested=True, push_queued=False)
        return None
    state, may_have = read_state(user_id)
    connection = _stored_connection(state)
    if _waits_for_budget(state, owner, trigger, _org_of(state, connection)):
        return None
    # Saved when it first has something to hold, else at the end (RunContext.save_run).
    run = SyncRun(user=state.user, trigger=trigger, started_at=timezone.now())
    ctx = None
    try:
        ctx = _context(state, run, owner, connection, may_have)
        _cycle(ctx, resync=trigger == SyncTrigger.RESYNC)
        _succeeded(ctx)
    except Exception as problem:
        if not _failed(problem, state=state, run=run, ctx=ctx):
            raise
    finally:
        _finish(run, ctx, user_id=user_id, owner=owner)
    return run


def _held(state: SyncState, trigger: str) -> bool:
    """True (and the queued push forgotten) when this run must not start: sync is off, or paused
    for a reconnect or by staff. Over the API limit the dispatcher comes back after the budget
    had time to recover, and a success resumes. R14: a staff pause is lifted only by staff
    (resume, or a resync); a "Sync now" never does."""
    forced = trigger in (SyncTrigger.RESYNC, SyncTrigger.MANUAL)
    paused = state.phase == SyncPhase.PAUSED
    held = paused and state.pause_reason != PauseReason.OVER_LIMIT
    staff_held = paused and state.pause_reason == PauseReason.STAFF
    staff_probe = trigger == SyncTrigger.RESYNC
    if not state.enabled or (held and not forced) or (staff_held and not staff_probe):
        SyncState.objects.filter(pk=state.pk).update(push_queued=False)
        return True
    return False


def _runnable(trigger: str) -> Q:
    """``_held``'s rule as a filter: the states a run of ``trigger`` may claim."""
    runnable = Q(enabled=True)
    if trigger not in (SyncTrigger.RESYNC, SyncTrigger.MANUAL):
        runnable &= ~Q(phase=SyncPhase.PAUSED) | Q(pause_reason=PauseReason.OVER_LIMIT)
    if trigger != SyncTrigger.RESYNC:
        runnable &= ~Q(phase=SyncPhase.PAUSED, pause_reason=PauseReason.STAFF)
    return runnable


def _waits_for_budget(state: SyncState, owner: str, trigger: str, org) -> bool:
    """R12/R13: at the share, or after REQUEST_LIMIT_EXCEEDED, nothing calls the org (polls,
    pushes, a rep's "Sync now", a manual run) until the budget can have recovered; only staff
    force a probe (a resync). True (the lease released, the org paused) when this run waits."""
    if not budget.org_must_wait(org) or trigger == SyncTrigger.RESYNC:
        return False
    lease_release(user_id=state.user_id, owner=owner)
    pause_org(state.org_id, budget.BudgetReached(org.api_used, org.api_max).args[0])
    return True


def _context(state: SyncState, run: SyncRun, owner: str, connection, may_have) -> RunContext:
    connection = _usable(connection)
    return RunContext(
        may_have=may_have,
        user=state.user,
        state=state,
        run=run,
        client=SalesforceClient(connection),
        connection=connection,
        statuses=picklist.statuses_for(state),
        lease_owner=owner,
    )


def _failed(problem: Exception, *, state: SyncState, run: SyncRun, ctx: RunContext | None) -> bool:
    """Record why the run stopped, on the run and the user's state, and react to the class of the
    trouble. False for a bug or a database failure: recorded, then raised so the worker logs it."""
    if isinstance(problem, LeaseLost):
        run.outcome, run.error = RunOutcome.FAILED, "Another worker took over this user."
    elif isinstance(problem, IdentityChanged):
        # R17: the Salesforce account changed (or sync was turned off) during the run: it stops
        # before writing anything under the new identity.
        run.outcome = RunOutcome.FAILED
        run.error = "Stopped: the Salesforce connection or the sync setting changed during the run."
    elif isinstance(problem, errors.NeedsReconnect):
        pause_user(state, PauseReason.RECONNECT, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"Reconnect Salesforce: {problem.message}"
    elif isinstance(problem, errors.OverLimit):
        if ctx is not None:  # the org is at its limit, whatever the last header said
            ctx.client.api_used = max(ctx.client.api_used or 0, ctx.client.api_max or 0)
        pause_org(state.org_id, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"Over API limit: {problem.message}"
    elif isinstance(problem, budget.BudgetReached):
        pause_org(state.org_id, str(problem))
        run.outcome, run.error = RunOutcome.PARTIAL, str(problem)
    elif isinstance(problem, errors.SalesforceProblem):
        # Transient or unexpected: the next poll retries; nothing was lost (outbox, cursors).
        logger.warning("sync of user %s failed: %s", state.user_id, problem.message)
        run.outcome, run.error = RunOutcome.FAILED, f"{type(problem).__name__}: {problem.message}"
        schedule_next(state, failed=True)
    else:
        logger.exception("sync of user %s crashed", state.user_id)
        run.outcome, run.error = RunOutcome.FAILED, f"Internal error: {type(problem).__name__}"
        schedule_next(state, failed=True)
        return False
    return True


def _finish(run: SyncRun, ctx: RunContext | None, *, user_id: int, owner: str) -> None:
    """The run's end, whatever happened: its events, then its bookkeeping in one transaction:
    its row, the org's usage, and the user's state with the lease's release (an idle poll's only
    writes after its lease claim); then another round if one was asked for meanwhile."""
    if ctx is not None and ctx.events:
        with contextlib.suppress(LeaseLost):
            ctx.flush()
    run.finished_at = timezone.now()
    with transaction.atomic():
        if ctx is not None:
            run.api_calls = ctx.client.calls
            _record_usage(ctx)
        run.save()
        unasked = _release(user_id, owner, ctx)
    if not unasked:
        rounds.rerun_if_asked(user_id)


def _release(user_id: int, owner: str, ctx: RunContext | None) -> bool:
    """Release the lease, writing what the run settled on the user's state (its cursors, its
    success) in the same UPDATE, but only while the state still speaks for the run's identity
    (R17): after a switch, only the lease is released.

    True when it went with no other round asked for (``rerun_requested`` false, in the UPDATE's
    own condition, so no request slips between a check and the release): nothing to queue. A
    request after the release finds the lease free, or a push job already queued."""
    mine = SyncState.objects.filter(user_id=user_id, lease_owner=owner)
    updates = ctx.state_updates if ctx is not None else {}
    if updates:
        same = mine.filter(enabled=True, org_id=ctx.org_id, sf_user_id=ctx.sf_user_id)
        if same.filter(rerun_requested=False).update(lease_owner="", lease_until=None, **updates):
            return True
        if same.update(lease_owner="", lease_until=None, **updates):
            return False
    lease_release(user_id=user_id, owner=owner)
    return False


def _connection(state: SyncState):
    """The user's Salesforce connection, usable (else NeedsReconnect)."""
    return _usable(_stored_connection(state))


def _usable(connection):
    if connection is None or not connection.is_usable:
        raise errors.NeedsReconnect("Salesforce is not connected.")
    return connection


def _stored_connection(state: SyncState):
    """The user's Salesforce connection (with its org), read with the state; None if none."""
    from accounts.models import SalesforceConnection

    try:
        return state.user.salesforce_connection
    except SalesforceConnection.DoesNotExist:
        return None


def _org_of(state: SyncState, connection):
    """The org the state syncs with: the connection's, already read, when it is the same one."""
    if connection is not None and state.org_id and connection.org.org_id == state.org_id:
        return connection.org
    return org_for(state)


def _cycle(ctx: RunContext, *, resync: bool) -> None:
    state = ctx.state
    if state.phase == SyncPhase.FIRST_SYNC:
        window = ctx.sf_now() - pull_mod.FIRST_SYNC_WINDOW
        # R7: back after more than 15 days: deletions of the last 15 days still apply.
        _pull(ctx, import_window_start=window, deletions=state.last_success_at is not None)
        state.phase = SyncPhase.ON
        state.save(update_fields=["phase"])
    elif resync:
        picklist.detect_statuses(ctx)
        resync_cycle(ctx)
    elif ctx.may_have.feed and (feed := org_pull.feed_covering(state.org_id)) is not None:
        # R19: the org's feed pulls for every rep; this run only reads what it will write.
        org_pull.read_before_push(ctx, feed)
    else:
        # The push's reads are made while the pull's first call is on the wire.
        _pull(ctx, meanwhile=push_mod.read_ahead(ctx) if ctx.may_have.outbox else None)
    rounds.push_rounds(ctx, resync=resync)


def resync_cycle(ctx: RunContext) -> None:
    """R14: re-read the last 15 days and re-push linked tasks that differ; never duplicates."""
    from tasksync.sync.resync import resync

    resync(ctx)


def _pull(
    ctx: RunContext, *, import_window_start=None, deletions: bool | None = None, meanwhile=None
) -> None:
    """The cycle's pull and what rides in its first call (one call for an idle poll): the
    delete log when it is due (R6, R7), the org's TaskStatus picklist when the org's copy is
    a day old or was thrown away after a rejected status (R1)."""
    state, client = ctx.state, ctx.client
    importing = import_window_start is not None
    window = None
    if deletions or (deletions is None and not importing):
        window = decide.deleted_log_window(state.deleted_watermark, ctx.sf_now(), force=importing)
    extras = [client.deleted_subrequest(*window)] if window is not None else []
    statuses = picklist.picklist_subrequest(ctx)
    if statuses is not None:
        extras.append(statuses)
    answers = pull_mod.pull(
        ctx,
        import_window_start=import_window_start,
        extras=tuple(extras),
        heavy_extras=int(statuses is not None),
        on_first=functools.partial(picklist.first_answers, ctx),
        meanwhile=meanwhile,
    )
    if window is not None:
        deletions_mod.pull_deletions(ctx, window=window, answer=answers.get("deleted"))
    elif importing and state.deleted_watermark is None:
        # Nothing was linked before this import: no deletion before it concerns us. The delete
        # log is first read five minutes on, from where this read began.
        state.deleted_watermark = state.watermark
        ctx.state_updates["deleted_watermark"] = state.deleted_watermark


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
        next_poll_at=run.started_at
        + poll_interval(state, org=_org_of(state, ctx.connection), stream=ctx.may_have.stream),
    )


def _record_usage(ctx: RunContext) -> None:
    """R13: keep the org's Sforce-Limit-Info usage, org-wide, as Salesforce last reported it."""
    client = ctx.client
    if client.api_max:
        type(ctx.connection.org).objects.filter(pk=ctx.connection.org_id).update(
            api_used=client.api_used, api_max=client.api_max, api_usage_at=timezone.now()
        )
