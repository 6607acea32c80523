"""Local → Salesforce: send the outbox through sObject Collections, up to 1,000 records a call
(five collections of 200 in one Composite call; R5, R10, R13)."""

from __future__ import annotations

import logging
import random
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.salesforce import errors
from accounts.salesforce.client import COLLECTION_LIMIT
from tasksync.bulk import insert_many, update_many
from tasksync.models import (
    EventAction,
    LinkState,
    OutboundChange,
    OutboxState,
    TaskLink,
)
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext
from tasksync.sync.decide import PushAction, SettleAction
from tasksync.sync.pull import apply_remote_delete, lock_local_state

logger = logging.getLogger(__name__)

# R10: how long a create sent without an answer may still be running in Salesforce, and commit.
# Salesforce cancels a REST call that runs longer than 10 minutes ("Request Timeout", REST API
# Developer Guide: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/
# errorcodes.htm); one minute of margin.
IN_FLIGHT_LIMIT = timedelta(minutes=11)


def backoff(attempts: int) -> timedelta:
    """R11/R12: the delay before the next try of a transient failure (``decide.backoff``)."""
    return decide.backoff(attempts, jitter=random.random())


def push(ctx: RunContext) -> None:
    """Send this user's due outbox rows: what each becomes is ``decide.queued``'s call."""
    rows = list(
        OutboundChange.objects.filter(user=ctx.user, state=OutboxState.PENDING)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=ctx.now()))
        .select_related("task")
        .order_by("queued_at", "pk")
    )
    links = {
        link.task_id: link
        for link in TaskLink.objects.filter(
            user=ctx.user, task_id__in=[r.task_id for r in rows]
        ).exclude(state=LinkState.RETIRED)
    }
    creates, updates, deletes, drops, never_landed = [], [], [], [], []
    for row in rows:
        link = links.get(row.task_id)
        if link is not None and (link.org_id, link.sf_user_id) != (ctx.org_id, ctx.sf_user_id):
            drops.append(row.pk)  # R17: nothing is pushed into another identity's tasks
            continue
        queued = decide.Queued(row.operation, tuple(row.fields or ()))
        action = decide.queued(queued, _view(ctx, link))
        if action == PushAction.CREATE:
            creates.append((row, link))
        elif action == PushAction.UPDATE:
            updates.append((row, link))
        elif action == PushAction.DELETE:
            deletes.append((row, link))
        elif action == PushAction.DROP:
            drops.append(row.pk)
        elif action == PushAction.DROP_NEVER_LANDED:
            never_landed.append((row, link))
        # WAIT: an in-doubt create (or an update or delete of one) waits for the pull (R10).
    if creates or updates or deletes or drops or never_landed:
        ctx.save_run()  # the run shows while its push is on the wire
    if drops or never_landed:
        with transaction.atomic():
            ctx.guard()
            OutboundChange.objects.filter(pk__in=drops + [r.pk for r, _ in never_landed]).delete()
            # Its create is no longer running and this run's pull did not find it: it never
            # landed, so there is nothing to delete.
            TaskLink.objects.filter(pk__in=[link.pk for _, link in never_landed]).update(
                state=LinkState.LOCAL_DELETED, create_started_at=None, resend_after=None
            )
    sendable = _update_payloads(ctx, updates)
    # R13: as few calls as Composite's limits allow (decide.pack_push); pushes wait (stay
    # queued) once the org reaches its API budget share.
    kinds = {"create": creates, "update": sendable, "delete": deletes}
    for parts in decide.pack_push({kind: len(items) for kind, items in kinds.items()}):
        ctx.check_budget()
        _push_call(ctx, [(part, kinds[part.kind][part.start : part.stop]) for part in parts])


def _view(ctx: RunContext, link) -> decide.Link | None:
    if link is None:
        return None
    return decide.Link(
        state=link.state,
        has_sf_id=bool(link.sf_id),
        create_sent=link.create_started_at is not None,
        create_cannot_land=_create_cannot_land(ctx, link),
    )


