"""A push: this user's due outbox rows, each sorted by ``decide.queued``, sent in as few calls
as Composite's limits allow (R10, R13, R17)."""

from __future__ import annotations

from typing import NamedTuple

from django.db import transaction
from django.db.models import Q

from tasksync.bulk.lookups import ids_in
from tasksync.models import (
    LinkState,
    OutboundChange,
    OutboxOperation,
    OutboxState,
    ReminderTask,
    TaskLink,
)
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


class PushRead(NamedTuple):
    """What a push reads before it sorts: the due outbox rows, their links, their tasks."""

    rows: list
    links: dict  # task id: link
    tasks: dict  # task id: task, for the rows that may send a task's values


def read_ahead(ctx: RunContext):
    """The push's reads, to run while the pull's first call is on the wire (R8, R9 keep the
    push itself after the pull; issue 16: network and local work overlap), kept on the context
    for the run's first push (``_still_current``)."""

    def read() -> None:
        ctx.push_read = _read(ctx)

    return read


def push(ctx: RunContext) -> None:
    """Send this user's due outbox rows: what each becomes is ``decide.queued``'s call."""
    read, ctx.push_read = ctx.push_read, None
    if read is None or not _still_current(ctx, read):
        read = _read(ctx)
    work = _sort(ctx, read.rows, read.links)
    _with_tasks(work, read.tasks, "creates", "updates")
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


def _due_rows(ctx: RunContext):
    return (
        OutboundChange.objects.filter(user=ctx.user, state=OutboxState.PENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=ctx.now()))
        .order_by("queued_at", "pk")
    )


def _still_current(ctx: RunContext, read: PushRead) -> bool:
    """Whether what ``read_ahead`` read while the pull was on the wire is still what the push
    would read now: the pull wrote none of the rep's tasks, links or outbox rows beyond the
    stamps it read them at (``ctx.pull_wrote``), and the due rows are the same rows, none
    saved since (their ``changed_at``; a local edit or delete saves its task's row, R11). One
    query of two columns: a task created, edited or deleted meanwhile (a create cancelled
    before it reached Salesforce takes its row away) has the push read again (R5, R6)."""
    if ctx.pull_wrote:
        return False
    now = list(_due_rows(ctx).values_list("pk", "changed_at"))
    return now == [(row.pk, row.changed_at) for row in read.rows]


def _read(ctx: RunContext) -> PushRead:
    """The due rows in the order they were queued, their live links, and the tasks of the rows
    that are not deletes, whose payloads are built from them (a thousand deletes read no task).
    Three queries, whatever the number of rows."""
    rows = list(_due_rows(ctx))
    links = {
        link.task_id: link
        for link in TaskLink.objects.filter(
            ids_in("task_id", [r.task_id for r in rows]), user=ctx.user
        ).exclude(state=LinkState.RETIRED)
    }
    ids = [row.task_id for row in rows if row.operation != OutboxOperation.DELETE]
    tasks = {t.pk: t for t in ReminderTask.objects.filter(ids_in("pk", ids))} if ids else {}
    return PushRead(rows, links, tasks)


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


def _with_tasks(work: dict, tasks: dict, *kinds: str) -> None:
    """The local task of each row of these kinds, whose payloads are built from it."""
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
