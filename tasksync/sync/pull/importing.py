"""The first import and new tasks (R4, R5, R18): the import query, and local tasks created for
Salesforce tasks of this user never seen before, each validated on its own."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.salesforce.client import sf_datetime, soql_datetime, soql_id
from tasksync.bulk import insert_many
from tasksync.models import EventAction, LinkState, TaskLink
from tasksync.services import tasks as task_services
from tasksync.sync import mapping
from tasksync.sync.context import RunContext
from tasksync.sync.outbox import request_push
from tasksync.sync.pull.query import REAL_TASKS, task_fields


def import_query(ctx: RunContext, window_start) -> str:
    """R4: the connected user's own tasks modified in the import window."""
    return (
        f"SELECT {task_fields()} FROM Task WHERE OwnerId = {soql_id(ctx.sf_user_id)} "
        f"AND {REAL_TASKS} AND LastModifiedDate >= {soql_datetime(window_start)} "
        "ORDER BY SystemModstamp, Id"
    )


def import_records(ctx: RunContext, records: list[dict]) -> None:
    """Create local tasks for Salesforce tasks of this user never seen before (R4 import, R5 new
    tasks, R18 a task reassigned to them)."""
    built = _build(ctx, records)
    if not built:
        return
    tasks = task_services.task_bulk_import(tasks=[task for _, _, task in built])
    _link(ctx, built, tasks)
    for (record, _, _), task in zip(built, tasks, strict=True):
        ctx.pulled(task=task, sf_id=record["Id"], action=EventAction.IMPORT)
    ctx.run.pulled += len(tasks)
    _ask_previous_owners(ctx, [record["Id"] for record, _, _ in built])


def _build(ctx: RunContext, records: list[dict]) -> list[tuple]:
    """(record, snapshot, unsaved task) for each record that validates; each one that does not
    fails on its own with a clear message."""
    built = []
    for record in records:
        snapshot = mapping.remote_snapshot(record)
        values = {
            f: mapping.as_model_value(f, v)
            for f, v in mapping.import_values(snapshot, statuses=ctx.statuses).items()
        }
        values.update(mapping.related_names(record))
        try:
            task = task_services.task_build_import(user=ctx.user, values=values)
        except ValidationError as exc:
            # Bad input from Salesforce: this record fails with a clear message, the rest goes on.
            ctx.run.failed += 1
            ctx.pulled(
                sf_id=record["Id"], action=EventAction.IMPORT, ok=False, message=_messages(exc)
            )
            continue
        built.append((record, snapshot, task))
    return built


def _link(ctx: RunContext, built: list[tuple], tasks) -> None:
    now = ctx.now()
    insert_many(
        [
            TaskLink(
                task_id=task.pk,
                user_id=ctx.user.pk,
                org_id=ctx.org_id,
                sf_user_id=ctx.sf_user_id,
                sf_id=record["Id"],
                state=LinkState.SYNCED,
                synced_local=mapping.local_snapshot(task),
                synced_remote=snapshot,
                sf_system_modstamp=sf_datetime(record["SystemModstamp"]),
                sf_last_modified=sf_datetime(record["LastModifiedDate"]),
                last_synced_at=now,
            )
            for (record, snapshot, _), task in zip(built, tasks, strict=True)
        ]
    )


def _ask_previous_owners(ctx: RunContext, sf_ids) -> None:
    """R18: a task imported here that another user's link still holds was reassigned from them;
    their run is asked to go now, so it leaves their lists at once. Nothing of theirs is touched
    by this run."""
    holders = set(
        TaskLink.objects.filter(
            org_id=ctx.org_id, sf_id__in=sf_ids, state__in=[LinkState.SYNCED, LinkState.FAILED]
        )
        .exclude(user=ctx.user)
        .values_list("user_id", flat=True)
    )
    for user_id in holders:
        transaction.on_commit(lambda user_id=user_id: request_push(user_id=user_id))


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)
