"""A rep covered by the feed pulls nothing on its own: before pushing, its run reads the records
it is about to write (R8, R19)."""

from __future__ import annotations

from django.db import transaction

from accounts.salesforce.client import soql_id
from tasksync.models import LinkState, OrgFeed, OutboxOperation, OutboxState, TaskLink
from tasksync.sync import pull as pull_mod
from tasksync.sync.context import RunContext
from tasksync.sync.pull.query import task_fields


def read_before_push(ctx: RunContext, feed: OrgFeed) -> None:
    """A rep covered by the feed pulls nothing on its own; before pushing, its run reads the
    records it is about to write, by id (R8: a Salesforce edit made since the feed's last pull
    is seen, and decided, before the push could overwrite it). One query per 200 ids; none when
    nothing is queued. In-doubt creates are matched by the feed's pulls (R10)."""
    ids = list(
        TaskLink.objects.filter(
            user=ctx.user,
            org_id=ctx.org_id,
            sf_id__isnull=False,
            task__outbound__state=OutboxState.PENDING,
            task__outbound__operation__in=[OutboxOperation.UPDATE, OutboxOperation.DELETE],
        )
        .exclude(state__in=[LinkState.RETIRED, LinkState.REASSIGNED])
        .values_list("sf_id", flat=True)
    )
    for start in range(0, len(ids), 200):
        chunk = ids[start : start + 200]
        soql = (
            f"SELECT {task_fields()} FROM Task WHERE Id IN ({', '.join(soql_id(i) for i in chunk)})"
        )
        for page in ctx.client.iter_pages(soql, include_deleted=True):
            with transaction.atomic():
                ctx.guard()
                pull_mod.apply_page(ctx, page.get("records") or [], in_doubt=[])
                ctx.flush()
    ctx.in_doubt_checked = feed.last_pull_started_at is not None
    ctx.in_doubt_checked_at = feed.last_pull_started_at
