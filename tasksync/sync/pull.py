"""Salesforce → local: read what changed since the watermark and apply it (R1, R2, R4–R9, R15)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from tasksync.bulk import insert_many
from tasksync.models import (
    LinkState,
    OutboundChange,
    OutboxOperation,
    ReminderTask,
    SyncConflict,
    TaskLink,
)
from tasksync.salesforce.client import sf_datetime, soql_datetime, soql_id
from tasksync.services import tasks as task_services
from tasksync.sync import conflicts, mapping
from tasksync.sync.context import RunContext

logger = logging.getLogger(__name__)

# The pull cursor trails the time a read started by this much: a record committed late by a long
# transaction carries an earlier SystemModstamp, and is still read next time (the getUpdated docs'
# "latestDateCovered" caveat). Records sharing a timestamp are all read: the bound is inclusive.
# After a quiet period of this length an idle cycle reads nothing again (R9).
OVERLAP = timedelta(minutes=2)
FIRST_SYNC_WINDOW = timedelta(hours=24)  # R4
TASK_FIELDS = (
    "Id, Subject, Status, Priority, ActivityDate, Description, OwnerId, IsDeleted, IsArchived, "
    "IsClosed, CreatedById, CreatedDate, LastModifiedDate, SystemModstamp"
)


def _task_fields() -> str:
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    return f"{TASK_FIELDS}, {key_field}" if key_field else TASK_FIELDS


def _where_owned(ctx: RunContext) -> str:
    # R15: the connected user's own tasks, real tasks (not logged emails or calls), no series.
    return f"OwnerId = {soql_id(ctx.sf_user_id)} AND TaskSubtype = 'Task' AND IsRecurrence = false"


def changes_query(ctx: RunContext, since) -> str:
    return (
        f"SELECT {_task_fields()} FROM Task WHERE {_where_owned(ctx)} "
        f"AND SystemModstamp >= {soql_datetime(since)} ORDER BY SystemModstamp, Id"
    )


def import_query(ctx: RunContext, window_start) -> str:
    return (
        f"SELECT {_task_fields()} FROM Task WHERE {_where_owned(ctx)} "
        f"AND LastModifiedDate >= {soql_datetime(window_start)} ORDER BY SystemModstamp, Id"
    )


def pull(ctx: RunContext, *, import_window_start=None) -> None:
    """Read changed Tasks page by page; each page is applied in one transaction.

    With ``import_window_start`` (first sync, R4, or a re-enable after 15 days, R7) it reads the
    tasks modified since then through ``query``; otherwise everything whose SystemModstamp is at
    or after the cursor through ``queryAll``, so deletions still in the recycle bin arrive in the
    same read. The cursor moves only after a complete read: a run that fails half-way reads the
    same changes again next time, and applying a change twice is a no-op (content comparison).
    """
    state = ctx.state
    started = ctx.now()
    if import_window_start is not None:
        soql, include_deleted = import_query(ctx, import_window_start), False
    else:
        since = state.watermark or started - FIRST_SYNC_WINDOW
        soql, include_deleted = changes_query(ctx, since), True
    in_doubt = _in_doubt_creates(ctx)
    first = True
    for page in ctx.client.iter_pages(soql, include_deleted=include_deleted):
        records = page.get("records") or []
        with transaction.atomic():
            if first and import_window_start is not None:
                state.progress_total = page.get("totalSize", len(records))
                state.progress_done = 0
            apply_page(ctx, records, in_doubt)
            if import_window_start is not None:
                state.progress_done += len(records)
                state.save(update_fields=["progress_done", "progress_total"])
            ctx.flush()
        first = False
        if not page.get("done", True):
            ctx.check_budget()  # R13: the next page can wait for the budget
    cursor = started - OVERLAP
    if state.watermark is None or cursor > state.watermark:
        state.watermark = cursor
        state.save(update_fields=["watermark"])
    ctx.in_doubt_checked = True


def _in_doubt_creates(ctx: RunContext) -> list[TaskLink]:
    """Creates sent but never confirmed (worker died, response lost): R10."""
    return list(
        TaskLink.objects.filter(
            user=ctx.user,
            state=LinkState.CREATING,
            sf_id__isnull=True,
            create_started_at__isnull=False,
        ).select_related("task")
    )


def apply_page(ctx: RunContext, records: list[dict], in_doubt: list[TaskLink]) -> None:
    """Apply one page of Salesforce records (inside the caller's transaction): links known
    records to their tasks, matches in-doubt creates (R10), imports the rest (R5). Also used by
    a resync (R14), which re-reads linked records."""
    ids = [r["Id"] for r in records]
    links = {
        link.sf_id: link
        for link in TaskLink.objects.filter(org_id=ctx.org_id, sf_id__in=ids).exclude(
            state=LinkState.RETIRED
        )
    }
    # Most records of a busy page are our own writes coming back (R9): their tasks and outbox
    # rows are not even read.
    work = [links[r["Id"]] for r in records if r["Id"] in links and _needs_work(r, links[r["Id"]])]
    tasks = ReminderTask.objects.in_bulk([link.task_id for link in work])
    for link in work:
        link.task = tasks[link.task_id]
    # R10 before R5: our creates whose answers were lost, possibly deleted in Salesforce since
    # (then the deletion applies here, R6, and they are not sent again).
    recovered = _match_in_doubt(ctx, records, links, in_doubt) if in_doubt else {}
    outbox = {
        row.task_id: row
        for row in OutboundChange.objects.select_for_update().filter(
            task_id__in=[link.task_id for link in [*work, *recovered.values()]]
        )
    }
    to_import = []
    for record in records:
        if record.get("IsArchived") and not record.get("IsDeleted"):
            continue  # R15: archived by Salesforce is not a deletion, and not an edit
        link = links.get(record["Id"])
        if link is None:
            link = recovered.get(record["Id"])
            if link is None:
                if not record.get("IsDeleted"):
                    to_import.append(record)
                continue
        elif not _needs_work(record, link):
            continue
        _apply_to_link(ctx, record, link, outbox.get(link.task_id))
    if to_import:
        _import(ctx, to_import)


_DELETED_STATES = (LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED)


def _needs_work(record: dict, link: TaskLink) -> bool:
    """False when applying ``record`` to ``link`` would change nothing: an in-doubt create (the
    match decides it), a deletion already known, or content equal to what was last synced (R9:
    our own write coming back, or automation that only bumped SystemModstamp)."""
    if link.state == LinkState.CREATING:
        return False
    if record.get("IsDeleted"):
        return link.state not in _DELETED_STATES
    if link.state in _DELETED_STATES:
        return True  # restored from the recycle bin
    snapshot = mapping.remote_snapshot(record)
    return any(snapshot[f] != link.synced_remote.get(f) for f in mapping.REMOTE_FIELDS)


def _match_in_doubt(ctx: RunContext, records, links, in_doubt: list[TaskLink]) -> dict:
    """R10: Tasks this connection created whose ids we never recorded are the in-doubt creates,
    created after we sent them, with the same key (SALESFORCE_TASK_EXTERNAL_ID_FIELD); failing
    that, the same content; failing that, the same Subject (automation in the org, a flow or a
    trigger, may have set another field between the create and this pull; its change then
    arrives as a Salesforce edit, like any other). Each kind of match is made across the whole
    page before the next, so two creates of one Subject are never swapped.
    Returns {Salesforce id: link}; each link is linked to its record here."""
    key_field = settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD
    unknown = [
        (record, mapping.remote_snapshot(record), sf_datetime(record.get("CreatedDate")))
        for record in records
        if record["Id"] not in links
        and record.get("CreatedById") == ctx.sf_user_id
        and record.get("CreatedDate")
        and not (record.get("IsArchived") and not record.get("IsDeleted"))
    ]
    rules = [
        lambda record, snapshot, link: snapshot == link.synced_remote,
        lambda record, snapshot, link: snapshot["Subject"] == link.synced_remote.get("Subject"),
    ]
    if key_field:
        rules.insert(
            0,
            lambda record, snapshot, link: (
                bool(link.create_key) and record.get(key_field) == link.create_key
            ),
        )
    matched = {}
    for same in rules:
        for record, snapshot, created in unknown:
            if not in_doubt:
                return matched
            if record["Id"] in matched:
                continue
            link = next(
                (
                    link
                    for link in in_doubt
                    if created >= link.create_started_at - timedelta(minutes=1)
                    and same(record, snapshot, link)
                ),
                None,
            )
            if link is None:
                continue
            in_doubt.remove(link)
            link.sf_id = record["Id"]
            link.state = LinkState.SYNCED
            link.create_started_at = link.resend_after = None
            link.save(
                update_fields=["sf_id", "state", "create_started_at", "resend_after", "updated_at"]
            )
            # The create's outbox row may be backing off after the lost response: it has landed,
            # so let this run's push settle it now.
            OutboundChange.objects.filter(task_id=link.task_id).update(not_before=None)
            ctx.pulled(task=link.task, sf_id=link.sf_id, action="recovered_create")
            matched[record["Id"]] = link
    return matched


def _import(ctx: RunContext, records: list[dict]) -> None:
    """Create local tasks for Salesforce tasks never seen before (R4 import, R5 new tasks)."""
    built = []
    for record in records:
        snapshot = mapping.remote_snapshot(record)
        values = {
            f: mapping.as_model_value(f, v)
            for f, v in mapping.import_values(snapshot, statuses=ctx.statuses).items()
        }
        try:
            task = task_services.task_build_import(user=ctx.user, values=values)
        except ValidationError as exc:
            # Bad input from Salesforce: this record fails with a clear message, the rest goes on.
            ctx.run.failed += 1
            ctx.pulled(sf_id=record["Id"], action="import", ok=False, message=_messages(exc))
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
        ctx.pulled(task=task, sf_id=record["Id"], action="import")
    ctx.run.pulled += len(tasks)


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return " ".join(exc.messages)


def _apply_to_link(ctx: RunContext, record: dict, link: TaskLink, row) -> None:
    if link.state == LinkState.CREATING:
        return  # in doubt and not ours to judge here
    task = link.task
    if record.get("IsDeleted"):
        if link.state not in (LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED):
            apply_remote_delete(ctx, link, row, record)
        return
    if link.state in (LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED):
        _restore(ctx, link, row)
    snapshot = mapping.remote_snapshot(record)
    modstamp = sf_datetime(record["SystemModstamp"])
    last_modified = sf_datetime(record["LastModifiedDate"])
    changed = [f for f in mapping.REMOTE_FIELDS if snapshot[f] != link.synced_remote.get(f)]
    if not changed:
        # R9: our own write coming back, or automation that only bumped SystemModstamp: nothing
        # to do, and nothing written (the stored SystemModstamp is informational only).
        return
    if row is not None and row.operation == OutboxOperation.DELETE:
        # R6: an edit that meets a delete is a conflict, and the delete stands. Remember the
        # edit as seen, so a delete that has to wait (back-off) is not recorded again each poll.
        _conflict(ctx, link, "deleted", True, False, ctx.now(), last_modified, "local")
        link.synced_remote = snapshot
        link.save(update_fields=["synced_remote", "updated_at"])
        return
    current = mapping.local_snapshot(task)
    updates, changes = {}, {}
    for remote_field in changed:
        local_field = mapping.REMOTE_TO_LOCAL[remote_field]
        link.synced_remote[remote_field] = snapshot[remote_field]
        new = mapping.local_value(remote_field, snapshot, statuses=ctx.statuses)
        if new is mapping.NOT_MAPPED:
            continue  # R1 unmapped status or Low priority, R2 Subject: nothing changes here
        if current[local_field] == new:
            link.synced_local[local_field] = new
            continue
        if current[local_field] != link.synced_local.get(local_field):
            # R8: changed on both sides since the last sync of this pair.
            local_at = _local_changed_at(task, local_field)
            won = conflicts.winner(local_at, last_modified)
            _conflict(
                ctx, link, local_field, current[local_field], new, local_at, last_modified, won
            )
            if won == "local":
                continue
        updates[local_field] = new
        changes[local_field] = [current[local_field], new]
        link.synced_local[local_field] = new
    if updates:
        task_services.task_update(
            task=task,
            from_sync=True,
            **{f: mapping.as_model_value(f, v) for f, v in updates.items()},
        )
        if row is not None:
            _drop_fields(row, updates)
        ctx.run.pulled += 1
        ctx.pulled(task=task, sf_id=link.sf_id, action="update", changes=changes)
    link.sf_system_modstamp = modstamp
    link.sf_last_modified = last_modified
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


def _local_changed_at(task, field):
    from django.utils.dateparse import parse_datetime

    stamp = (task.field_changed_at or {}).get(field)
    return parse_datetime(stamp) if stamp else task.modified_at


def _drop_fields(row, fields) -> None:
    """Salesforce's value won for these fields: the older local value must not be pushed."""
    remaining = [f for f in row.fields if f not in fields]
    if remaining or row.operation == OutboxOperation.CREATE:
        row.fields = remaining
        row.save(update_fields=["fields"])
    else:
        row.delete()


def _conflict(ctx, link, field, local_value, remote_value, local_at, remote_at, won) -> None:
    SyncConflict.objects.create(
        user=ctx.user,
        task=link.task,
        run=ctx.run,
        sf_id=link.sf_id or "",
        field=field,
        local_value=local_value,
        remote_value=remote_value,
        local_changed_at=local_at,
        remote_changed_at=remote_at,
        winner="local" if won == "local" else "salesforce",
    )
    ctx.run.conflicts += 1
    ctx.pulled(
        task=link.task,
        sf_id=link.sf_id,
        action="conflict",
        changes={field: [local_value, remote_value]},
        message=f"{field}: {'this app' if won == 'local' else 'Salesforce'} won",
    )


def apply_remote_delete(ctx: RunContext, link: TaskLink, row, record=None) -> None:
    """R6: a Salesforce deletion removes the local task (a tombstone); an edit that meets it is
    recorded as a conflict and the delete stands."""
    task = link.task
    removed_at = sf_datetime(record.get("SystemModstamp")) if record else ctx.now()
    if row is not None:
        if row.operation == OutboxOperation.UPDATE:
            current = mapping.local_snapshot(task)
            for field in row.fields:
                _conflict(
                    ctx,
                    link,
                    field,
                    current[field],
                    None,
                    _local_changed_at(task, field),
                    removed_at,
                    "salesforce",
                )
        row.delete()
    if task.deleted_at is None:
        task_services.task_delete(task=task, from_sync=True)
        ctx.run.deleted += 1
        ctx.pulled(task=task, sf_id=link.sf_id, action="delete")
    link.state = LinkState.REMOTE_DELETED
    link.last_synced_at = ctx.now()
    link.save(update_fields=["state", "last_synced_at", "updated_at"])


def _restore(ctx: RunContext, link: TaskLink, row) -> None:
    """R6 (beyond): a Salesforce task restored from the recycle bin comes back here."""
    if row is not None and row.operation == OutboxOperation.DELETE:
        row.delete()
    task_services.task_restore(task=link.task)
    link.state = LinkState.SYNCED
    ctx.run.pulled += 1
    ctx.pulled(task=link.task, sf_id=link.sf_id, action="undelete")


def apply_deleted_ids(ctx: RunContext, sf_ids) -> None:
    """Deletions learnt from sobjects/Task/deleted/ or an id reconciliation (R6, R7)."""
    sf_ids = list(sf_ids)
    for start in range(0, len(sf_ids), 500):
        chunk = sf_ids[start : start + 500]
        with transaction.atomic():
            links = list(
                TaskLink.objects.filter(org_id=ctx.org_id, sf_id__in=chunk)
                .exclude(
                    state__in=[LinkState.RETIRED, LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED]
                )
                .select_related("task")
            )
            rows = {
                r.task_id: r
                for r in OutboundChange.objects.select_for_update().filter(
                    task_id__in=[link.task_id for link in links]
                )
            }
            for link in links:
                apply_remote_delete(ctx, link, rows.get(link.task_id))
            ctx.flush()
