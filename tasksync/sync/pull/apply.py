"""Applying a pull plan (R6, R8, R18): the local state a plan is decided from, read under a
lock, and what ``decide`` said carried out on the task, its link, its outbox row, conflicts
and events."""

from __future__ import annotations

from datetime import date
from typing import NamedTuple

from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.salesforce.client import sf_datetime
from tasksync.bulk.lookups import ids_in
from tasksync.models import (
    EventAction,
    LinkState,
    OutboundChange,
    OutboxOperation,
    ReminderTask,
    SyncConflict,
    TaskLink,
)
from tasksync.services import tasks as task_services
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext
from tasksync.sync.decide import PullAction


def lock_local_state(task_ids) -> tuple[dict, dict]:
    """The tasks and outbox rows a plan is decided from, locked until the page commits (R8).
    Tasks first, then outbox rows, in id order: the web's edits take them in the same order."""
    if not task_ids:
        return {}, {}
    tasks = {
        task.pk: task
        for task in ReminderTask.objects.select_for_update()
        .filter(ids_in("pk", task_ids))
        .order_by("pk")
    }
    outbox = {
        row.task_id: row
        for row in OutboundChange.objects.select_for_update()
        .filter(ids_in("task_id", task_ids))
        .order_by("task_id")
    }
    return tasks, outbox


class QueuedRow(NamedTuple):
    """An outbox row's queued change, as ``lock_local_snapshots`` reads it."""

    pk: int
    task_id: int
    operation: str
    fields: list


class _TaskValues(NamedTuple):
    """The task fields ``mapping.local_snapshot`` reads (a missing one fails loudly)."""

    name: str
    status: str
    priority: str
    due_date: date | None
    details: str


def lock_local_snapshots(task_ids) -> tuple[dict, dict]:
    """``lock_local_state``'s locks, taken in its order, for a caller that needs only each
    task's ``mapping.local_snapshot`` and each outbox row's ``QueuedRow`` (a push settling a
    thousand answers): plain values read, no model instances built."""
    if not task_ids:
        return {}, {}
    tasks = (
        ReminderTask.objects.select_for_update()
        .filter(ids_in("pk", task_ids))
        .order_by("pk")
        .values_list("pk", *_TaskValues._fields)
    )
    snapshots = {pk: mapping.local_snapshot(_TaskValues(*values)) for pk, *values in tasks}
    rows = (
        OutboundChange.objects.select_for_update()
        .filter(ids_in("task_id", task_ids))
        .order_by("task_id")
        .values_list(*QueuedRow._fields)
    )
    return snapshots, {row.task_id: row for row in map(QueuedRow._make, rows)}


def pair_of(ctx: RunContext, link: TaskLink, row) -> decide.Pair:
    task = link.task
    return decide.Pair(
        state=link.state,
        synced_local=link.synced_local,
        synced_remote=link.synced_remote,
        local=mapping.local_snapshot(task),
        local_deleted=task.deleted_at is not None,
        changed_at={f: ctx.to_sf_clock(local_changed_at(task, f)) for f in mapping.LOCAL_FIELDS},
        queued=decide.Queued(row.operation, tuple(row.fields or ())) if row is not None else None,
    )


def local_changed_at(task, field):
    stamp = (task.field_changed_at or {}).get(field)
    return parse_datetime(stamp) if stamp else task.modified_at


def apply_plan(
    ctx: RunContext, link, row, plan: decide.PullPlan, *, remote=None, record_times=None
):
    """Carry out what ``decide`` said for one pair; records conflicts and events."""
    if plan.action == PullAction.SKIP:
        return
    for conflict in plan.conflicts:
        _conflict(ctx, link, conflict)
    if row is not None:
        _settle_queued(row, plan)
    if plan.action == PullAction.EDIT_MEETS_DELETE:
        link.synced_remote = plan.synced_remote
        link.save(update_fields=["synced_remote", "updated_at"])
        return
    if plan.action in (PullAction.REMOTE_DELETE, PullAction.REASSIGNED_AWAY):
        _remove_locally(ctx, link, plan)
        return
    if plan.action == PullAction.RESTORE:
        task_services.task_restore(task=link.task)
        link.state = LinkState.SYNCED
        ctx.run.pulled += 1
        ctx.pulled(task=link.task, sf_id=link.sf_id, action=EventAction.UNDELETE)
    if plan.updates:
        _update_task(ctx, link, plan)
    _save_synced(ctx, link, plan, (record_times or {}).get(link.sf_id) or {})


def _settle_queued(row, plan: decide.PullPlan) -> None:
    """The queued local change the plan overrides: dropped whole, or some of its fields."""
    if plan.drop_queued:
        row.delete()
    elif plan.drop_fields:
        _drop_fields(row, plan.drop_fields)