def _create_cannot_land(ctx: RunContext, link) -> bool:
    """The in-doubt create's request is over, and the pull of this run, which started after
    that, would have found what it committed (a resync's read does not look for it)."""
    checked_at = ctx.in_doubt_checked_at or ctx.run.started_at
    return (
        ctx.in_doubt_checked and link.resend_after is not None and link.resend_after <= checked_at
    )


# --- one call: creates, updates and deletes ---------------------------------------------------


def _push_call(ctx: RunContext, parts) -> None:
    """One packed call. Creates record their intent first, in their own committed transaction
    (R10); then the call, with no transaction open; then every answer settles in one
    transaction against the rows as they are now (R6, R11). A lone collection goes as the plain
    sObject Collections call it is; more parts go as one Composite call."""
    picked = {"create": [], "update": [], "delete": []}
    for part, items in parts:
        picked[part.kind] += items
    creates, updates, deletes = picked["create"], picked["update"], picked["delete"]
    payloads = _create_intent(ctx, creates) if creates else []
    # Each part's records (payloads or ids), in the order sent.
    offsets = {"create": 0, "update": 0, "delete": 0}
    wire = []
    for part, items in parts:
        at = offsets[part.kind]
        offsets[part.kind] += len(items)
        if part.kind == "create":
            records = payloads[at : at + len(items)]
        elif part.kind == "update":
            records = [{"id": link.sf_id, **payload} for _, link, _, _, payload in items]
        else:
            records = [link.sf_id for _, link in items]
        wire.append((part.kind, part.single, records))
    everything = creates + [(row, link) for row, link, *_ in updates] + deletes
    try:
        results = _send(ctx, everything, lambda: _write(ctx, wire))
    except errors.SalesforceProblem as problem:
        if creates and problem.status is not None:
            # Salesforce answered (an error): the request is over, and whatever it committed is
            # visible to the next pull. The create may be sent again after that pull.
            TaskLink.objects.filter(pk__in=[link.pk for _, link in creates]).update(
                resend_after=ctx.now()
            )
        raise
    if results is None:
        return
    by_kind = {"create": [], "update": [], "delete": []}
    for (kind, _, _), answer in zip(wire, results, strict=True):
        by_kind[kind] += answer
    with transaction.atomic():
        ctx.guard()
        if creates:
            _settle_creates(ctx, creates, by_kind["create"])
        if updates:
            _settle_updates(ctx, updates, by_kind["update"])
        if deletes:
            _settle_deletes(ctx, deletes, by_kind["delete"])
        ctx.flush()


def _write(ctx: RunContext, wire) -> list[list[dict]]:
    client = ctx.client
    if len(wire) == 1 and len(wire[0][2]) <= COLLECTION_LIMIT:
        kind, _, records = wire[0]
        if kind == "create":
            return [client.create_many(records)]
        if kind == "update":
            return [client.update_many(records)]
        return [client.delete_many(records)]
    answers = client.write_composite(wire)
    for (_, _, records), answer in zip(wire, answers, strict=True):
        if len(answer) != len(records):
            raise errors.Transient("Salesforce returned an unexpected number of results.")
    return answers


# --- creates ---------------------------------------------------------------------------------


def _create_intent(ctx: RunContext, batch) -> list[dict]:
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
            link.org_id, link.sf_user_id = ctx.org_id, ctx.sf_user_id
            link.state = LinkState.CREATING
            link.create_started_at = started
            link.resend_after = started + IN_FLIGHT_LIMIT
            if key_field:
                link.create_key = link.create_key or uuid.uuid4().hex
                payload[key_field] = link.create_key
            link.synced_local, link.synced_remote = values, mapping.remote_snapshot(payload)
            link.updated_at = started
            batch[i] = (row, link)
            payloads.append(payload)
        insert_many(new_links)
        _write_links(old_links, [*_LINK_FIELDS, "create_started_at", "resend_after", "create_key"])
    return payloads


