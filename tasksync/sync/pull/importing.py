"""The first import and new tasks (R4, R5, R18): the import query, and local tasks created for
Salesforce tasks of this user never seen before, each validated on its own.

A first import writes a task, a link and a history event for each of up to thousands of
records a page (issue 16): each record's values are one plain tuple, checked by ``RowCheck``
(``full_clean``'s rules, compiled once; ``full_clean`` itself only for a record it cannot vouch
for), and the three rows are written as tuples by ``insert_rows``, no model instance per row.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.salesforce.client import sf_datetime, soql_datetime, soql_id
from tasksync.bulk import insert_rows
from tasksync.bulk.lookups import ids_in
from tasksync.models import (
    Direction,
    EventAction,
    LinkState,
    ReminderTask,
    SyncEvent,
    TaskLink,
    TaskStatus,
)
from tasksync.models.tasks import TaskOrigin
from tasksync.services import tasks as task_services
from tasksync.sync import mapping
from tasksync.sync.context import RunContext
from tasksync.sync.import_check import RowCheck
from tasksync.sync.outbox import request_push
from tasksync.sync.pull.query import REAL_TASKS, task_fields


def import_query(ctx: RunContext, window_start) -> str:
    """R4: the connected user's own tasks modified in the import window."""
    return (
        f"SELECT {task_fields()} FROM Task WHERE OwnerId = {soql_id(ctx.sf_user_id)} "
        f"AND {REAL_TASKS} AND LastModifiedDate >= {soql_datetime(window_start)} "
        "ORDER BY SystemModstamp, Id"
    )


class TaskRow(NamedTuple):
    """The columns an imported task is written with (the rest take their defaults). Also what
    ``mapping.local_snapshot`` reads."""

    user_id: int
    name: str
    status: str
    priority: str
    due_date: object
    details: str
    origin: str
    completed_at: object
    related_who: str
    related_what: str


@functools.cache
def task_check() -> RowCheck:
    """An imported task's validation: ``full_clean`` without the user (known to exist) and
    without uniqueness (a task has no unique field): no query."""
    return RowCheck(ReminderTask, TaskRow._fields, exclude=["user"])


LINK_FIELDS = ("task_id", "user_id", "org_id", "sf_user_id", "sf_id", "state")
LINK_FIELDS += ("synced_local", "synced_remote", "sf_system_modstamp", "sf_last_modified")
LINK_FIELDS += ("last_synced_at",)
EVENT_FIELDS = ("run_id", "user_id", "task_id", "sf_id", "direction", "action")


def import_records(ctx: RunContext, records: list[dict]) -> None:
    """Create local tasks for Salesforce tasks of this user never seen before (R4 import, R5 new
    tasks, R18 a task reassigned to them)."""
    built = _build(ctx, records)
    if not built:
        return
    task_ids = task_services.task_bulk_import(
        fields=TaskRow._fields, rows=[row for _, _, row in built]
    )
    _link(ctx, built, task_ids)
    _record(ctx, [record["Id"] for record, _, _ in built], task_ids)
    ctx.run.pulled += len(task_ids)
    _ask_previous_owners(ctx, [record["Id"] for record, _, _ in built])


def task_row(ctx: RunContext, record: dict, snapshot: dict, now) -> TaskRow:
    """The local task a Salesforce record is imported as (R1: Subject → name only here; R14 its
    Who and What names); completed ones completed ``now``."""
    values = mapping.import_values(snapshot, statuses=ctx.statuses)
    related = mapping.related_names(record)
    status = values["status"]
    return TaskRow(
        user_id=ctx.user.pk,
        name=values["name"],
        status=status,
        priority=values["priority"],
        due_date=mapping.as_model_value("due_date", values["due_date"]),
        details=values["details"],
        origin=TaskOrigin.SALESFORCE.value,
        completed_at=now if status == TaskStatus.COMPLETE else None,
        related_who=related["related_who"],
        related_what=related["related_what"],
    )


def _build(ctx: RunContext, records: list[dict]) -> list[tuple]:
    """(record, snapshot, task row) for each record that validates; each one that does not
    fails on its own with a clear message."""
    check = task_check()
    now = ctx.now()
    built = []
    for record in records:
        snapshot = mapping.remote_snapshot(record)
        row = task_row(ctx, record, snapshot, now)
        if not check.vouches(row):
            error = check.full_clean_errors(row)
            if error is not None:
                # Bad input from Salesforce: this record fails with a clear message, the rest
                # goes on.
                ctx.run.failed += 1
                ctx.pulled(
                    sf_id=record["Id"],
                    action=EventAction.IMPORT,
                    ok=False,
                    message=_messages(error),
                )
                continue
        built.append((record, snapshot, row))
    return built


def _link(ctx: RunContext, built: list[tuple], task_ids) -> None:
    now = ctx.now()
    user_id, org_id, sf_user_id = ctx.user.pk, ctx.org_id, ctx.sf_user_id
    synced = LinkState.SYNCED.value
    insert_rows(
        TaskLink,
        LINK_FIELDS,
        [
            (task_id, user_id, org_id, sf_user_id, record["Id"], synced)
            + (mapping.local_snapshot(row), snapshot, sf_datetime(record["SystemModstamp"]))
            + (sf_datetime(record["LastModifiedDate"]), now)
            for (record, snapshot, row), task_id in zip(built, task_ids, strict=True)
        ],
    )


def _record(ctx: RunContext, sf_ids, task_ids) -> None:
    """The history events of the imported tasks, as ``ctx.pulled`` would record them, written
    as rows; the page's events recorded before them (a record that failed) are written first,
    so the history keeps its order."""
    if ctx.events:
        ctx.flush()
    ctx.save_run()
    head = (ctx.run.pk, ctx.user.pk)
    tail = (Direction.PULL.value, EventAction.IMPORT.value)
    insert_rows(
        SyncEvent,
        EVENT_FIELDS,
        [(*head, task_id, sf_id, *tail) for sf_id, task_id in zip(sf_ids, task_ids, strict=True)],
    )


def _ask_previous_owners(ctx: RunContext, sf_ids) -> None:
    """R18: a task imported here that another user's link still holds was reassigned from them;
    their run is asked to go now, so it leaves their lists at once. Nothing of theirs is touched
    by this run.

    Whether any colleague holds a live link in the org at all is asked once a run (a rep alone
    in their org, or the first of an org to connect, imports 10,000 tasks without looking them
    up five times). A colleague's link made during the run is not missed for long: the ask only
    hastens what the colleague's own next poll does anyway."""
    live = [LinkState.SYNCED, LinkState.FAILED]
    others = TaskLink.objects.filter(org_id=ctx.org_id, state__in=live).exclude(user=ctx.user)
    if ctx.colleagues_hold_links is None:
        ctx.colleagues_hold_links = others.exists()
    if not ctx.colleagues_hold_links:
        return
    holders = set(others.filter(ids_in("sf_id", sf_ids)).values_list("user_id", flat=True))
    for user_id in holders:
        transaction.on_commit(lambda user_id=user_id: request_push(user_id=user_id))


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)
