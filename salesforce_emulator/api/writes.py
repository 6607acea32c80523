"""Task writes shared by single-record, collection, composite and UI calls: each builds or
changes the row by the record rules, lets a fault reject it, then stores it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ids, records
from ..clock import truncate_seconds
from ..errors import RecordError

if TYPE_CHECKING:
    from ..core import Emulator


def load_task(emu: Emulator, user: dict, task_id: str, *, allow_deleted: bool = False) -> dict:
    row = emu.store.task(task_id, user["org_id"]) if ids.is_valid(task_id) else None
    if row is None:
        raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
    if row["IsDeleted"] and not allow_deleted:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [], status=404)
    return row


def create_task(emu: Emulator, user: dict, body: dict) -> dict:
    row = records.build_new_task(emu.store, user["org_id"], user["id"], dict(body))
    rejected = emu.faults.check_record(row, "create")
    if rejected:
        raise rejected
    emu.store.insert_task(user["org_id"], dict(row.items()))
    return row


def update_task(emu: Emulator, user: dict, task_id: str, body: dict) -> dict:
    before = load_task(emu, user, task_id)
    changes = records.apply_update(emu.store, user["org_id"], user["id"], before, body)
    rejected = emu.faults.check_record({**before, **changes}, "update")
    if rejected:
        raise rejected
    emu.store.update_task(before["Id"], changes)
    return {**before, **changes}


def delete_task(emu: Emulator, user: dict, task_id: str) -> None:
    row = load_task(emu, user, task_id)
    rejected = emu.faults.check_record(row, "delete")
    if rejected:
        raise rejected
    now = truncate_seconds(emu.clock.now_ms())
    emu.store.update_task(
        row["Id"],
        {
            "IsDeleted": True,
            "SystemModstamp": now,
            "LastModifiedDate": now,
            "LastModifiedById": user["id"],
        },
    )
    emu.store.x('UPDATE tasks SET deleted_ms = ? WHERE "Id" = ?', (now, row["Id"]))
