"""What every kind of push shares once Salesforce has answered: the landed pushes settled
against the outbox as it is now (R6, R11), a record's failure, a transient failure's back-off
(R11, R12)."""

from __future__ import annotations

import random

from django.utils import timezone

from accounts.salesforce import errors
from tasksync.bulk import update_many
from tasksync.bulk.lookups import ids_in
from tasksync.models import LinkState, OutboundChange, OutboxState
from tasksync.sync import decide
from tasksync.sync.decide import SettleAction
from tasksync.sync.pull.apply import lock_local_snapshots

LINK_FIELDS = ["org_id", "sf_user_id", "state", "synced_local", "synced_remote", "updated_at"]


def write_links(links, fields) -> None:
    """Save these fields of many existing links in one statement."""
    update_many(links, fields)


def result_problem(result: dict) -> errors.SalesforceProblem:
    errs = result.get("errors") or [{"statusCode": "UNKNOWN", "message": "unknown error"}]
    return errors.classify_record_error(errs[0])


def settle(items, *, links_written: bool = False) -> None:
    """These pushes landed: record what both sides now agree on, and let ``decide.settled`` say
    what becomes of each task's outbox row as it is *now* (R6, R11): a delete or an edit saved
    while the call was on the wire stays queued. ``items`` are (row, link, values, fields);
    values None means "the whole task as sent" (a create).

    Tasks and rows are re-read under a lock; three statements for the batch, whatever its size."""
    if not items:
        return
    snapshots, rows = lock_local_snapshots([i[0].task_id for i in items])
    now = timezone.now()
    links, drop, keep = [], [], []
    for row, link, values, fields in items:
        current = rows.get(row.task_id)
        _mark_synced(link, values, fields, current, now)
        links.append(link)
        local = snapshots.get(row.task_id)
        if current is None or local is None:
            continue
        verdict = decide.settled(
            decide.Queued(current.operation, tuple(current.fields or ())),
            local=local,
            synced_local=link.synced_local,
        )
        if verdict.action == SettleAction.KEEP:
            keep.append(
                OutboundChange(
                    pk=current.pk,
                    operation=verdict.operation,
                    fields=list(verdict.fields),
                    state=OutboxState.PENDING,
                    not_before=None,
                )
            )
        elif verdict.action == SettleAction.DROP:
            drop.append(current.pk)
    if not links_written:
        write_links(links, LINK_FIELDS)
    OutboundChange.objects.filter(ids_in("pk", drop)).delete()
    OutboundChange.objects.bulk_update(keep, ["operation", "fields", "state", "not_before"])


def _mark_synced(link, values, fields, current, now) -> None:
    """The link holds the pushed fields as synced (all of them already for a create)."""
    if values is not None:
        for field in fields:
            link.synced_local[field] = values[field]
        # A name that does not travel (R2 without the placeholder) counts as synced.
        if "name" in fields or (current and "name" in (current.fields or [])):
            link.synced_local["name"] = values["name"]
    link.state = LinkState.SYNCED
    link.updated_at = now


def record_failure(ctx, row, link, problem, *, action) -> None:
    if isinstance(problem, errors.Transient):
        back_off(ctx, row, problem)
        return
    # R11/R12: this record is marked failed with Salesforce's message; the rest goes on.
    if decide.status_rejected(problem.code, getattr(problem, "fields", ()), problem.message):
        # R1: the org's picklist changed: its kept copy goes, the next pull reads it again.
        type(ctx.connection.org).objects.filter(pk=ctx.connection.org_id).update(
            task_statuses_at=None
        )
    row.state = OutboxState.FAILED
    row.attempts += 1
    row.last_error = problem.message
    row.last_error_code = problem.code
    row.save(update_fields=["state", "attempts", "last_error", "last_error_code"])
    if link is not None and link.sf_id:
        link.state = LinkState.FAILED
        link.save(update_fields=["state"])
    ctx.run.failed += 1
    ctx.pushed(
        task_id=row.task_id,
        sf_id=link.sf_id if link else "",
        action=action,
        ok=False,
        message=f"{problem.code}: {problem.message}" if problem.code else problem.message,
    )


def back_off(ctx, row, problem) -> None:
    """R11: a transient failure is retried with capped back-off for a day before the change is
    marked failed; meanwhile the user sees it retrying, with the last error."""
    now = ctx.now()
    row.attempts += 1
    row.last_error = problem.message
    row.last_error_code = problem.code
    row.failing_since = row.failing_since or now
    if decide.gives_up(row.failing_since, now):
        row.state = OutboxState.FAILED  # surfaced to the user and admins (R11)
        ctx.run.failed += 1
    else:
        # R11/R12: decide.backoff's equal jitter, drawn here (the decide layer draws nothing).
        row.not_before = now + decide.backoff(row.attempts, jitter=random.random())
    row.save(
        update_fields=[
            "attempts",
            "last_error",
            "last_error_code",
            "failing_since",
            "not_before",
            "state",
        ]
    )
