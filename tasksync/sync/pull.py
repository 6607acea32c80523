"""Salesforce → local: read what changed since the cursor, decide, apply (R1, R2, R4–R10, R15–R18).

Each page is applied in one transaction: the links, tasks and outbox rows a decision is made from
are read under a lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions
hold its one write lock from the start), ``decide`` says what each record means, and the plan is
applied. A local edit committed meanwhile is therefore either seen by the decision or applied
after it, never overwritten unseen (R8).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from accounts.salesforce.client import sf_datetime, soql_datetime, soql_id
from tasksync.bulk import insert_many
from tasksync.models import (
    EventAction,
    LinkState,
    OutboundChange,
    OutboxOperation,
    ReminderTask,
    SyncConflict,
    TaskLink,
)
from tasksync.services import tasks as task_services
from tasksync.sync import decide, mapping
from tasksync.sync.context import RunContext
from tasksync.sync.decide import PullAction

logger = logging.getLogger(__name__)

# The pull cursor trails the time a read started by this much: a record committed late by a long
# transaction carries an earlier SystemModstamp, and is still read next time (the getUpdated docs'
# "latestDateCovered" caveat). Records sharing a timestamp are all read: the bound is inclusive.
# After a quiet period of this length an idle cycle reads nothing again (R9).
OVERLAP = timedelta(minutes=2)
FIRST_SYNC_WINDOW = timedelta(hours=24)  # R4
TASK_FIELDS = (
    "Id, Subject, Status, Priority, ActivityDate, Description, OwnerId, IsDeleted, IsArchived, "
    "IsClosed, CreatedById, CreatedDate, LastModifiedDate, SystemModstamp, "
    # R14: what the task is about, read in the same query (display only, never pushed).
    "WhoId, WhatId, Who.Name, What.Name"
)
# R15: real tasks (not logged emails or calls), no recurring-series masters.
REAL_TASKS = "TaskSubtype = 'Task' AND IsRecurrence = false"


def _task_fields() -> str:
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    return f"{TASK_FIELDS}, {key_field}" if key_field else TASK_FIELDS


def changes_query(ctx: RunContext, since) -> str:
    """Every task changed since the cursor that this user can see, whoever owns it now: a task
    of theirs reassigned to someone else must reach their run to leave their lists (R18). What
    is neither theirs nor linked to them is skipped unread."""
    return (
        f"SELECT {_task_fields()} FROM Task WHERE {REAL_TASKS} "
        f"AND SystemModstamp >= {soql_datetime(since)} ORDER BY SystemModstamp, Id"
    )


def import_query(ctx: RunContext, window_start) -> str:
    """R4: the connected user's own tasks modified in the import window."""
    return (
        f"SELECT {_task_fields()} FROM Task WHERE OwnerId = {soql_id(ctx.sf_user_id)} "
        f"AND {REAL_TASKS} AND LastModifiedDate >= {soql_datetime(window_start)} "
        "ORDER BY SystemModstamp, Id"
    )


