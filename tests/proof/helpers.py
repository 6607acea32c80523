"""Shared by the proof tests: a fresh connected user per example, the R1/R2 convergence check."""

from __future__ import annotations

from accounts.subject import render_subject
from benchmarks import harness
from tasksync.models import LinkState, OutboundChange, ReminderTask, TaskLink
from tasksync.sync import mapping

STATUSES = mapping.StatusMap()


def fresh_connected_user(sf_emulator):
    """A new local user connected to a new Salesforce user of a freshly reset emulator org."""
    sf_emulator.reset()
    sf_emulator.set_api_limit(max=100_000_000, used=0)
    forget_org_usage()
    return harness.connect_user(sf_emulator)


def forget_org_usage():
    """Time passing, without moving clocks: the org's rolling 24-hour budget has recovered from
    an earlier REQUEST_LIMIT_EXCEEDED (R12), so the next run may call again."""
    from accounts.models import SalesforceOrg

    SalesforceOrg.objects.update(api_used=None, api_max=None, api_usage_at=None)


def sf_tasks_of(sf_emulator, sf_user_id: str) -> list[dict]:
    return [t for t in sf_emulator.tasks() if t["OwnerId"] == sf_user_id]


def convergence_problems(user, sf_emulator, sf_user_id: str, *, sf_subjects=()) -> list[str]:
    """Everything that stops both sides from being equal under R1/R2, with no duplicates (R10).
    ``sf_subjects`` are the Subjects written in Salesforce by hand (R2: they never rename)."""
    problems = []
    records = {t["Id"]: t for t in sf_tasks_of(sf_emulator, sf_user_id)}
    live_remote = {i: t for i, t in records.items() if not t["IsDeleted"]}
    links = list(TaskLink.objects.filter(user=user).exclude(state=LinkState.RETIRED))
    by_sf_id: dict[str, list[TaskLink]] = {}
    for link in links:
        if link.sf_id:
            by_sf_id.setdefault(link.sf_id, []).append(link)
    for sf_id, same in by_sf_id.items():
        if len(same) > 1:
            problems.append(f"R10: {len(same)} links to {sf_id}")
    live_local = list(ReminderTask.objects.filter(user=user, deleted_at__isnull=True))
    template = user.subject_template
    for task in live_local:
        link = next((lk for lk in links if lk.task_id == task.pk), None)
        if link is None or not link.sf_id:
            problems.append(f"R5: live local task {task.pk} {task.name!r} has no Salesforce task")
            continue
        record = live_remote.get(link.sf_id)
        if record is None:
            problems.append(f"R6: local task {task.pk} is live, {link.sf_id} is not")
            continue
        problems += field_problems(task, record, template=template, sf_subjects=sf_subjects)
    live_linked = {}
    for task in live_local:
        link = next((lk for lk in links if lk.task_id == task.pk), None)
        if link and link.sf_id:
            live_linked.setdefault(link.sf_id, []).append(task.pk)
    for sf_id, record in live_remote.items():
        owners = live_linked.get(sf_id, [])
        if len(owners) != 1:
            problems.append(
                f"R5/R10: live Salesforce task {sf_id} {record['Subject']!r} has "
                f"{len(owners)} live local tasks"
            )
    pending = OutboundChange.objects.filter(user=user)
    for row in pending:
        problems.append(
            f"R11: outbox still holds {row.operation} of task {row.task_id} ({row.state}: "
            f"{row.last_error_code} {row.last_error})"
        )
    return problems


def field_problems(task, record, *, template, sf_subjects=()) -> list[str]:
    """R1/R2: mapped fields equal; unmapped Salesforce values (In Progress, Low) may survive."""
    out = []
    subject = record["Subject"] or ""
    if subject != render_subject(template, task.name) and subject not in sf_subjects:
        out.append(f"R2: task {task.pk} name {task.name!r} vs Subject {subject!r}")
    status = STATUSES.to_local(record["Status"])  # None: not synced (R1)
    if status is not None and status != task.status:
        out.append(f"R1: task {task.pk} status {task.status} vs {record['Status']}")
    priority = mapping.PRIORITY_TO_LOCAL.get(record["Priority"])  # None: Low, not synced
    if priority is not None and priority != task.priority:
        out.append(f"R1: task {task.pk} priority {task.priority} vs {record['Priority']}")
    due = task.due_date.isoformat() if task.due_date else None
    if (record["ActivityDate"] or None) != due:
        out.append(f"R1: task {task.pk} due {due} vs {record['ActivityDate']}")
    if (record["Description"] or "") != (task.details or ""):
        out.append(f"R1: task {task.pk} details {task.details!r} vs {record['Description']!r}")
    return out
