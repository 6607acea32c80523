"""Updates (R1, R2, R6): only the fields that changed locally travel; an edit that meets a
deletion made in Salesforce lets the delete stand."""

from __future__ import annotations

from django.db import transaction

from accounts.salesforce import errors
from tasksync.models import EventAction
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext
from tasksync.sync.pull import apply_remote_delete, lock_local_state
from tasksync.sync.push.settle import record_failure, result_problem, settle


def update_payloads(ctx: RunContext, batch) -> list:
    """The updates with something to send, as (row, link, values, fields, payload); those left
    with nothing to send (what is queued is what Salesforce has) settle at once."""
    sendable, nothing_to_send = [], []
    for row, link in batch:
        values = mapping.local_snapshot(row.task)
        fields = decide.update_fields(row.fields, values, link.synced_local)
        payload = mapping.update_payload(
            values, fields, template=ctx.template, statuses=ctx.statuses
        )
        if not payload:
            nothing_to_send.append((row, link, values, fields))
            continue
        sendable.append((row, link, values, fields, payload))
    if nothing_to_send:
        with transaction.atomic():
            ctx.guard()
            settle(nothing_to_send)
    return sendable


def settle_updates(ctx: RunContext, sendable, results) -> None:
    landed, met_delete = [], []
    for (row, link, values, fields, payload), result in zip(sendable, results, strict=True):
        if result.get("success"):
            link.synced_remote.update(mapping.remote_snapshot({**link.synced_remote, **payload}))
            ctx.run.pushed += 1
            ctx.pushed(
                task=row.task,
                sf_id=link.sf_id,
                action=EventAction.UPDATE,
                changes={f: [link.synced_local.get(f), values[f]] for f in fields},
            )
            landed.append((row, link, values, fields))
            continue
        problem = result_problem(result)
        if isinstance(problem, errors.AlreadyDeleted):
            met_delete.append(link)
            continue
        record_failure(ctx, row, link, problem, action=EventAction.UPDATE)
    settle(landed)
    _apply_remote_deletes(ctx, met_delete)


def _apply_remote_deletes(ctx, links) -> None:
    """R6: these edits met a deletion made in Salesforce; the delete stands."""
    if not links:
        return
    tasks, rows = lock_local_state([link.task_id for link in links])
    for link in links:
        link.task = tasks[link.task_id]
        apply_remote_delete(ctx, link, rows.get(link.task_id))