def pull(
    ctx: RunContext,
    *,
    import_window_start=None,
    extras: tuple[dict, ...] = (),
    heavy_extras: int = 0,
    on_first=None,
) -> dict:
    """Read changed Tasks page by page; each page is decided and applied in one transaction.

    With ``import_window_start`` (first sync, R4, or a re-enable after 15 days, R7) it reads the
    tasks modified since then through ``query``; otherwise everything whose SystemModstamp is at
    or after the cursor through ``queryAll``, so deletions still in the recycle bin arrive in the
    same read. The cursor moves only after a complete read, and on Salesforce's clock (R16): the
    time the first page was answered, less the overlap.

    Pages are chained through Composite, five a call (an import of 10,000 tasks is one or two
    calls), the next call on the wire while this one's pages are written. ``extras`` (the delete
    log, the TaskStatus picklist) ride in the first call; ``on_first(results)`` gets their
    answers before any page is applied, and so does the caller, as the return value. An idle
    poll with no extras is one plain query.
    """
    state = ctx.state
    importing = import_window_start is not None
    if importing:
        soql, include_deleted = import_query(ctx, import_window_start), False
    else:
        since = state.watermark or ctx.sf_now() - FIRST_SYNC_WINDOW
        soql, include_deleted = changes_query(ctx, since), True
    in_doubt = _in_doubt_creates(ctx)
    read_at = None
    answers: dict = {}
    first_page = True
    calls = ctx.client.iter_chained(
        soql,
        include_deleted=include_deleted,
        extras=extras,
        heavy_extras=heavy_extras,
        chain_first=importing,
        before_next=ctx.check_budget,  # R13: the next page can wait for the budget
    )
    for chained in calls:
        if read_at is None:
            read_at = chained.answered_at or ctx.sf_now()
            answers = chained.extras
            if on_first is not None:
                on_first(answers)
        for page in chained.pages:
            records = page.get("records") or []
            if not records and not importing:
                continue  # an idle poll's empty page: nothing to decide, no transaction
            with transaction.atomic():
                ctx.guard()
                if importing and first_page:
                    state.progress_total = page.get("totalSize", len(records))
                    state.progress_done = 0
                first_page = False
                apply_page(ctx, records, in_doubt)
                if importing:
                    state.progress_done += len(records)
                    state.save(update_fields=["progress_done", "progress_total"])
                ctx.flush()
    cursor = (read_at or ctx.sf_now()) - OVERLAP
    if state.watermark is None or cursor > state.watermark:
        state.watermark = cursor
        ctx.state_updates["watermark"] = cursor  # written at the run's end, with its lease
    ctx.in_doubt_checked = True
    return answers


def _in_doubt_creates(ctx: RunContext) -> list[TaskLink]:
    """Creates sent but never confirmed (worker died, response lost): R10."""
    return list(
        TaskLink.objects.filter(
            user=ctx.user,
            org_id=ctx.org_id,
            state=LinkState.CREATING,
            sf_id__isnull=True,
            create_started_at__isnull=False,
        ).select_related("task")
    )


def apply_page(ctx: RunContext, records: list[dict], in_doubt: list[TaskLink]) -> None:
    """Decide and apply one page of Salesforce records (inside the caller's transaction): this
    user's links only (R18), in-doubt creates matched (R10), unknown tasks of theirs imported
    (R5). Also used by a resync (R14), which re-reads linked records."""
    me = ctx.sf_user_id
    remotes = [decide.Remote.from_record(r, parse=sf_datetime) for r in records]
    links = {
        link.sf_id: link
        for link in TaskLink.objects.filter(
            user=ctx.user, org_id=ctx.org_id, sf_id__in=[r.id for r in remotes]
        ).exclude(state=LinkState.RETIRED)
    }
    # Most records of a busy page are our own writes coming back (R9): their tasks and outbox
    # rows are not even read.
    work = [
        (remote, links[remote.id])
        for remote in remotes
        if remote.id in links
        and not decide.is_quiet(
            remote,
            state=links[remote.id].state,
            synced_remote=links[remote.id].synced_remote,
            me=me,
        )
    ]
    # R10 before R5: our creates whose answers were lost are linked first; what happened to
    # them since (an automation's edit, a deletion in Salesforce) then applies like any change.
    recovered = _match_in_doubt(ctx, records, links, in_doubt) if in_doubt else {}
    work += [(remote, recovered[remote.id]) for remote in remotes if remote.id in recovered]
    tasks, outbox = lock_local_state([link.task_id for _, link in work])
    for _, link in work:
        link.task = tasks[link.task_id]
    times = records_by_id(records)
    for remote, link in work:
        row = outbox.get(link.task_id)
        plan = decide.pulled(remote, pair_of(ctx, link, row), me=me, statuses=ctx.statuses)
        apply_plan(ctx, link, row, plan, record_times=times)
    refresh_related(records, {**links, **recovered})
    to_import = [
        record
        for remote, record in zip(remotes, records, strict=True)
        if remote.id not in links
        and remote.id not in recovered
        and not remote.deleted
        and not remote.archived
        and remote.owner_id == me
    ]
    if to_import:
        _import(ctx, to_import)


def related_names(record: dict) -> dict:
    """R14: the Who and What names Salesforce nested in the record (null parents: blank)."""
    return {
        field: ((record.get(relation) or {}).get("Name") or "")[:255]
        for field, relation in (("related_who", "Who"), ("related_what", "What"))
    }


