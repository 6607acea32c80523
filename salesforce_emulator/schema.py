"""Field metadata for the emulated sObjects.

Salesforce pages cited below by title (Object Reference for the Salesforce Platform):
- "Task": https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
- "TaskStatus": https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm
- "TaskPriority": https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-taskpriority.html

One table drives storage columns, `describe`, SOQL field checks and write validation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # id, string, textarea, combobox, picklist, boolean, date, datetime, reference, int
    label: str
    length: int = 0
    createable: bool = False
    updateable: bool = False
    nillable: bool = True
    filterable: bool = True
    defaulted: bool = False
    restricted: bool = False
    external_id: bool = False
    picklist: tuple[str, ...] = ()
    reference_to: tuple[str, ...] = ()

    @property
    def sql_type(self) -> str:
        return "INTEGER" if self.type in ("boolean", "datetime", "int") else "TEXT"


def _f(name, type_, label, **kw) -> Field:
    return Field(name, type_, label, **kw)


_RW = {"createable": True, "updateable": True}


def _audit_fields(prefix: str, label: str) -> tuple[Field, Field]:
    """When and by whom a record was created or last modified (CreatedDate, CreatedById...)."""
    system = {"nillable": False, "defaulted": True}
    return (
        _f(f"{prefix}Date", "datetime", f"{label} Date", **system),
        _f(
            f"{prefix}ById",
            "reference",
            f"{label} By ID",
            length=18,
            reference_to=("User",),
            **system,
        ),
    )


TASK_FIELDS: tuple[Field, ...] = (
    _f("Id", "id", "Activity ID", length=18, nillable=False, defaulted=True),
    _f("Subject", "combobox", "Subject", length=255, **_RW),
    _f("ActivityDate", "date", "Due Date Only", **_RW),
    _f("Status", "picklist", "Status", length=40, nillable=False, defaulted=True, **_RW),
    _f("Priority", "picklist", "Priority", length=40, nillable=False, defaulted=True, **_RW),
    _f("IsHighPriority", "boolean", "High Priority", nillable=False, defaulted=True),
    _f(
        "OwnerId",
        "reference",
        "Assigned To ID",
        length=18,
        nillable=False,
        defaulted=True,
        reference_to=("User", "Group"),
        **_RW,
    ),
    _f("Description", "textarea", "Description", length=32000, filterable=False, **_RW),
    _f(
        "Type", "picklist", "Type", length=40, picklist=("Call", "Email", "Meeting", "Other"), **_RW
    ),
    _f("WhoId", "reference", "Name ID", length=18, reference_to=("Contact", "Lead"), **_RW),
    _f(
        "WhatId",
        "reference",
        "Related To ID",
        length=18,
        reference_to=("Account", "Opportunity"),
        **_RW,
    ),
    _f("IsClosed", "boolean", "Closed", nillable=False, defaulted=True),
    _f("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True),
    _f("IsArchived", "boolean", "Archived", nillable=False, defaulted=True),
    _f(
        "IsRecurrence",
        "boolean",
        "Create Recurring Series of Tasks",
        nillable=False,
        defaulted=True,
        createable=True,
    ),
    _f(
        "TaskSubtype",
        "picklist",
        "Task Subtype",
        length=40,
        restricted=True,
        createable=True,
        picklist=("Task", "Email", "LinkedIn", "ListEmail", "Call"),
    ),
    _f("IsReminderSet", "boolean", "Reminder Set", nillable=False, defaulted=True, **_RW),
    _f("ReminderDateTime", "datetime", "Reminder Date/Time", **_RW),
    _f("CompletedDateTime", "datetime", "Completed Date/Time"),
    *_audit_fields("Created", "Created"),
    *_audit_fields("LastModified", "Last Modified"),
    _f("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True),
    # Emulator-defined external-id custom field for idempotent upserts. In a real org it would
    # have to be defined on Activity (not stated in "Task"; see docs/emulator.md).
    _f("TasksyncId__c", "string", "Tasksync ID", length=255, external_id=True, **_RW),
)

_PICKLIST_COMMON = (
    _f("Id", "id", "Id", length=18, nillable=False),
    _f("ApiName", "string", "Api Name", length=255, nillable=False),
    _f("MasterLabel", "string", "Master Label", length=255, nillable=False),
    _f("IsDefault", "boolean", "Is Default", nillable=False),
    _f("SortOrder", "int", "Sort Order"),
    _f("CreatedDate", "datetime", "Created Date", nillable=False),
    _f("SystemModstamp", "datetime", "System Modstamp", nillable=False),
)
TASK_STATUS_FIELDS = (*_PICKLIST_COMMON, _f("IsClosed", "boolean", "Is Closed", nillable=False))
TASK_PRIORITY_FIELDS = (
    *_PICKLIST_COMMON,
    _f("IsHighPriority", "boolean", "Is High Priority", nillable=False),
)

OBJECTS: dict[str, tuple[Field, ...]] = {
    "Task": TASK_FIELDS,
    "TaskStatus": TASK_STATUS_FIELDS,
    "TaskPriority": TASK_PRIORITY_FIELDS,
}


def field_map(sobject: str) -> dict[str, Field]:
    """Case-insensitive lookup: SOQL and REST field names are case-insensitive."""
    return {f.name.lower(): f for f in OBJECTS[sobject]}


def canonical_object(name: str) -> str | None:
    for key in OBJECTS:
        if key.lower() == name.lower():
            return key
    return None


TASK_FIELD_MAP = field_map("Task")

DEFAULT_STATUSES = (
    # (ApiName, IsClosed, IsDefault) — "Task", "TaskStatus": default "Not Started".
    ("Not Started", False, True),
    ("In Progress", False, False),
    ("Completed", True, False),
    ("Waiting on someone else", False, False),
    ("Deferred", False, False),
)
DEFAULT_PRIORITIES = (
    # (ApiName, IsHighPriority, IsDefault) — "TaskPriority": High/Normal/Low, default Normal.
    ("High", True, False),
    ("Normal", False, True),
    ("Low", False, False),
)
