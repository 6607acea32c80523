"""Deletions a pull's queryAll can no longer see (R6, R7): the recycle bin was emptied, so they
are read from the delete log (sObject Get Deleted), and when that cannot be trusted, the linked
ids are reconciled with what Salesforce still has."""

from __future__ import annotations

import logging
from datetime import timedelta

from accounts.salesforce import errors
from accounts.salesforce.client import sf_datetime, soql_id
from tasksync.models import LinkState, TaskLink
from tasksync.sync import decide
from tasksync.sync import pull as pull_mod
from tasksync.sync.context import RunContext

logger = logging.getLogger(__name__)


def pull_deletions(
    ctx: RunContext, *, force: bool = False, window=None, answer: dict | None = None
) -> None:
    """Deletions queryAll can no longer see (recycle bin emptied), from sobjects/Task/deleted/:
    ``answer`` is its result as a subrequest of the pull's first call, else it is read here."""
    state = ctx.state
    if window is None:
        window = decide.deleted_log_window(state.deleted_watermark, ctx.sf_now(), force=force)
        if window is None:
            return
    start, now = window  # R16: on Salesforce's clock
    try:
        result = _delete_log(ctx, start, now, answer)
    except errors.RecordRejected as problem:
        logger.info("deleted/ refused (%s): reconciling ids instead", problem.code)
        reconcile_ids(ctx)
        state.deleted_watermark = now - timedelta(minutes=1)
        ctx.state_updates["deleted_watermark"] = state.deleted_watermark
        return
    ids = [item["id"] for item in result.get("deletedRecords") or []]
    pull_mod.apply_deleted_ids(ctx, ids)
    earliest = sf_datetime(result.get("earliestDateAvailable"))
    if earliest and earliest > start:
        # The delete log was purged past our start: some deletions may be missing. Reconcile.
        reconcile_ids(ctx)
    covered = sf_datetime(result.get("latestDateCovered"))
    state.deleted_watermark = covered or now
    ctx.state_updates["deleted_watermark"] = state.deleted_watermark


def _delete_log(ctx: RunContext, start, now, answer: dict | None) -> dict:
    """The delete log's result: the subrequest's ``answer`` when it rode in the pull's first call,
    else read now; a refused subrequest raises as its own call would."""
    if answer is None:
        return ctx.client.deleted(start, now)
    if answer.get("httpStatusCode") == 200:
        return answer.get("body") or {}
    raise ctx.client.subrequest_problem(answer)


def reconcile_ids(ctx: RunContext) -> None:
    """Ask Salesforce which linked ids still exist (queryAll sees deleted and archived ones);
    an id it no longer knows was deleted for good."""
    live_ids = list(
        TaskLink.objects.filter(
            user=ctx.user, org_id=ctx.org_id, state__in=[LinkState.SYNCED, LinkState.FAILED]
        )
        .exclude(sf_id__isnull=True)
        .values_list("sf_id", flat=True)
    )
    gone = []
    for start in range(0, len(live_ids), 200):
        chunk = live_ids[start : start + 200]
        soql = "SELECT Id, IsDeleted FROM Task WHERE Id IN ({})".format(
            ", ".join(soql_id(i) for i in chunk)
        )
        seen = set()
        for page in ctx.client.iter_pages(soql, include_deleted=True):
            for record in page.get("records") or []:
                if not record.get("IsDeleted"):
                    seen.add(record["Id"])
        gone += [i for i in chunk if i not in seen]
    pull_mod.apply_deleted_ids(ctx, gone)