def refresh_related(records, links) -> None:
    """R14: the display names of linked tasks follow Salesforce, whatever else the page did. Not
    a task edit: nothing is pushed, stamped or compared (the names are not R1 fields)."""
    wanted = {
        links[r["Id"]].task_id: related_names(r)
        for r in records
        if r["Id"] in links and ("Who" in r or "What" in r)
    }
    if not wanted:
        return
    current = ReminderTask.objects.filter(pk__in=wanted).values_list(
        "pk", "related_who", "related_what"
    )
    for pk, who, what in current:
        names = wanted[pk]
        if (who, what) != (names["related_who"], names["related_what"]):
            ReminderTask.objects.filter(pk=pk).update(**names)


def records_by_id(records):
    return {r["Id"]: r for r in records}


def lock_local_state(task_ids) -> tuple[dict, dict]:
    """The tasks and outbox rows a plan is decided from, locked until the page commits (R8).
    Tasks first, then outbox rows, in id order: the web's edits take them in the same order."""
    if not task_ids:
        return {}, {}
    tasks = {
        task.pk: task
        for task in ReminderTask.objects.select_for_update().filter(pk__in=task_ids).order_by("pk")
    }
    outbox = {
        row.task_id: row
        for row in OutboundChange.objects.select_for_update()
        .filter(task_id__in=task_ids)
        .order_by("task_id")
    }
    return tasks, outbox


def pair_of(ctx: RunContext, link: TaskLink, row) -> decide.Pair:
    task = link.task
    return decide.Pair(
        state=link.state,
        synced_local=link.synced_local,
        synced_remote=link.synced_remote,
        local=mapping.local_snapshot(task),
        local_deleted=task.deleted_at is not None,
        changed_at={f: ctx.to_sf_clock(local_changed_at(task, f)) for f in mapping.LOCAL_FIELDS},
        queued=decide.Queued(row.operation, tuple(row.fields or ())) if row is not None else None,
    )


def local_changed_at(task, field):
    stamp = (task.field_changed_at or {}).get(field)
    return parse_datetime(stamp) if stamp else task.modified_at


# --- applying a plan ---------------------------------------------------------------------------


def apply_plan(
    ctx: RunContext, link, row, plan: decide.PullPlan, *, remote=None, record_times=None
):
    """Carry out what ``decide`` said for one pair; records conflicts and events."""
    if plan.action == PullAction.SKIP:
        return
    task = link.task
    for conflict in plan.conflicts:
        _conflict(ctx, link, conflict)
    if plan.drop_queued and row is not None:
        row.delete()
    elif plan.drop_fields and row is not None:
        _drop_fields(row, plan.drop_fields)
    if plan.action == PullAction.EDIT_MEETS_DELETE:
        link.synced_remote = plan.synced_remote
        link.save(update_fields=["synced_remote", "updated_at"])
        return
    if plan.action in (PullAction.REMOTE_DELETE, PullAction.REASSIGNED_AWAY):
        _remove_locally(ctx, link, plan)
        return
    if plan.action == PullAction.RESTORE:
        task_services.task_restore(task=task)
        link.state = LinkState.SYNCED
        ctx.run.pulled += 1
        ctx.pulled(task=task, sf_id=link.sf_id, action=EventAction.UNDELETE)
    if plan.updates:
        before = mapping.local_snapshot(task)
        task_services.task_update(
            task=task,
            from_sync=True,
            **{f: mapping.as_model_value(f, v) for f, v in plan.updates.items()},
        )
        if plan.action == PullAction.UPDATE:
            ctx.run.pulled += 1
            ctx.pulled(
                task=task,
                sf_id=link.sf_id,
                action=EventAction.UPDATE,
                changes={f: [before[f], v] for f, v in plan.updates.items()},
            )
    link.synced_local = plan.synced_local
    link.synced_remote = plan.synced_remote
    record = (record_times or {}).get(link.sf_id) or {}
    link.sf_system_modstamp = sf_datetime(record.get("SystemModstamp")) or link.sf_system_modstamp
    link.sf_last_modified = sf_datetime(record.get("LastModifiedDate")) or link.sf_last_modified
    link.last_synced_at = ctx.now()
    link.save(
        update_fields=[
            "synced_local",
            "synced_remote",
            "sf_system_modstamp",
            "sf_last_modified",
            "last_synced_at",
            "state",
            "updated_at",
        ]
    )


