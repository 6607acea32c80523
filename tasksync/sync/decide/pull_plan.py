"""What a pulled record means for its pair (R1, R2, R6, R8, R9, R15, R18), and when the delete
log is read (R6, R7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from tasksync.models.sync import Winner
from tasksync.sync import mapping
from tasksync.sync.decide.common import (
    CREATING,
    DELETE,
    DELETED_STATES,
    REASSIGNED,
    RETIRED,
    UPDATE,
    Queued,
    winner,
)
from tasksync.sync.mapping import NOT_MAPPED, StatusMap


@dataclass(frozen=True)
class Remote:
    """One Salesforce Task as read by a pull."""

    id: str
    snapshot: dict
    owner_id: str | None
    deleted: bool
    archived: bool
    last_modified: datetime | None

    @classmethod
    def from_record(cls, record: dict, *, parse) -> Remote:
        return cls(
            id=record["Id"],
            snapshot=mapping.remote_snapshot(record),
            owner_id=record.get("OwnerId"),
            deleted=bool(record.get("IsDeleted")),
            archived=bool(record.get("IsArchived")),
            last_modified=parse(record.get("LastModifiedDate")),
        )


@dataclass(frozen=True)
class Pair:
    """A link and its local task as they are now, read under a lock."""

    state: str
    synced_local: dict
    synced_remote: dict
    local: dict  # mapping.local_snapshot of the task
    local_deleted: bool
    changed_at: dict  # local field -> when it last changed here, on Salesforce's clock
    queued: Queued | None = None


@dataclass(frozen=True)
class Conflict:
    field: str
    local_value: object
    remote_value: object
    local_at: datetime | None
    remote_at: datetime | None
    winner: Winner


class PullAction(StrEnum):
    SKIP = "skip"
    UPDATE = "update"  # fields and/or the agreed values change
    REMOTE_DELETE = "delete"
    RESTORE = "undelete"
    REASSIGNED_AWAY = "reassigned"
    EDIT_MEETS_DELETE = "edit_meets_delete"


@dataclass(frozen=True)
class PullPlan:
    action: PullAction
    updates: dict = field(default_factory=dict)  # local field -> new value (snapshot form)
    synced_local: dict | None = None
    synced_remote: dict | None = None
    conflicts: tuple[Conflict, ...] = ()
    drop_queued: bool = False  # the outbox row goes
    drop_fields: tuple = ()  # fields Salesforce won: taken out of a queued update
    reassigned_back: bool = False

    @property
    def changes(self) -> dict:
        return dict(self.updates)


SKIP = PullPlan(PullAction.SKIP)


def is_quiet(remote: Remote, *, state: str, synced_remote: dict, me: str) -> bool:
    """True when the record can change nothing for this pair, whatever the local side holds:
    archived (R15), an in-doubt create (the match decides it), a deletion already known, a task
    another owner holds that was already let go (R18), or content equal to what was last synced
    (R9: our own write coming back, or automation that only bumped SystemModstamp)."""
    if remote.archived and not remote.deleted:
        return True
    if state in (CREATING, RETIRED):
        return True
    owned = remote.owner_id in (None, me)
    if state == REASSIGNED:
        return remote.deleted or not owned
    if remote.deleted:
        return state in DELETED_STATES
    if not owned:
        return state in DELETED_STATES
    if state in DELETED_STATES:
        return False  # restored from the recycle bin
    return all(remote.snapshot[f] == synced_remote.get(f) for f in mapping.REMOTE_FIELDS)


def pulled(remote: Remote, pair: Pair, *, me: str, statuses: StatusMap) -> PullPlan:
    """What one pulled Salesforce record means for its linked pair.

    - R15: an archived task is neither an edit nor a deletion.
    - R18: a task now owned by someone else leaves this user's sync (reassigned away); one that
      comes back to them returns like a restore.
    - R6: a deletion tombstones the local task; a queued local edit that meets it is a conflict
      the delete wins. A restore from the recycle bin returns the pair to normal sync with
      Salesforce's values. An edit that meets a queued local delete is a conflict; the delete
      stands.
    - R8: fields changed on both sides since the last sync are conflicts; the later change wins,
      a tie goes to Salesforce. Different fields merge.
    - R9: content equal to what was last synced is no change.
    """
    if is_quiet(remote, state=pair.state, synced_remote=pair.synced_remote, me=me):
        return SKIP
    if pair.state == REASSIGNED:
        return _restore(remote, pair, statuses=statuses, reassigned_back=True)
    if remote.owner_id not in (None, me):
        return PullPlan(PullAction.REASSIGNED_AWAY, drop_queued=pair.queued is not None)
    if remote.deleted:
        return remote_deleted(pair, removed_at=remote.last_modified)
    if pair.state in DELETED_STATES:
        return _restore(remote, pair, statuses=statuses)
    return _merge(remote, pair, statuses=statuses)


def remote_deleted(pair: Pair, *, removed_at: datetime | None) -> PullPlan:
    """R6: Salesforce deleted the task (seen by a pull, the delete log, or an edit's answer): the
    local task goes; a queued local edit that meets the delete is a conflict the delete wins."""
    if pair.state in DELETED_STATES:
        return SKIP
    conflicts = ()
    if pair.queued is not None and pair.queued.operation == UPDATE:
        conflicts = tuple(
            Conflict(
                field=f,
                local_value=pair.local.get(f),
                remote_value=None,
                local_at=pair.changed_at.get(f),
                remote_at=removed_at,
                winner=Winner.SALESFORCE,
            )
            for f in pair.queued.fields or mapping.LOCAL_FIELDS
            if pair.local.get(f) != pair.synced_local.get(f)
        )
    return PullPlan(
        PullAction.REMOTE_DELETE, conflicts=conflicts, drop_queued=pair.queued is not None
    )


def _restore(remote: Remote, pair: Pair, *, statuses: StatusMap, reassigned_back=False):
    """R6/R18: back from the recycle bin (or back to this owner): Salesforce's values, synced."""
    local = dict(pair.local)
    for local_field, remote_field in mapping.FIELD_MAP.items():
        value = mapping.local_value(remote_field, remote.snapshot, statuses=statuses)
        if value is NOT_MAPPED:
            if local_field == "name" and "name" in pair.synced_local:
                # R2: the Subject never renames a task; the name both sides last agreed on goes
                # with Salesforce's Subject (a rename that lost to the delete stays lost).
                local["name"] = pair.synced_local["name"]
            continue
        local[local_field] = value
    updates = {f: v for f, v in local.items() if v != pair.local.get(f)}
    return PullPlan(
        PullAction.RESTORE,
        updates=updates,
        synced_local=local,
        synced_remote=dict(remote.snapshot),
        drop_queued=pair.queued is not None,
        reassigned_back=reassigned_back,
    )


def _merge(remote: Remote, pair: Pair, *, statuses: StatusMap) -> PullPlan:
    changed = [f for f in mapping.REMOTE_FIELDS if remote.snapshot[f] != pair.synced_remote.get(f)]
    synced_remote = {**pair.synced_remote, **{f: remote.snapshot[f] for f in changed}}
    if pair.queued is not None and pair.queued.operation == DELETE:
        return _edit_meets_delete(remote, synced_remote)
    updates, synced_local, conflicts = _merge_fields(remote, pair, changed, statuses=statuses)
    drop_fields = ()
    if pair.queued is not None and pair.queued.operation == UPDATE:
        # Salesforce's value won for these fields: the older local value must not be pushed.
        drop_fields = tuple(f for f in updates if f in (pair.queued.fields or updates))
    return PullPlan(
        PullAction.UPDATE,
        updates=updates,
        synced_local=synced_local,
        synced_remote=synced_remote,
        conflicts=conflicts,
        drop_fields=drop_fields,
    )


def _edit_meets_delete(remote: Remote, synced_remote: dict) -> PullPlan:
    """R6: a Salesforce edit meets a queued local delete: a conflict the delete wins."""
    conflict = Conflict(
        field="deleted",
        local_value=True,
        remote_value=False,
        local_at=None,
        remote_at=remote.last_modified,
        winner=Winner.LOCAL,
    )
    # Remembered as seen, so a delete that has to wait is not recorded again each poll.
    return PullPlan(
        PullAction.EDIT_MEETS_DELETE, synced_remote=synced_remote, conflicts=(conflict,)
    )


def _merge_fields(
    remote: Remote, pair: Pair, changed: list[str], *, statuses: StatusMap
) -> tuple[dict, dict, tuple[Conflict, ...]]:
    """R8: the fields Salesforce changed, merged with the local side: returns the local updates,
    the new agreed local values, and the conflicts (fields changed on both sides)."""
    synced_local = dict(pair.synced_local)
    updates, conflicts = {}, []
    for remote_field in changed:
        local_field = mapping.REMOTE_TO_LOCAL[remote_field]
        new = mapping.local_value(remote_field, remote.snapshot, statuses=statuses)
        if new is NOT_MAPPED:
            continue  # R1 unmapped status or Low priority, R2 Subject: nothing changes here
        current = pair.local[local_field]
        if current == new:
            synced_local[local_field] = new
            continue
        if current != pair.synced_local.get(local_field):
            local_at = pair.changed_at.get(local_field)
            won = winner(local_at, remote.last_modified)
            conflicts.append(
                Conflict(local_field, current, new, local_at, remote.last_modified, won)
            )
            if won == Winner.LOCAL:
                continue  # the local value stays queued and is pushed
        updates[local_field] = new
        synced_local[local_field] = new
    return updates, synced_local, tuple(conflicts)


DELETED_LOG_DAYS = 15  # R7, sObject Get Deleted: the delete log covers 15 days
DELETED_CHECK_EVERY = timedelta(minutes=5)


def deleted_log_window(
    watermark: datetime | None, now: datetime, *, force: bool = False
) -> tuple[datetime, datetime] | None:
    """R6, R7: the window of the delete log to read now, or None when it is not due (read at
    most every 5 minutes, never more than 15 days back; ``force`` after a long absence)."""
    floor = now - timedelta(days=DELETED_LOG_DAYS) + timedelta(minutes=5)
    start = max(watermark or floor, floor)
    if not force and now - start < DELETED_CHECK_EVERY:
        return None
    return start, now
