"""R1/R2 field mapping between a local task and a Salesforce Task. Pure: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from accounts.subject import render_subject, template_has_name

# Local field -> Salesforce field (R1). Owner is set once, at creation.
FIELD_MAP = {
    "name": "Subject",
    "status": "Status",
    "priority": "Priority",
    "due_date": "ActivityDate",
    "details": "Description",
}
REMOTE_TO_LOCAL = {remote: local for local, remote in FIELD_MAP.items()}
LOCAL_FIELDS = tuple(FIELD_MAP)
REMOTE_FIELDS = tuple(FIELD_MAP.values())
PRIORITY_TO_REMOTE = {"normal": "Normal", "high": "High"}
PRIORITY_TO_LOCAL = {remote: local for local, remote in PRIORITY_TO_REMOTE.items()}
UNTITLED = "Untitled task"


@dataclass(frozen=True)
class StatusMap:
    """The org's Status values for open and complete (R1; detected from TaskStatus)."""

    open: str = "Not Started"
    complete: str = "Completed"

    def to_remote(self, status: str) -> str:
        return self.complete if status == "complete" else self.open

    def to_local(self, value: str | None) -> str | None:
        """None for a status tasksync does not map (In Progress, Deferred…): nothing changes."""
        if value == self.open:
            return "open"
        if value == self.complete:
            return "complete"
        return None


def local_snapshot(task) -> dict:
    """A task's mapped fields as JSON values (dates as ISO strings)."""
    return {
        "name": task.name,
        "status": task.status,
        "priority": task.priority,
        "due_date": task.due_date.isoformat() if task.due_date else None,
        "details": task.details or "",
    }


def _text(value) -> str:
    """Text from Salesforce as a database can store it: NUL characters are dropped (PostgreSQL
    text cannot hold them, and no person typed one)."""
    return (value or "").replace("\x00", "")


def remote_snapshot(record: dict) -> dict:
    """A Salesforce record's mapped fields, normalised (a null Description is empty text)."""
    return {
        "Subject": _text(record.get("Subject")),
        "Status": record.get("Status"),
        "Priority": record.get("Priority"),
        "ActivityDate": record.get("ActivityDate") or None,
        "Description": _text(record.get("Description")),
    }


def remote_value(field: str, values: dict, *, template: str, statuses: StatusMap):
    """The Salesforce value for one local field of ``values`` (a local snapshot)."""
    if field == "name":
        return render_subject(template, values["name"])
    if field == "status":
        return statuses.to_remote(values["status"])
    if field == "priority":
        return PRIORITY_TO_REMOTE[values["priority"]]
    if field == "due_date":
        # R1/R16: ActivityDate is a calendar date, sent as yyyy-MM-dd, never shifted.
        return values["due_date"]
    if field == "details":
        return values["details"] or None
    raise KeyError(field)


def create_payload(values: dict, *, template: str, statuses: StatusMap, owner_id: str) -> dict:
    payload = {
        FIELD_MAP[f]: remote_value(f, values, template=template, statuses=statuses)
        for f in LOCAL_FIELDS
    }
    payload["OwnerId"] = owner_id
    payload["TaskSubtype"] = "Task"
    return payload


def pushable_fields(fields, *, template: str) -> list[str]:
    """R2: without {{activity_subject}} the Subject is written at creation only."""
    return [f for f in fields if f != "name" or template_has_name(template)]


def update_payload(values: dict, fields, *, template: str, statuses: StatusMap) -> dict:
    """R1: only the fields that changed locally travel; unmapped Salesforce values survive."""
    return {
        FIELD_MAP[f]: remote_value(f, values, template=template, statuses=statuses)
        for f in pushable_fields(fields, template=template)
    }


def local_value(remote_field: str, snapshot: dict, *, statuses: StatusMap):
    """The local value for a changed Salesforce field, or ``NOT_MAPPED`` when nothing changes."""
    value = snapshot[remote_field]
    if remote_field == "Status":
        mapped = statuses.to_local(value)
        return NOT_MAPPED if mapped is None else mapped
    if remote_field == "Priority":
        return PRIORITY_TO_LOCAL.get(value, NOT_MAPPED)  # R1: Low is not synced
    if remote_field == "ActivityDate":
        return value
    if remote_field == "Description":
        return value or ""
    if remote_field == "Subject":
        return NOT_MAPPED  # R2: a Subject edited in Salesforce never renames a local task
    raise KeyError(remote_field)


class _NotMapped:
    def __repr__(self):
        return "NOT_MAPPED"


NOT_MAPPED = _NotMapped()


def import_values(snapshot: dict, *, statuses: StatusMap) -> dict:
    """Local fields for a task created by import (R1: Subject → name only here)."""
    name = " ".join((snapshot["Subject"] or "").split())[:255] or UNTITLED
    status = statuses.to_local(snapshot["Status"]) or "open"
    priority = PRIORITY_TO_LOCAL.get(snapshot["Priority"], "normal")
    return {
        "name": name,
        "status": status,
        "priority": priority,
        "due_date": snapshot["ActivityDate"],
        "details": (snapshot["Description"] or "")[:32_000],
    }


def as_model_value(field: str, value):
    """A snapshot value in the type the model field takes."""
    if field == "due_date" and value:
        return date.fromisoformat(value[:10])
    return value


def related_names(record: dict) -> dict:
    """R14: the Who and What names Salesforce nested in the record (null parents: blank)."""
    return {
        field: ((record.get(relation) or {}).get("Name") or "")[:255]
        for field, relation in (("related_who", "Who"), ("related_what", "What"))
    }