def _remove_locally(ctx: RunContext, link, plan) -> None:
    """R6: deleted in Salesforce; R18: reassigned to someone else. The local task becomes a
    tombstone (gone from every list), the link says why, and the user is told."""
    task = link.task
    reassigned = plan.action == PullAction.REASSIGNED_AWAY
    if task.deleted_at is None:
        task_services.task_delete(task=task, from_sync=True)
        ctx.run.deleted += 1
        action = EventAction.REASSIGNED if reassigned else EventAction.DELETE
        ctx.pulled(task=task, sf_id=link.sf_id, action=action)
    link.state = LinkState.REASSIGNED if reassigned else LinkState.REMOTE_DELETED
    link.last_synced_at = ctx.now()
    link.save(update_fields=["state", "last_synced_at", "updated_at"])


def _drop_fields(row, fields) -> None:
    """Salesforce's value won for these fields: the older local value must not be pushed."""
    remaining = [f for f in row.fields if f not in fields]
    if remaining or row.operation == OutboxOperation.CREATE:
        row.fields = remaining
        row.save(update_fields=["fields"])
    else:
        row.delete()


def _conflict(ctx, link, conflict: decide.Conflict) -> None:
    ctx.save_run()
    SyncConflict.objects.create(
        user=ctx.user,
        task=link.task,
        run=ctx.run,
        sf_id=link.sf_id or "",
        field=conflict.field,
        local_value=conflict.local_value,
        remote_value=conflict.remote_value,
        local_changed_at=ctx.from_sf_clock(conflict.local_at),
        remote_changed_at=conflict.remote_at,
        winner=conflict.winner,
    )
    ctx.run.conflicts += 1
    side = "this app" if conflict.winner == decide.Winner.LOCAL else "Salesforce"
    ctx.pulled(
        task=link.task,
        sf_id=link.sf_id,
        action=EventAction.CONFLICT,
        changes={conflict.field: [conflict.local_value, conflict.remote_value]},
        message=f"{conflict.field}: {side} won",
    )


def apply_remote_delete(ctx: RunContext, link: TaskLink, row, *, removed_at=None) -> None:
    """R6: a deletion learnt outside a pulled record (delete log, an edit's answer). The caller
    holds the task and its outbox row under a lock."""
    plan = decide.remote_deleted(pair_of(ctx, link, row), removed_at=removed_at or ctx.sf_now())
    apply_plan(ctx, link, row, plan)


def apply_deleted_ids(ctx: RunContext, sf_ids) -> None:
    """Deletions learnt from sobjects/Task/deleted/ or an id reconciliation (R6, R7), applied to
    this user's links only (R18)."""
    sf_ids = list(sf_ids)
    for start in range(0, len(sf_ids), 500):
        chunk = sf_ids[start : start + 500]
        with transaction.atomic():
            ctx.guard()
            links = list(
                TaskLink.objects.filter(user=ctx.user, org_id=ctx.org_id, sf_id__in=chunk).exclude(
                    state__in=[
                        LinkState.RETIRED,
                        LinkState.REASSIGNED,
                        LinkState.REMOTE_DELETED,
                        LinkState.LOCAL_DELETED,
                    ]
                )
            )
            tasks, rows = lock_local_state([link.task_id for link in links])
            for link in links:
                link.task = tasks[link.task_id]
                apply_remote_delete(ctx, link, rows.get(link.task_id))
            ctx.flush()


# --- in-doubt creates (R10) ------------------------------------------------------------------


