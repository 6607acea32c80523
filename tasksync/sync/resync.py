"""R14 resync: re-read the last 15 days of the user's Salesforce tasks and repair divergence.

Salesforce changes found are applied as in any pull (conflicts included). Linked tasks whose
local values differ from Salesforce where Salesforce did not change are queued to be pushed again.
Tasks unknown here are not imported (R4: no clutter) and nothing is ever created twice: resync only
touches existing links.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction

from tasksync.models import (
    EventAction,
    LinkState,
    OutboundChange,
    OutboxOperation,
    OutboxState,
    TaskLink,
)
from tasksync.sync import mapping
from tasksync.sync import pull as pull_mod
from tasksync.sync.context import RunContext

RESYNC_WINDOW = timedelta(days=15)


def resync(ctx: RunContext) -> None:
    since = ctx.sf_now() - RESYNC_WINDOW
    soql = pull_mod.changes_query(ctx, since)
    for page in ctx.client.iter_pages(soql, include_deleted=True):
        records = page.get("records") or []
        with transaction.atomic():
            ctx.guard()
            # R18: this user's links only, whatever Salesforce returned.
            known = {
                link.sf_id: link
                for link in TaskLink.objects.filter(
                    user=ctx.user, org_id=ctx.org_id, sf_id__in=[r["Id"] for r in records]
                )
                .exclude(state__in=[LinkState.RETIRED, LinkState.CREATING])
                .select_related("task")
            }
            linked = [r for r in records if r["Id"] in known]
            pull_mod.apply_page(ctx, linked, in_doubt=[])
            for record in linked:
                _queue_repair(ctx, known[record["Id"]], record)
            ctx.flush()


def _queue_repair(ctx: RunContext, link: TaskLink, record: dict) -> None:
    link.refresh_from_db()
    task = link.task
    task.refresh_from_db()
    if record.get("IsDeleted") or record.get("IsArchived"):
        return
    if link.state != LinkState.SYNCED and link.state != LinkState.FAILED:
        return  # deleted or reassigned just now by the apply above: nothing to repair
    if record.get("OwnerId") not in (None, ctx.sf_user_id):
        return  # R18: no longer this user's task
    remote = mapping.remote_snapshot(record)
    if task.deleted_at is not None:
        fields, operation = [], OutboxOperation.DELETE  # a local delete that never arrived
    else:
        local = mapping.local_snapshot(task)
        fields = [f for f in mapping.LOCAL_FIELDS if _differs(ctx, f, local, remote)]
        operation = OutboxOperation.UPDATE
        if not fields:
            return
    for field in fields:
        link.synced_local.pop(field, None)  # makes the push send it again
    link.synced_remote = remote
    link.save(update_fields=["synced_local", "synced_remote", "updated_at"])
    row, _ = OutboundChange.objects.get_or_create(
        task=task, defaults={"user": ctx.user, "operation": operation, "fields": fields}
    )
    if operation == OutboxOperation.UPDATE and row.operation == OutboxOperation.UPDATE:
        row.fields = sorted(set(row.fields) | set(fields))
    row.state, row.not_before, row.attempts = OutboxState.PENDING, None, 0
    row.save()
    ctx.pulled(
        task=task,
        sf_id=link.sf_id,
        action=EventAction.RESYNC_REPAIR,
        changes={f: [] for f in fields},
    )


def _differs(ctx: RunContext, field: str, local: dict, remote: dict) -> bool:
    remote_field = mapping.FIELD_MAP[field]
    if field == "name":
        if not mapping.template_has_name(ctx.template):
            return False  # R2: without the placeholder the Subject is never rewritten
        return (
            mapping.remote_value("name", local, template=ctx.template, statuses=ctx.statuses)
            != (remote[remote_field])
        )
    mapped = mapping.local_value(remote_field, remote, statuses=ctx.statuses)
    if mapped is mapping.NOT_MAPPED:
        # An unmapped Salesforce value (In Progress, Low) survives unless the local value is one
        # Salesforce can only show differently: a completed task, a high priority.
        return (field, local[field]) in {("status", "complete"), ("priority", "high")}
    return mapped != local[field]
