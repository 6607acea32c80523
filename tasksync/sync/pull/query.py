"""What a pull reads: the Task fields and the filter every pull query shares (R14, R15)."""

from __future__ import annotations

from django.conf import settings

from accounts.salesforce.client import soql_datetime, soql_id
from tasksync.sync.context import RunContext

TASK_FIELDS = (
    "Id, Subject, Status, Priority, ActivityDate, Description, OwnerId, IsDeleted, IsArchived, "
    "IsClosed, CreatedById, CreatedDate, LastModifiedDate, SystemModstamp, "
    # R14: what the task is about, read in the same query (display only, never pushed).
    "WhoId, WhatId, Who.Name, What.Name"
)
# R15: real tasks (not logged emails or calls), no recurring-series masters.
REAL_TASKS = "TaskSubtype = 'Task' AND IsRecurrence = false"


def task_fields() -> str:
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    return f"{TASK_FIELDS}, {key_field}" if key_field else TASK_FIELDS


def changes_query(ctx: RunContext, since, *, own_only: bool = False) -> str:
    """Every task changed since the cursor that this user can see, whoever owns it now: a task
    of theirs reassigned to someone else must reach their run to leave their lists (R18). What
    is neither theirs nor linked to them is skipped unread. With ``own_only``, only the tasks
    they own now: in a crowded org the colleagues' are read apart, as ids, stamps and owners
    (pull.overlap)."""
    owner = f"AND OwnerId = {soql_id(ctx.sf_user_id)} " if own_only else ""
    return (
        f"SELECT {task_fields()} FROM Task WHERE {REAL_TASKS} "
        f"AND SystemModstamp >= {soql_datetime(since)} {owner}ORDER BY SystemModstamp, Id"
    )
