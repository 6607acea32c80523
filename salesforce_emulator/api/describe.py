"""sObject describe: GET /sobjects, /sobjects/{sObject}, /sobjects/{sObject}/describe.

Object Reference: "Task", "TaskStatus", "TaskPriority" (docs/emulator.md lists the pages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..schema import OBJECTS, Field

if TYPE_CHECKING:
    from ..core import Emulator


def describe_basic(name: str, version: str) -> dict:
    prefix = {"Task": "00T", "TaskStatus": "01J", "TaskPriority": "01k"}[name]
    return {
        "name": name,
        "label": name,
        "keyPrefix": prefix,
        "queryable": True,
        "createable": name == "Task",
        "updateable": name == "Task",
        "deletable": name == "Task",
        "undeletable": name == "Task",
        "replicateable": name == "Task",
        "retrieveable": True,
        "urls": {
            "sobject": f"/services/data/v{version}/sobjects/{name}",
            "describe": f"/services/data/v{version}/sobjects/{name}/describe",
            "rowTemplate": f"/services/data/v{version}/sobjects/{name}/{{ID}}",
        },
    }


def describe(emu: Emulator, user: dict, sobject: str, version: str) -> dict:
    fields = [_describe_field(f, _picklist_values(emu, user, sobject, f)) for f in OBJECTS[sobject]]
    return {**describe_basic(sobject, version), "fields": fields}


def _picklist_values(emu: Emulator, user: dict, sobject: str, f: Field) -> list[dict]:
    """Task's Status and Priority come from the org's TaskStatus/TaskPriority; other picklists
    are fixed by the schema."""
    if sobject == "Task" and f.name in ("Status", "Priority"):
        kind = "status" if f.name == "Status" else "priority"
        return [
            {
                "value": p["api_name"],
                "label": p["label"],
                "active": True,
                "defaultValue": bool(p["is_default"]),
                "validFor": None,
            }
            for p in emu.store.picklist(user["org_id"], kind)
        ]
    return [
        {"value": v, "label": v, "active": True, "defaultValue": v == "Task", "validFor": None}
        for v in f.picklist or ()
    ]


def _describe_field(f: Field, values: list[dict]) -> dict:
    return {
        "name": f.name,
        "label": f.label,
        "type": f.type,
        "length": f.length,
        "createable": f.createable,
        "updateable": f.updateable,
        "nillable": f.nillable,
        "filterable": f.filterable,
        "sortable": f.filterable,
        "groupable": f.filterable,
        "defaultedOnCreate": f.defaulted,
        "externalId": f.external_id,
        "restrictedPicklist": f.restricted or f.name in ("Status", "Priority"),
        "custom": f.name.endswith("__c"),
        "picklistValues": values,
        "referenceTo": list(f.reference_to),
    }