def _settle_creates(ctx: RunContext, batch, results) -> None:
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
            _record_failure(ctx, row, link, _result_problem(result), action=EventAction.CREATE)
    _write_links(
        [link for _, link in batch],
        ["sf_id", "state", "create_started_at", "resend_after", "last_synced_at"],
    )
    _settle(landed, links_written=True)


# --- updates ---------------------------------------------------------------------------------


def _update_payloads(ctx: RunContext, batch) -> list:
    """The updates with something to send, as (row, link, values, fields, payload); those left
    with nothing to send (what is queued is what Salesforce has) settle at once."""
    sendable, nothing_to_send = [], []
    for row, link in batch:
        values = mapping.local_snapshot(row.task)
        fields = decide.update_fields(row.fields, values, link.synced_local)
        payload = mapping.update_payload(
            values, fields, template=ctx.template, statuses=ctx.statuses
        )
        if not payload:
            nothing_to_send.append((row, link, values, fields))
            continue
        sendable.append((row, link, values, fields, payload))
    if nothing_to_send:
        with transaction.atomic():
            ctx.guard()
            _settle(nothing_to_send)
    return sendable


def _settle_updates(ctx: RunContext, sendable, results) -> None:
    landed, met_delete = [], []
    for (row, link, values, fields, payload), result in zip(sendable, results, strict=True):
        if result.get("success"):
            link.synced_remote.update(mapping.remote_snapshot({**link.synced_remote, **payload}))
            ctx.run.pushed += 1
            ctx.pushed(
                task=row.task,
                sf_id=link.sf_id,
                action=EventAction.UPDATE,
                changes={f: [link.synced_local.get(f), values[f]] for f in fields},
            )
            landed.append((row, link, values, fields))
            continue
        problem = _result_problem(result)
        if isinstance(problem, errors.AlreadyDeleted):
            met_delete.append(link)
            continue
        _record_failure(ctx, row, link, problem, action=EventAction.UPDATE)
    _settle(landed)
    _apply_remote_deletes(ctx, met_delete)


# --- deletes ---------------------------------------------------------------------------------


def _settle_deletes(ctx: RunContext, batch, results) -> None:
    by_id = {r.get("id"): r for r in results if r.get("id")}
    done_links, done_rows = [], []
    for index, (row, link) in enumerate(batch):
        result = by_id.get(link.sf_id) or results[index]
        problem = None if result.get("success") else _result_problem(result)
        if problem is None or isinstance(problem, errors.AlreadyDeleted):
            # R12: already deleted in Salesforce is the goal state reached.
            link.state = LinkState.LOCAL_DELETED
            link.last_synced_at = ctx.now()
            done_links.append(link)
            done_rows.append(row.pk)
            ctx.run.deleted += 1
            ctx.pushed(task=row.task, sf_id=link.sf_id, action=EventAction.DELETE)
        else:
            _record_failure(ctx, row, link, problem, action=EventAction.DELETE)
    TaskLink.objects.filter(pk__in=[link.pk for link in done_links]).update(
        state=LinkState.LOCAL_DELETED, last_synced_at=ctx.now()
    )
    OutboundChange.objects.filter(pk__in=done_rows).delete()


# --- shared ----------------------------------------------------------------------------------


def _send(ctx: RunContext, batch, call):
    """Make one call. A transient failure backs the batch off; anything that stops the whole
    run (reconnect, over limit) propagates. Returns each part's results."""
    try:
        results = call() or []
    except errors.Transient as problem:
        with transaction.atomic():
            ctx.guard()
            for row, _ in batch:
                _back_off(ctx, row, problem)
            ctx.flush()
        raise
    if sum(len(answer or []) for answer in results) != len(batch):
        raise errors.Transient("Salesforce returned an unexpected number of results.")
    return results


def _result_problem(result: dict) -> errors.SalesforceProblem:
    errs = result.get("errors") or [{"statusCode": "UNKNOWN", "message": "unknown error"}]
    return errors.classify_record_error(errs[0])


def _write_links(links, fields) -> None:
    """Save these fields of many existing links in one statement."""
    update_many(links, fields)


_LINK_FIELDS = ["org_id", "sf_user_id", "state", "synced_local", "synced_remote", "updated_at"]


