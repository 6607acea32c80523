"""Deletes (R6, R12): each answer settled; already deleted in Salesforce is the goal reached."""

from __future__ import annotations

from accounts.salesforce import errors
from tasksync.bulk.lookups import ids_in
from tasksync.models import EventAction, LinkState, OutboundChange, TaskLink
from tasksync.sync.context import RunContext
from tasksync.sync.push.settle import record_failure, result_problem


def settle_deletes(ctx: RunContext, batch, results) -> None:
    by_id = {r.get("id"): r for r in results if r.get("id")}
    done_links, done_rows = [], []
    for index, (row, link) in enumerate(batch):
        result = by_id.get(link.sf_id) or results[index]
        problem = None if result.get("success") else result_problem(result)
        if problem is None or isinstance(problem, errors.AlreadyDeleted):
            # R12: already deleted in Salesforce is the goal state reached.
            link.state = LinkState.LOCAL_DELETED
            link.last_synced_at = ctx.now()
            done_links.append(link)
            done_rows.append(row.pk)
            ctx.run.deleted += 1
            ctx.pushed(task_id=row.task_id, sf_id=link.sf_id, action=EventAction.DELETE)
        else:
            record_failure(ctx, row, link, problem, action=EventAction.DELETE)
    TaskLink.objects.filter(ids_in("pk", [link.pk for link in done_links])).update(
        state=LinkState.LOCAL_DELETED, last_synced_at=ctx.now()
    )
    OutboundChange.objects.filter(ids_in("pk", done_rows)).delete()