def _update_task(ctx: RunContext, link, plan: decide.PullPlan) -> None:
    task = link.task
    before = mapping.local_snapshot(task)
    task_services.task_update(
        task=task,
        from_sync=True,
        **{f: mapping.as_model_value(f, v) for f, v in plan.updates.items()},
    )
    if plan.action == PullAction.UPDATE:
        ctx.run.pulled += 1
        ctx.pulled(
            task=task,
            sf_id=link.sf_id,
            action=EventAction.UPDATE,
            changes={f: [before[f], v] for f, v in plan.updates.items()},
        )


def _save_synced(ctx: RunContext, link, plan: decide.PullPlan, record: dict) -> None:
    """The link remembers what both sides now hold, and when Salesforce last changed it."""
    link.synced_local = plan.synced_local
    link.synced_remote = plan.synced_remote
    link.sf_system_modstamp = sf_datetime(record.get("SystemModstamp")) or link.sf_system_modstamp
    link.sf_last_modified = sf_datetime(record.get("LastModifiedDate")) or link.sf_last_modified
    link.last_synced_at = ctx.now()
    link.save(
        update_fields=[
            "synced_local",
            "synced_remote",
            "sf_system_modstamp",
            "sf_last_modified",
            "last_synced_at",
            "state",
            "updated_at",
        ]
    )


def _remove_locally(ctx: RunContext, link, plan) -> None:
    """R6: deleted in Salesforce; R18: reassigned to someone else. The local task becomes a
    tombstone (gone from every list), the link says why, and the user is told."""
    task = link.task
    reassigned = plan.action == PullAction.REASSIGNED_AWAY
    if task.deleted_at is None:
        task_services.task_delete(task=task, from_sync=True)
        ctx.run.deleted += 1
        action = EventAction.REASSIGNED if reassigned else EventAction.DELETE
        ctx.pulled(task=task, sf_id=link.sf_id, action=action)
    link.state = LinkState.REASSIGNED if reassigned else LinkState.REMOTE_DELETED
    link.last_synced_at = ctx.now()
    link.save(update_fields=["state", "last_synced_at", "updated_at"])


def _drop_fields(row, fields) -> None:
    """Salesforce's value won for these fields: the older local value must not be pushed."""
    remaining = [f for f in row.fields if f not in fields]
    if remaining or row.operation == OutboxOperation.CREATE:
        row.fields = remaining
        row.save(update_fields=["fields"])
    else:
        row.delete()


def _conflict(ctx, link, conflict: decide.Conflict) -> None:
    ctx.save_run()
    SyncConflict.objects.create(
        user=ctx.user,
        task=link.task,
        run=ctx.run,
        sf_id=link.sf_id or "",
        field=conflict.field,
        local_value=conflict.local_value,
        remote_value=conflict.remote_value,
        local_changed_at=ctx.from_sf_clock(conflict.local_at),
        remote_changed_at=conflict.remote_at,
        winner=conflict.winner,
    )
    ctx.run.conflicts += 1
    side = "this app" if conflict.winner == decide.Winner.LOCAL else "Salesforce"
    ctx.pulled(
        task=link.task,
        sf_id=link.sf_id,
        action=EventAction.CONFLICT,
        changes={conflict.field: [conflict.local_value, conflict.remote_value]},
        message=f"{conflict.field}: {side} won",
    )


def apply_remote_delete(ctx: RunContext, link: TaskLink, row, *, removed_at=None) -> None:
    """R6: a deletion learnt outside a pulled record (delete log, an edit's answer). The caller
    holds the task and its outbox row under a lock."""
    plan = decide.remote_deleted(pair_of(ctx, link, row), removed_at=removed_at or ctx.sf_now())
    apply_plan(ctx, link, row, plan)


def apply_deleted_ids(ctx: RunContext, sf_ids) -> None:
    """Deletions learnt from sobjects/Task/deleted/ or an id reconciliation (R6, R7), applied to
    this user's links only (R18)."""
    sf_ids = list(sf_ids)
    for start in range(0, len(sf_ids), 500):
        chunk = sf_ids[start : start + 500]
        with transaction.atomic():
            ctx.guard()
            links = list(
                TaskLink.objects.filter(user=ctx.user, org_id=ctx.org_id, sf_id__in=chunk).exclude(
                    state__in=[
                        LinkState.RETIRED,
                        LinkState.REASSIGNED,
                        LinkState.REMOTE_DELETED,
                        LinkState.LOCAL_DELETED,
                    ]
                )
            )
            if links:
                ctx.pull_wrote = True
            tasks, rows = lock_local_state([link.task_id for link in links])
            for link in links:
                link.task = tasks[link.task_id]
                apply_remote_delete(ctx, link, rows.get(link.task_id))
            ctx.flush()
