"""Creates (R5, R10): the intent recorded before the call, in its own committed transaction,
and each answer settled."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from tasksync.bulk import insert_many
from tasksync.models import EventAction, LinkState, TaskLink
from tasksync.sync import mapping
from tasksync.sync.context import RunContext
from tasksync.sync.push.settle import (
    LINK_FIELDS,
    record_failure,
    result_problem,
    settle,
    write_links,
)

# R10: how long a create sent without an answer may still be running in Salesforce, and commit.
# Salesforce cancels a REST call that runs longer than 10 minutes ("Request Timeout", REST API
# Developer Guide: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
# errorcodes.htm); one minute of margin.
IN_FLIGHT_LIMIT = timedelta(minutes=11)


def create_intent(ctx: RunContext, batch) -> list[dict]:
    """R10: record the intent before the call, in its own committed transaction. If the worker
    dies or the response is lost, the link stays "in doubt" and the next pull matches it."""
    payloads, new_links, old_links = [], [], []
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    with transaction.atomic():
        ctx.guard()
        started = ctx.now()
        for i, (row, link) in enumerate(batch):
            values = mapping.local_snapshot(row.task)
            payload = mapping.create_payload(
                values, template=ctx.template, statuses=ctx.statuses, owner_id=ctx.sf_user_id
            )
            if link is None:
                link = TaskLink(task=row.task, user=ctx.user)
                new_links.append(link)
            else:
                old_links.append(link)
            _mark_creating(ctx, link, started)
            if key_field:
                link.create_key = link.create_key or uuid.uuid4().hex
                payload[key_field] = link.create_key
            link.synced_local, link.synced_remote = values, mapping.remote_snapshot(payload)
            batch[i] = (row, link)
            payloads.append(payload)
        insert_many(new_links)
        write_links(old_links, [*LINK_FIELDS, "create_started_at", "resend_after", "create_key"])
    return payloads


def _mark_creating(ctx: RunContext, link: TaskLink, started) -> None:
    link.org_id, link.sf_user_id = ctx.org_id, ctx.sf_user_id
    link.state = LinkState.CREATING
    link.create_started_at = started
    link.resend_after = started + IN_FLIGHT_LIMIT
    link.updated_at = started


def settle_creates(ctx: RunContext, batch, results) -> None:
    landed = []
    for (row, link), result in zip(batch, results, strict=True):
        link.create_started_at = link.resend_after = None
        if result.get("success"):
            link.sf_id = result["id"]
            link.state = LinkState.SYNCED
            link.last_synced_at = ctx.now()
            ctx.run.pushed += 1
            ctx.pushed(task=row.task, sf_id=link.sf_id, action=EventAction.CREATE)
            landed.append((row, link, None, None))
        else:
            # Salesforce answered for this record: it was not created.
            link.state = LinkState.FAILED
            record_failure(ctx, row, link, result_problem(result), action=EventAction.CREATE)
    write_links(
        [link for _, link in batch],
        ["sf_id", "state", "create_started_at", "resend_after", "last_synced_at"],
    )
    settle(landed, links_written=True)
