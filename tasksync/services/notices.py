"""Notices: the rep is told, naming the task, when their change lost or when Salesforce removed
one of their tasks (R14, R8, R6, R18). Written from what a sync run recorded, never by the
engine's own decisions, so recording stays in one place: ``RunContext.flush``."""

from __future__ import annotations

from django.utils import timezone

from tasksync.models import (
    Direction,
    Notice,
    NoticeKind,
    ReminderTask,
    SyncConflict,
    Winner,
)

# A pull event that removed a task from the rep's lists, and what the rep is told.
_REMOVED = {"delete": NoticeKind.DELETED, "reassigned": NoticeKind.REASSIGNED}
# When one run tells several things about one task, the notice says the most telling one.
_PRECEDENCE = [
    NoticeKind.EDIT_MET_DELETE,
    NoticeKind.REASSIGNED,
    NoticeKind.DELETED,
    NoticeKind.CONFLICT_LOST,
]


def notice_record_for_events(*, events, run) -> int:
    """Record notices for one batch of a run's events (called after they are inserted).

    - A conflict Salesforce won (R8), in this run: "your change to … was replaced".
    - An edit that met a delete in Salesforce (R6: the delete wins, recorded as a conflict with
      no Salesforce value): "your change … was lost: deleted in Salesforce".
    - A pull that deleted the task, or saw it reassigned to someone else (R18).

    One notice per run and task; recording the same batch again changes nothing. Costs no query
    when the batch holds neither conflicts nor removals (the everyday case)."""
    if run is None:
        return 0
    pulled = [e for e in events if e.direction == Direction.PULL and e.task_id]
    removed = {e.task_id: _REMOVED[e.action] for e in pulled if e.action in _REMOVED}
    lost = _lost_changes(run, {e.task_id for e in pulled if e.action == "conflict"})
    if not removed and not lost:
        return 0
    tasks = ReminderTask.objects.filter(pk__in={*removed, *lost}).values_list(
        "pk", "user_id", "name"
    )
    keys = {task_id: f"run:{run.pk}:task:{task_id}" for task_id, _, _ in tasks}
    # A later batch of the same run may know more about a task (a delete after a conflict): what
    # was recorded before is kept and merged, never lost.
    before = {n.key: n for n in Notice.objects.filter(key__in=keys.values(), user_id=run.user_id)}
    notices = [
        _notice(task, keys[task[0]], removed.get(task[0]), lost.get(task[0]), before)
        for task in tasks
    ]
    Notice.objects.bulk_create(
        notices,
        update_conflicts=True,
        unique_fields=["user", "key"],
        update_fields=["kind", "fields", "task_name"],
    )
    return len(notices)


def _lost_changes(run, task_ids) -> dict:
    """For each of these tasks, the fields whose local change lost to Salesforce's in this run
    (R8), and whether one met a delete there (R6: a conflict with no Salesforce value)."""
    lost = {}
    if not task_ids:
        return lost
    conflicts = SyncConflict.objects.filter(
        run_id=run.pk, winner=Winner.SALESFORCE, task_id__in=task_ids
    ).values_list("task_id", "field", "remote_value")
    for task_id, field, remote_value in conflicts:
        entry = lost.setdefault(task_id, {"fields": [], "deleted": False})
        if field not in entry["fields"]:
            entry["fields"].append(field)
        entry["deleted"] = entry["deleted"] or remote_value is None
    return lost


def _notice(task, key, removal, change, before) -> Notice:
    """The notice of one task (a ``(pk, user_id, name)`` row): its removal, its lost change, and
    what an earlier batch of the run recorded under the same key (``before``), merged."""
    task_id, user_id, name = task
    change = change or {"fields": [], "deleted": False}
    kinds = [removal] if removal else []
    if change["fields"]:
        deleted = change["deleted"] or removal == NoticeKind.DELETED
        kinds.append(NoticeKind.EDIT_MET_DELETE if deleted else NoticeKind.CONFLICT_LOST)
    fields = list(change["fields"])
    if key in before:
        kinds.append(before[key].kind)
        fields = [*before[key].fields, *(f for f in fields if f not in before[key].fields)]
    return Notice(
        user_id=user_id,
        task_id=task_id,
        task_name=name[:255],
        kind=min(kinds, key=_PRECEDENCE.index),
        fields=fields,
        key=key,
    )


def notice_dismiss(*, user, notice_id: int) -> bool:
    """Mark one of the user's notices read; another user's id is as unknown as a wrong one."""
    return bool(
        Notice.objects.filter(user=user, pk=notice_id, read_at__isnull=True).update(
            read_at=timezone.now()
        )
    )


def notice_dismiss_all(*, user) -> int:
    return Notice.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())
