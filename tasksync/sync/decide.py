"""The sync's decisions, as pure functions: no database, no HTTP, no clock.

Pull and push read the state they need (under a lock), hand it here, and apply the plan that
comes back. Each function's docstring names the rule it decides. Times passed in are already on
Salesforce's clock (R16): local times are translated with the measured skew by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from accounts.salesforce import retry
from tasksync.models.sync import LinkState, OutboxOperation, Winner
from tasksync.sync import mapping
from tasksync.sync.mapping import NOT_MAPPED, StatusMap


def winner(local_at: datetime | None, remote_at: datetime | None) -> Winner:
    """R8: the later change wins; a tie (or an unknown time) goes to Salesforce."""
    if local_at and remote_at and local_at > remote_at:
        return Winner.LOCAL
    return Winner.SALESFORCE


# The enums only: nothing here touches the database.
CREATING, SYNCED = LinkState.CREATING, LinkState.SYNCED
REMOTE_DELETED, LOCAL_DELETED = LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED
REASSIGNED, RETIRED = LinkState.REASSIGNED, LinkState.RETIRED
DELETED_STATES = (REMOTE_DELETED, LOCAL_DELETED)
CREATE, UPDATE, DELETE = OutboxOperation.CREATE, OutboxOperation.UPDATE, OutboxOperation.DELETE


# --- what a pulled record means for its pair (R1, R2, R6, R8, R9, R15, R18) -----------------


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
class Queued:
    """The task's outbox row: a local change not yet in Salesforce."""

    operation: str
    fields: tuple = ()


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
    drop_fields = ()
    if pair.queued is not None and pair.queued.operation == UPDATE:
        # Salesforce's value won for these fields: the older local value must not be pushed.
        drop_fields = tuple(f for f in updates if f in (pair.queued.fields or updates))
    return PullPlan(
        PullAction.UPDATE,
        updates=updates,
        synced_local=synced_local,
        synced_remote=synced_remote,
        conflicts=tuple(conflicts),
        drop_fields=drop_fields,
    )


# --- in-doubt creates (R10, R16) --------------------------------------------------------------


@dataclass(frozen=True)
class InDoubt:
    """A create we sent and never saw confirmed."""

    key: int  # the link's primary key
    started_at: datetime  # when it was sent, on Salesforce's clock
    sent: dict  # the remote snapshot of what was sent
    create_key: str = ""


@dataclass(frozen=True)
class Candidate:
    """A record this connection created that no link of this user knows."""

    id: str
    snapshot: dict
    created_at: datetime
    key_value: str | None = None


IN_DOUBT_MARGIN = timedelta(minutes=1)


def match_in_doubt(
    candidates: list[Candidate], in_doubt: list[InDoubt], *, by_key: bool
) -> dict[str, int]:
    """R10: which unknown records are our creates whose answers were lost.

    With a key field (SALESFORCE_TASK_EXTERNAL_ID_FIELD) the key alone decides: a task the rep
    typed in Salesforce is never taken for one of ours. Without it: a record created after we
    sent (both on Salesforce's clock, a minute of margin) with the same content; failing that
    the same Subject (automation may have set another field meanwhile). Each kind of match is
    made across all candidates before the next, so two creates of one Subject are never swapped.
    Returns {Salesforce id: link key}."""
    waiting = list(in_doubt)
    matched: dict[str, int] = {}
    if by_key:
        rules = [lambda c, d: bool(d.create_key) and c.key_value == d.create_key]
    else:
        rules = [
            lambda c, d: c.snapshot == d.sent,
            lambda c, d: c.snapshot["Subject"] == d.sent.get("Subject"),
        ]
    for same in rules:
        for candidate in candidates:
            if not waiting:
                return matched
            if candidate.id in matched:
                continue
            found = next(
                (
                    d
                    for d in waiting
                    if (by_key or candidate.created_at >= d.started_at - IN_DOUBT_MARGIN)
                    and same(candidate, d)
                ),
                None,
            )
            if found is not None:
                waiting.remove(found)
                matched[candidate.id] = found.key
    return matched


# --- what a queued local change becomes (R4, R5, R6, R10, R18) -------------------------------


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


# --- settling a write whose answer came back (R6, R11) ---------------------------------------


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


# --- transient failures (R11, R12) -----------------------------------------------------------

BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
GIVE_UP_AFTER = timedelta(hours=24)


