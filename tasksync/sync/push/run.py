"""A push: this user's due outbox rows, each sorted by ``decide.queued``, sent in as few calls
as Composite's limits allow (R10, R13, R17)."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q

from tasksync.bulk.lookups import ids_in
from tasksync.models import LinkState, OutboundChange, OutboxState, ReminderTask, TaskLink
from tasksync.sync import decide
from tasksync.sync.context import RunContext
from tasksync.sync.decide import PushAction
from tasksync.sync.push.call import push_call
from tasksync.sync.push.updates import update_payloads

# What each action's rows join; DROP keeps only row ids. WAIT joins nothing: an in-doubt
# create (or an update or delete of one) waits for the pull (R10).
_SORTED = {
    PushAction.CREATE: "creates",
    PushAction.UPDATE: "updates",
    PushAction.DELETE: "deletes",
    PushAction.DROP_NEVER_LANDED: "never_landed",
}


def push(ctx: RunContext) -> None:
    """Send this user's due outbox rows: what each becomes is ``decide.queued``'s call."""
    rows = list(
        OutboundChange.objects.filter(user=ctx.user, state=OutboxState.PENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=ctx.now()))
        .order_by("queued_at", "pk")
    )
    links = {
        link.task_id: link
        for link in TaskLink.objects.filter(
            ids_in("task_id", [r.task_id for r in rows]), user=ctx.user
        ).exclude(state=LinkState.RETIRED)
    }
    work = _sort(ctx, rows, links)
    _with_tasks(work, "creates", "updates")
    if any(work.values()):
        ctx.save_run()  # the run shows while its push is on the wire
    if work["drops"] or work["never_landed"]:
        _drop(ctx, work["drops"], work["never_landed"])
    sendable = update_payloads(ctx, work["updates"])
    # R13: as few calls as Composite's limits allow (decide.pack_push); pushes wait (stay
    # queued) once the org reaches its API budget share.
    kinds = {"create": work["creates"], "update": sendable, "delete": work["deletes"]}
    for parts in decide.pack_push({kind: len(items) for kind, items in kinds.items()}):
        ctx.check_budget()
        push_call(ctx, [(part, kinds[part.kind][part.start : part.stop]) for part in parts])


def _sort(ctx: RunContext, rows, links) -> dict[str, list]:
    """The rows by what ``decide.queued`` makes of them: (row, link) pairs, and row ids to drop."""
    work: dict[str, list] = {
        "creates": [],
        "updates": [],
        "deletes": [],
        "drops": [],
        "never_landed": [],
    }
    for row in rows:
        link = links.get(row.task_id)
        if link is not None and (link.org_id, link.sf_user_id) != (ctx.org_id, ctx.sf_user_id):
            work["drops"].append(row.pk)  # R17: nothing is pushed into another identity's tasks
            continue
        action = decide.queued(
            decide.Queued(row.operation, tuple(row.fields or ())), _view(ctx, link)
        )
        if action == PushAction.DROP:
            work["drops"].append(row.pk)
        elif action in _SORTED:
            work[_SORTED[action]].append((row, link))
    return work


def _with_tasks(work: dict, *kinds: str) -> None:
    """The local task of each row of these kinds, whose payloads are built from it, read in one
    query (a delete needs only the row's task id: a thousand deletes read no task)."""
    pairs = [pair for kind in kinds for pair in work[kind]]
    ids = [row.task_id for row, _ in pairs]
    tasks = {t.pk: t for t in ReminderTask.objects.filter(ids_in("pk", ids))} if ids else {}
    for kind in kinds:
        # A task gone since its row was read (a purge) took its row with it: nothing to send.
        work[kind] = [(row, link) for row, link in work[kind] if row.task_id in tasks]
        for row, _ in work[kind]:
            row.task = tasks[row.task_id]


def _drop(ctx: RunContext, drops, never_landed) -> None:
    with transaction.atomic():
        ctx.guard()
        OutboundChange.objects.filter(pk__in=drops + [r.pk for r, _ in never_landed]).delete()
        # Its create is no longer running and this run's pull did not find it: it never
        # landed, so there is nothing to delete.
        TaskLink.objects.filter(pk__in=[link.pk for _, link in never_landed]).update(
            state=LinkState.LOCAL_DELETED, create_started_at=None, resend_after=None
        )


def _view(ctx: RunContext, link) -> decide.Link | None:
    if link is None:
        return None
    return decide.Link(
        state=link.state,
        has_sf_id=bool(link.sf_id),
        create_sent=link.create_started_at is not None,
        create_cannot_land=_create_cannot_land(ctx, link),
    )


def _create_cannot_land(ctx: RunContext, link) -> bool:
    """The in-doubt create's request is over, and the pull of this run, which started after
    that, would have found what it committed (a resync's read does not look for it)."""
    checked_at = ctx.in_doubt_checked_at or ctx.run.started_at
    return (
        ctx.in_doubt_checked and link.resend_after is not None and link.resend_after <= checked_at
    )
