"""What a queued local change becomes (R4, R5, R6, R10, R18), and settling a write whose answer
came back (R6, R11)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tasksync.sync import mapping
from tasksync.sync.decide.common import (
    CREATE,
    DELETE,
    LOCAL_DELETED,
    REASSIGNED,
    REMOTE_DELETED,
    RETIRED,
    UPDATE,
    Queued,
)


class PushAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    DROP = "drop"  # nothing to do in Salesforce: the row goes
    DROP_NEVER_LANDED = "drop_never_landed"  # deleted before an in-doubt create could land
    WAIT = "wait"  # the pull must resolve an in-doubt create first


@dataclass(frozen=True)
class Link:
    """What push needs of a task's link (None when the task was never sent)."""

    state: str
    has_sf_id: bool
    create_sent: bool  # a create was sent and never confirmed (in doubt)
    create_cannot_land: bool  # ... and it can no longer commit, and the pull did not find it


def queued(row: Queued, link: Link | None) -> PushAction:
    """What a task's outbox row becomes in this push.

    - R6: a delete of a task Salesforce has is sent; of one it never got, dropped; of an in-doubt
      create, dropped once the create can no longer land, else it waits for the pull.
    - R18/R6: a task that left this user's sync (reassigned, deleted in Salesforce) sends nothing.
    - R10: an in-doubt create is sent again only once the earlier request can no longer commit
      and the pull did not find it; an update of it waits.
    """
    if link is not None and link.state in (REASSIGNED, REMOTE_DELETED, RETIRED):
        return PushAction.DROP
    if row.operation == DELETE:
        if link is not None and link.has_sf_id:
            return PushAction.DELETE if link.state != LOCAL_DELETED else PushAction.DROP
        if link is None or not link.create_sent:
            return PushAction.DROP  # never reached Salesforce: nothing to delete there
        return PushAction.DROP_NEVER_LANDED if link.create_cannot_land else PushAction.WAIT
    if link is not None and link.has_sf_id:
        return PushAction.UPDATE if link.state != LOCAL_DELETED else PushAction.DROP
    may_send = link is None or not link.create_sent or link.create_cannot_land
    if row.operation == CREATE and may_send:
        return PushAction.CREATE
    return PushAction.WAIT


def update_fields(row_fields, local: dict, synced_local: dict) -> list[str]:
    """R1: the fields of a queued update that still differ from what Salesforce last agreed."""
    return [f for f in row_fields or mapping.LOCAL_FIELDS if local[f] != synced_local.get(f)]


class SettleAction(StrEnum):
    NONE = "none"  # the row is gone already
    DROP = "drop"  # everything queued has landed
    KEEP = "keep"  # a newer change stays queued


@dataclass(frozen=True)
class Settle:
    action: SettleAction
    operation: str = ""
    fields: tuple = ()


def settled(now: Queued | None, *, local: dict, synced_local: dict) -> Settle:
    """A write landed; ``now`` is the task's outbox row as it is now (re-read under a lock),
    ``synced_local`` what both sides agree on after the write.

    R6: the operation is compared first: a delete saved while the call was on the wire stays
    queued as a delete, whatever the fields say. R11: an edit saved meanwhile stays queued with
    the fields that still differ; otherwise the row goes."""
    if now is None:
        return Settle(SettleAction.NONE)
    if now.operation == DELETE:
        return Settle(SettleAction.KEEP, DELETE, ())
    remaining = tuple(
        f
        for f in mapping.LOCAL_FIELDS
        if local[f] != synced_local.get(f) and f in (now.fields or mapping.LOCAL_FIELDS)
    )
    if remaining:
        return Settle(SettleAction.KEEP, UPDATE, remaining)
    return Settle(SettleAction.DROP)