def backoff_ceiling(attempts: int) -> timedelta:
    """R11/R12: exponential back-off: 30 s, 1 min, 2 min, … capped at an hour between tries."""
    return timedelta(
        seconds=retry.backoff_ceiling(
            attempts, first=BACKOFF_FIRST.total_seconds(), cap=BACKOFF_CAP.total_seconds()
        )
    )


def backoff(attempts: int, *, jitter: float) -> timedelta:
    """The outbox's delay before the next try (``retry.backoff``'s equal jitter, drawn by the
    caller): between half the ceiling and the ceiling."""
    return timedelta(
        seconds=retry.backoff(
            attempts,
            first=BACKOFF_FIRST.total_seconds(),
            cap=BACKOFF_CAP.total_seconds(),
            jitter=jitter,
        )
    )


def gives_up(first_failed_at: datetime | None, now: datetime) -> bool:
    """R11: a transient failure is retried for at least 24 hours before the change is failed."""
    return first_failed_at is not None and now - first_failed_at >= GIVE_UP_AFTER


# --- what rides in the cycle's calls (R1, R7, R13; issue 16) -----------------------------------

PICKLIST_MAX_AGE = timedelta(days=1)
STATUS_REJECTED_CODES = (
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "BAD_VALUE_FOR_RESTRICTED_PICKLIST",
)


def picklist_due(read_at: datetime | None, now: datetime, *, have_rows: bool) -> bool:
    """R1: the org's TaskStatus picklist is read once per org and day; never read, or thrown
    away after Salesforce rejected a status (``read_at`` None), it is read again."""
    return not have_rows or read_at is None or now - read_at >= PICKLIST_MAX_AGE


def status_rejected(code: str, fields, message: str = "") -> bool:
    """R1: Salesforce refused a record for its Status value: the org's picklist changed."""
    return code in STATUS_REJECTED_CODES and ("Status" in (fields or ()) or "Status" in message)


def pick_statuses(rows: list[dict], configured: StatusMap) -> StatusMap:
    """R1 (beyond): the org's open and closed Status values from its TaskStatus picklist: the
    configured value where the org has it, else the org's default, else the first by order."""
    if not rows:
        return configured

    def name(row):
        return row.get("ApiName") or row.get("MasterLabel")

    def pick(candidates, preferred):
        if preferred in [name(r) for r in candidates]:
            return preferred
        defaults = [r for r in candidates if r.get("IsDefault")]
        chosen = defaults or sorted(candidates, key=lambda r: r.get("SortOrder") or 0)
        return name(chosen[0]) if chosen else preferred

    return StatusMap(
        open=pick([r for r in rows if not r.get("IsClosed")], configured.open),
        complete=pick([r for r in rows if r.get("IsClosed")], configured.complete),
    )


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


# --- how a push is packed into Composite calls (R5, R13) --------------------------------------


@dataclass(frozen=True)
class Part:
    """One subrequest of a push: ``kind`` (create, update, delete) and which of that kind's
    items (a slice of its list) it carries; ``single`` is a one-record sObject request, which
    does not count toward the 5 collections."""

    kind: str
    start: int
    stop: int
    single: bool = False


def pack_push(
    counts: dict[str, int], *, per_collection: int = 200, heavy: int = 5, subrequests: int = 25
) -> list[list[Part]]:
    """R13: the creates, updates and deletes of a push packed into as few Composite calls as
    Composite's limits allow: sObject Collections of up to ``per_collection`` records (at most
    ``heavy`` a call, given to the kinds with the most left), then what is left sent as
    single-record subrequests (up to ``subrequests`` subrequests in all).

    One call carries up to 1,000 changes of one kind, or any mix that fits five collections and
    twenty singles (e.g. 600 creates, 380 edits and 20 deletes); 333 of each of three kinds
    need two calls."""
    order = ("create", "update", "delete")
    left = {k: counts.get(k, 0) for k in order}
    done = dict.fromkeys(order, 0)
    calls: list[list[Part]] = []
    while any(left.values()):
        parts: list[Part] = []
        for _ in range(heavy):
            kind = max(order, key=lambda k: left[k])
            if left[kind] < 2:
                break
            size = min(per_collection, left[kind])
            parts.append(Part(kind, done[kind], done[kind] + size))
            done[kind] += size
            left[kind] -= size
        for kind in order:
            size = min(left[kind], subrequests - len(parts))
            parts += [
                Part(kind, i, i + 1, single=True) for i in range(done[kind], done[kind] + size)
            ]
            done[kind] += size
            left[kind] -= size
        parts.sort(key=lambda part: (order.index(part.kind), part.start))
        calls.append(parts)
    return calls
