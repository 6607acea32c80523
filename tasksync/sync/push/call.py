"""One packed call (R6, R10, R11, R13): creates record their intent first; then the call, with
no transaction open; then every answer settles in one transaction against the rows as they are
now."""

from __future__ import annotations

from django.db import transaction

from accounts.salesforce import errors
from accounts.salesforce.client import COLLECTION_LIMIT
from tasksync.models import TaskLink
from tasksync.sync.context import RunContext
from tasksync.sync.push.creates import create_intent, settle_creates
from tasksync.sync.push.deletes import settle_deletes
from tasksync.sync.push.settle import back_off
from tasksync.sync.push.updates import settle_updates

KINDS = ("create", "update", "delete")


def push_call(ctx: RunContext, parts) -> None:
    """One packed call. Creates record their intent first, in their own committed transaction
    (R10); then the call, with no transaction open; then every answer settles in one
    transaction against the rows as they are now (R6, R11). A lone collection goes as the plain
    sObject Collections call it is; more parts go as one Composite call."""
    picked = {kind: [] for kind in KINDS}
    for part, items in parts:
        picked[part.kind] += items
    creates = picked["create"]
    payloads = create_intent(ctx, creates) if creates else []
    wire = _wire(parts, payloads)
    everything = creates + [(row, link) for row, link, *_ in picked["update"]] + picked["delete"]
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
    if results is not None:
        _settle_answers(ctx, picked, wire, results)


def _wire(parts, payloads) -> list[tuple]:
    """Each part's records (payloads or ids), in the order sent."""
    offsets = dict.fromkeys(KINDS, 0)
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
    return wire


def _settle_answers(ctx: RunContext, picked, wire, results) -> None:
    by_kind = {kind: [] for kind in KINDS}
    for (kind, _, _), answer in zip(wire, results, strict=True):
        by_kind[kind] += answer
    with transaction.atomic():
        ctx.guard()
        if picked["create"]:
            settle_creates(ctx, picked["create"], by_kind["create"])
        if picked["update"]:
            settle_updates(ctx, picked["update"], by_kind["update"])
        if picked["delete"]:
            settle_deletes(ctx, picked["delete"], by_kind["delete"])
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


def _send(ctx: RunContext, batch, call):
    """Make one call. A transient failure backs the batch off; anything that stops the whole
    run (reconnect, over limit) propagates. Returns each part's results."""
    try:
        results = call() or []
    except errors.Transient as problem:
        with transaction.atomic():
            ctx.guard()
            for row, _ in batch:
                back_off(ctx, row, problem)
            ctx.flush()
        raise
    if sum(len(answer or []) for answer in results) != len(batch):
        raise errors.Transient("Salesforce returned an unexpected number of results.")
    return results
