"""The org's TaskStatus picklist in a cycle (R1): read once per org and day, riding in the pull's
first call (a resync reads it on its own), and the open and closed values this user's sync uses."""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils import timezone

from accounts.salesforce import errors
from tasksync.models import SyncState
from tasksync.sync import decide
from tasksync.sync.context import RunContext
from tasksync.sync.mapping import StatusMap

logger = logging.getLogger(__name__)

FIELDS = ("ApiName", "MasterLabel", "IsClosed", "IsDefault", "SortOrder")


def statuses_for(state: SyncState) -> StatusMap:
    """The Status values this user's sync writes: the ones picked from the org's picklist, else
    the configured ones."""
    return StatusMap(
        open=state.status_open_value or settings.SALESFORCE_STATUS_OPEN,
        complete=state.status_complete_value or settings.SALESFORCE_STATUS_COMPLETE,
    )


def picklist_subrequest(ctx: RunContext) -> dict | None:
    """The picklist subrequest for the pull's first call when the org's copy is a day old or was
    thrown away after a rejected status; None when the copy is fresh (and then it is used)."""
    org = ctx.connection.org
    if decide.picklist_due(org.task_statuses_at, timezone.now(), have_rows=bool(org.task_statuses)):
        return ctx.client.task_statuses_subrequest()
    use_statuses(ctx, org.task_statuses)
    return None


def first_answers(ctx: RunContext, answers: dict) -> None:
    """The pull's first call answered: the picklist subrequest's answer, if it rode along."""
    if "statuses" in answers:
        statuses_answered(ctx, answers["statuses"])


def statuses_answered(ctx: RunContext, result: dict) -> None:
    """The picklist subrequest's answer: kept for the org (R1), and this user's values picked.
    A refusal (no access to TaskStatus) keeps the values in use; the next cycle asks again."""
    if result.get("httpStatusCode") != 200:
        logger.info("TaskStatus picklist refused: %s", result.get("httpStatusCode"))
        return
    rows = [{k: r.get(k) for k in FIELDS} for r in (result.get("body") or {}).get("records") or []]
    org = ctx.connection.org
    org.task_statuses, org.task_statuses_at = rows, timezone.now()
    type(org).objects.filter(pk=org.pk).update(
        task_statuses=rows, task_statuses_at=org.task_statuses_at
    )
    use_statuses(ctx, rows)


def use_statuses(ctx: RunContext, rows) -> None:
    """R1 (beyond): this user's open default and closed value, from the org's picklist."""
    state = ctx.state
    configured = StatusMap(settings.SALESFORCE_STATUS_OPEN, settings.SALESFORCE_STATUS_COMPLETE)
    picked = decide.pick_statuses(rows or [], configured)
    if not rows or (state.status_open_value, state.status_complete_value) == (
        picked.open,
        picked.complete,
    ):
        return
    state.status_open_value, state.status_complete_value = picked.open, picked.complete
    state.save(update_fields=["status_open_value", "status_complete_value"])
    ctx.statuses = statuses_for(state)


def detect_statuses(ctx: RunContext) -> None:
    """R1 (beyond): the org's TaskStatus picklist (kept for a day per org) gives the open
    default and the closed value. Used by a resync; other cycles read it in their pull."""
    org = ctx.connection.org
    if not decide.picklist_due(
        org.task_statuses_at, timezone.now(), have_rows=bool(org.task_statuses)
    ):
        use_statuses(ctx, org.task_statuses)
        return
    try:
        rows = ctx.client.task_statuses()
    except errors.RecordRejected:
        return
    statuses_answered(ctx, {"httpStatusCode": 200, "body": {"records": rows}})