def _settle(items, *, links_written: bool = False) -> None:
    """These pushes landed: record what both sides now agree on, and let ``decide.settled`` say
    what becomes of each task's outbox row as it is *now* (R6, R11): a delete or an edit saved
    while the call was on the wire stays queued. ``items`` are (row, link, values, fields);
    values None means "the whole task as sent" (a create).

    Tasks and rows are re-read under a lock; three statements for the batch, whatever its size."""
    if not items:
        return
    tasks, rows = lock_local_state([i[0].task_id for i in items])
    now = timezone.now()
    links, drop, keep = [], [], []
    for row, link, values, fields in items:
        current = rows.get(row.task_id)
        if values is not None:
            for field in fields:
                link.synced_local[field] = values[field]
            # A name that does not travel (R2 without the placeholder) counts as synced.
            if "name" in fields or (current and "name" in (current.fields or [])):
                link.synced_local["name"] = values["name"]
        link.state = LinkState.SYNCED
        link.updated_at = now
        links.append(link)
        task = tasks.get(row.task_id)
        if current is None or task is None:
            continue
        verdict = decide.settled(
            decide.Queued(current.operation, tuple(current.fields or ())),
            local=mapping.local_snapshot(task),
            synced_local=link.synced_local,
        )
        if verdict.action == SettleAction.KEEP:
            current.operation = verdict.operation
            current.fields = list(verdict.fields)
            current.state = OutboxState.PENDING
            current.not_before = None
            keep.append(current)
        elif verdict.action == SettleAction.DROP:
            drop.append(current.pk)
    if not links_written:
        _write_links(links, _LINK_FIELDS)
    OutboundChange.objects.filter(pk__in=drop).delete()
    OutboundChange.objects.bulk_update(keep, ["operation", "fields", "state", "not_before"])


def _apply_remote_deletes(ctx, links) -> None:
    """R6: these edits met a deletion made in Salesforce; the delete stands."""
    if not links:
        return
    tasks, rows = lock_local_state([link.task_id for link in links])
    for link in links:
        link.task = tasks[link.task_id]
        apply_remote_delete(ctx, link, rows.get(link.task_id))


def _record_failure(ctx, row, link, problem, *, action) -> None:
    if isinstance(problem, errors.Transient):
        _back_off(ctx, row, problem)
        return
    # R11/R12: this record is marked failed with Salesforce's message; the rest goes on.
    if decide.status_rejected(problem.code, getattr(problem, "fields", ()), problem.message):
        # R1: the org's picklist changed: its kept copy goes, the next pull reads it again.
        type(ctx.connection.org).objects.filter(pk=ctx.connection.org_id).update(
            task_statuses_at=None
        )
    row.state = OutboxState.FAILED
    row.attempts += 1
    row.last_error = problem.message
    row.last_error_code = problem.code
    row.save(update_fields=["state", "attempts", "last_error", "last_error_code"])
    if link is not None and link.sf_id:
        link.state = LinkState.FAILED
        link.save(update_fields=["state"])
    ctx.run.failed += 1
    ctx.pushed(
        task=row.task,
        sf_id=link.sf_id if link else "",
        action=action,
        ok=False,
        message=f"{problem.code}: {problem.message}" if problem.code else problem.message,
    )


def _back_off(ctx, row, problem) -> None:
    """R11: a transient failure is retried with capped back-off for a day before the change is
    marked failed; meanwhile the user sees it retrying, with the last error."""
    now = ctx.now()
    row.attempts += 1
    row.last_error = problem.message
    row.last_error_code = problem.code
    row.failing_since = row.failing_since or now
    if decide.gives_up(row.failing_since, now):
        row.state = OutboxState.FAILED  # surfaced to the user and admins (R11)
        ctx.run.failed += 1
    else:
        row.not_before = now + backoff(row.attempts)
    row.save(
        update_fields=[
            "attempts",
            "last_error",
            "last_error_code",
            "failing_since",
            "not_before",
            "state",
        ]
    )