def _match_in_doubt(ctx: RunContext, records, links, in_doubt: list[TaskLink]) -> dict:
    """R10: link the unknown records that are our creates whose answers were lost (decided by
    ``decide.match_in_doubt``). Returns {Salesforce id: link}; each link is saved linked."""
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    candidates = [
        decide.Candidate(
            id=record["Id"],
            snapshot=mapping.remote_snapshot(record),
            created_at=sf_datetime(record.get("CreatedDate")),
            key_value=record.get(key_field) if key_field else None,
        )
        for record in records
        # Whoever owns it now: a lost create reassigned before this pull is still ours, to be
        # linked and then let go (R18), never sent a second time.
        if record["Id"] not in links
        and record.get("CreatedById") == ctx.sf_user_id
        and record.get("CreatedDate")
        and not (record.get("IsArchived") and not record.get("IsDeleted"))
    ]
    if not candidates:
        return {}
    by_pk = {link.pk: link for link in in_doubt}
    waiting = [
        decide.InDoubt(
            key=link.pk,
            started_at=ctx.to_sf_clock(link.create_started_at),
            sent=link.synced_remote,
            create_key=link.create_key,
        )
        for link in in_doubt
    ]
    matched = {}
    for sf_id, pk in decide.match_in_doubt(candidates, waiting, by_key=bool(key_field)).items():
        link = by_pk[pk]
        in_doubt.remove(link)
        link.sf_id = sf_id
        link.state = LinkState.SYNCED
        link.create_started_at = link.resend_after = None
        link.save(
            update_fields=["sf_id", "state", "create_started_at", "resend_after", "updated_at"]
        )
        # The create's outbox row may be backing off after the lost response: it has landed,
        # so let this run's push settle it now.
        OutboundChange.objects.filter(task_id=link.task_id).update(not_before=None)
        ctx.pulled(task=link.task, sf_id=sf_id, action=EventAction.RECOVERED_CREATE)
        matched[sf_id] = link
    return matched


# --- imports (R4, R5, R18) ---------------------------------------------------------------------


def _import(ctx: RunContext, records: list[dict]) -> None:
    """Create local tasks for Salesforce tasks of this user never seen before (R4 import, R5 new
    tasks, R18 a task reassigned to them)."""
    built = []
    for record in records:
        snapshot = mapping.remote_snapshot(record)
        values = {
            f: mapping.as_model_value(f, v)
            for f, v in mapping.import_values(snapshot, statuses=ctx.statuses).items()
        }
        values.update(related_names(record))
        try:
            task = task_services.task_build_import(user=ctx.user, values=values)
        except ValidationError as exc:
            # Bad input from Salesforce: this record fails with a clear message, the rest goes on.
            ctx.run.failed += 1
            ctx.pulled(
                sf_id=record["Id"], action=EventAction.IMPORT, ok=False, message=_messages(exc)
            )
            continue
        built.append((record, snapshot, task))
    if not built:
        return
    tasks = task_services.task_bulk_import(tasks=[task for _, _, task in built])
    now = ctx.now()
    insert_many(
        [
            TaskLink(
                task_id=task.pk,
                user_id=ctx.user.pk,
                org_id=ctx.org_id,
                sf_user_id=ctx.sf_user_id,
                sf_id=record["Id"],
                state=LinkState.SYNCED,
                synced_local=mapping.local_snapshot(task),
                synced_remote=snapshot,
                sf_system_modstamp=sf_datetime(record["SystemModstamp"]),
                sf_last_modified=sf_datetime(record["LastModifiedDate"]),
                last_synced_at=now,
            )
            for (record, snapshot, _), task in zip(built, tasks, strict=True)
        ]
    )
    for (record, _, _), task in zip(built, tasks, strict=True):
        ctx.pulled(task=task, sf_id=record["Id"], action=EventAction.IMPORT)
    ctx.run.pulled += len(tasks)
    _ask_previous_owners(ctx, [record["Id"] for record, _, _ in built])


def _ask_previous_owners(ctx: RunContext, sf_ids) -> None:
    """R18: a task imported here that another user's link still holds was reassigned from them;
    their run is asked to go now, so it leaves their lists at once. Nothing of theirs is touched
    by this run."""
    from tasksync.sync.outbox import request_push

    holders = set(
        TaskLink.objects.filter(
            org_id=ctx.org_id, sf_id__in=sf_ids, state__in=[LinkState.SYNCED, LinkState.FAILED]
        )
        .exclude(user=ctx.user)
        .values_list("user_id", flat=True)
    )
    for user_id in holders:
        transaction.on_commit(lambda user_id=user_id: request_push(user_id=user_id))


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)
