"""Task write rules, derived fields and rendering (maintenance: housekeeping.py).

Salesforce pages cited below by title:
- "Task" (Object Reference for the Salesforce Platform):
  https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm
- "System Fields" (SOAP API Developer Guide): https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm
- "Valid Date and DateTime Formats" (REST API Developer Guide): https://developer.salesforce.com/docs/platform/api-rest/guide/intro-valid-date-formats.html
- "Create Records Using sObject Collections": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
- "Status Codes and Error Responses": https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html

Everything here runs inside a store transaction opened by the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from . import ids
from .clock import coerce_ms, format_sf, truncate_seconds
from .errors import RecordError
from .field_values import convert
from .schema import TASK_FIELD_MAP, TASK_FIELDS, Field
from .store import Store

READ_ONLY_ON_INPUT = {"attributes"}
# Fields the back door may set directly (test setup: explicit audit dates, flags).
BACKDOOR_FIELDS = {
    "CreatedDate",
    "LastModifiedDate",
    "SystemModstamp",
    "CreatedById",
    "LastModifiedById",
    "IsArchived",
    "CompletedDateTime",
    "TaskSubtype",
    "IsRecurrence",
}


Validator = Callable[[dict], "RecordError | None"]


def _check_fields(body: dict, allowed: Callable[[Field], bool]) -> dict[Field, object]:
    out: dict[Field, object] = {}
    bad: list[str] = []
    for key, value in body.items():
        if key in READ_ONLY_ON_INPUT:
            continue
        field = TASK_FIELD_MAP.get(key.lower())
        if field is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{key}' on sobject of type Task", []
            )
        if not allowed(field):
            bad.append(field.name)
            continue
        out[field] = value
    if bad:
        raise RecordError(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {', '.join(bad)}. Please check the security settings"
            " of this field and verify that it is read/write for your profile or permission set.",
            bad,
        )
    return out


def _derive(row: dict, before: dict | None, org_id: str, store: Store, now: int) -> None:
    """IsClosed/IsHighPriority follow the picklists; CompletedDateTime as "Task" describes it."""
    status = store.picklist_value(org_id, "status", row["Status"])
    priority = store.picklist_value(org_id, "priority", row["Priority"])
    row["IsClosed"] = bool(status and status["is_closed"])
    row["IsHighPriority"] = bool(priority and priority["is_high"])
    was_closed = bool(before and before["IsClosed"])
    if row["IsClosed"] and not was_closed:
        row["CompletedDateTime"] = now
    elif not row["IsClosed"]:
        row["CompletedDateTime"] = None


def build_new_task(
    store: Store, org_id: str, user_id: str, body: dict, *, backdoor: bool = False
) -> dict:
    """Validate a create body and return the full row to insert."""
    if ("Id" in body or "id" in body) and not backdoor:
        raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
    backdoor_values = {k: body.pop(k) for k in list(body) if backdoor and k in BACKDOOR_FIELDS}
    fields = _check_fields(
        {k: v for k, v in body.items() if k.lower() != "id"}, lambda f: f.createable
    )
    now = truncate_seconds(store.clock.now_ms())  # Salesforce stores whole seconds (.000)
    row: dict = {f.name: None for f in TASK_FIELDS}
    row.update(
        Id=ids.new_id(ids.TASK_PREFIX),
        OwnerId=user_id,
        IsClosed=False,
        IsDeleted=False,
        IsArchived=False,
        IsRecurrence=False,
        IsReminderSet=False,
        IsHighPriority=False,
        TaskSubtype="Task",
        CreatedDate=now,
        CreatedById=user_id,
        LastModifiedDate=now,
        LastModifiedById=user_id,
        SystemModstamp=now,
    )
    status = next((p for p in store.picklist(org_id, "status") if p["is_default"]), None)
    priority = next((p for p in store.picklist(org_id, "priority") if p["is_default"]), None)
    row["Status"] = status["api_name"] if status else "Not Started"
    row["Priority"] = priority["api_name"] if priority else "Normal"
    for field, value in fields.items():
        row[field.name] = convert(field, value, org_id, store)
    _derive(row, None, org_id, store, now)
    for key, value in backdoor_values.items():
        row[key] = coerce_ms(value) if TASK_FIELD_MAP[key.lower()].type == "datetime" else value
    if backdoor and ("id" in body or "Id" in body):
        row["Id"] = ids.to18(body.get("Id") or body["id"])
    return row


def apply_update(
    store: Store,
    org_id: str,
    user_id: str,
    before: dict,
    body: dict,
    *,
    backdoor: bool = False,
    automation: bool = False,
) -> dict:
    """Validate an update body against the current row; return the changed columns."""
    body = {k: v for k, v in body.items() if k.lower() != "id"}
    backdoor_values = {k: body.pop(k) for k in list(body) if backdoor and k in BACKDOOR_FIELDS}
    fields = _check_fields(body, lambda f: f.updateable)
    now = truncate_seconds(store.clock.now_ms())
    row = dict(before)
    for field, value in fields.items():
        row[field.name] = convert(field, value, org_id, store)
    _derive(row, before, org_id, store, now)
    if before["IsClosed"] and row["IsClosed"]:
        row["CompletedDateTime"] = before["CompletedDateTime"]  # unchanged while it stays closed
    row["SystemModstamp"] = now
    if not automation:
        # LastModifiedDate is "when a user last modified"; automation only bumps the
        # SystemModstamp ("Task", "System Fields").
        row["LastModifiedDate"] = now
        row["LastModifiedById"] = user_id
    for key, value in backdoor_values.items():
        row[key] = coerce_ms(value) if TASK_FIELD_MAP[key.lower()].type == "datetime" else value
    return {
        k: v
        for k, v in row.items()
        if k in TASK_FIELD_MAP_NAMES
        and before.get(k) != v
        or k in ("SystemModstamp", "LastModifiedDate", "LastModifiedById")
    }


TASK_FIELD_MAP_NAMES = {f.name for f in TASK_FIELDS}


def render(row: dict, fields: list[str] | None, version: str, sobject: str = "Task") -> dict:
    out: dict = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}",
        }
    }
    names = fields if fields is not None else [f.name for f in TASK_FIELDS]
    for name in names:
        field = TASK_FIELD_MAP[name.lower()]
        value = row.get(field.name)
        out[field.name] = format_sf(value) if field.type == "datetime" else value
    return out


def to_api_dict(row: dict) -> dict:
    """Back-door view of a task: API field formats, without attributes."""
    out = render(row, None, "59.0")
    out.pop("attributes")
    return out
