"""A run's push rounds (R5, R11): the push, once more while the rep keeps saving during it, and
the round a change saved after the last one asks for, queued once the lease is released."""

from __future__ import annotations

from tasksync.models import SyncRun, SyncState, SyncTrigger
from tasksync.sync import push as push_mod
from tasksync.sync.context import RunContext

MAX_ROUNDS = 3


def push_rounds(ctx: RunContext, *, resync: bool) -> None:
    """Push; go round again while changes saved during a round asked for one (R5)."""
    state = ctx.state
    if not (resync or ctx.may_have.outbox):
        _nothing_to_push(state)
        return
    for round_no in range(MAX_ROUNDS):
        if round_no or state.rerun_requested or state.push_queued:
            SyncState.objects.filter(pk=state.pk).update(rerun_requested=False, push_queued=False)
        done = _pushed(ctx.run)
        push_mod.push(ctx)
        # A round that sent nothing leaves a change queued meanwhile to rerun_if_asked.
        if _pushed(ctx.run) == done or not _rerun_asked(state):
            break


def rerun_if_asked(user_id: int) -> None:
    """A change or a job that arrived while this run held the lease asked for another round
    (``rerun_requested``); if the run had already left its push loop, queue that round now, or
    the change would wait for the next poll. Claimed with a conditional UPDATE: queued once."""
    from tasksync.sync.jobs_api import enqueue_sync

    asked = SyncState.objects.filter(user_id=user_id, enabled=True, rerun_requested=True)
    # Read first: the lease is released, so whoever asks from now on runs the round itself.
    if asked.exists() and asked.update(rerun_requested=False, push_queued=True):
        enqueue_sync(user_id=user_id, trigger=SyncTrigger.PUSH)


def _nothing_to_push(state: SyncState) -> None:
    """Nothing was queued when the run began (first_read), and only a resync queues in a run: a
    pull never does. A rerun the rep asked for meanwhile stays asked, and the run's end queues it
    (rerun_if_asked); a push job this run stood for is done."""
    if state.push_queued:
        SyncState.objects.filter(pk=state.pk).update(push_queued=False)


def _pushed(run: SyncRun) -> tuple:
    return run.pushed, run.deleted, run.failed


def _rerun_asked(state: SyncState) -> bool:
    return SyncState.objects.filter(pk=state.pk, rerun_requested=True).exists()
