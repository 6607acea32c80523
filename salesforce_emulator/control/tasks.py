"""Control: task back doors (no API call counted): rows written as a person or an automation
in the org would write them, the recycle bin, archiving and maintenance."""

from __future__ import annotations

from .. import housekeeping, ids, records
from ..clock import coerce_ms, truncate_seconds
from ..errors import RecordError
from ..store import DEMO


class TasksMixin:
    def _user(self, user_id: str | None, org_id: str | None) -> dict:
        if user_id:
            return self._store.user(user_id)
        if org_id and ids.to18(org_id) != DEMO["org_id"]:
            return self._store.users(ids.to18(org_id))[0]
        return self._store.user(DEMO["user_id"])

    def _task_user(self, task_id: str) -> tuple[dict, dict]:
        row = self._store.task(task_id)
        if row is None:
            raise KeyError(f"no task {task_id}")
        owner = self._store.user(row["OwnerId"])
        if owner is None or owner["org_id"] != row["org_id"]:
            owner = self._store.users(row["org_id"])[0]
        return row, owner

    def create_task(self, org_id: str | None = None, user_id: str | None = None, **fields) -> dict:
        user = self._user(user_id, org_id)
        with self._store.tx():
            row = records.build_new_task(
                self._store, user["org_id"], user["id"], dict(fields), backdoor=True
            )
            self._store.insert_task(user["org_id"], row)
        return self.get_task(row["Id"])

    def create_tasks(
        self, records_: list[dict], org_id: str | None = None, user_id: str | None = None
    ) -> list[str]:
        """Many tasks in one transaction (fast setup for paging tests)."""
        user = self._user(user_id, org_id)
        out = []
        with self._store.tx():
            for fields in records_:
                row = records.build_new_task(
                    self._store, user["org_id"], user["id"], dict(fields), backdoor=True
                )
                self._store.insert_task(user["org_id"], row)
                out.append(row["Id"])
        return out

    def update_task(self, task_id: str, **fields) -> dict:
        return self._rewrite(task_id, fields, backdoor=True)

    def automation_touch(self, task_id: str, **fields) -> dict:
        """An automated process rewrote the record: only SystemModstamp moves ("System Fields",
        SOAP API Developer Guide, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm)."""
        return self._rewrite(task_id, fields, automation=True)

    def _rewrite(self, task_id: str, fields: dict, **how) -> dict:
        """Update a task behind the API's back; `how` says as whom (records.apply_update)."""
        with self._store.tx():
            before, user = self._task_user(task_id)
            changes = records.apply_update(
                self._store, before["org_id"], user["id"], before, fields, **how
            )
            self._store.update_task(before["Id"], changes)
        return self.get_task(task_id)

    def delete_task(self, task_id: str, when: str | None = None) -> dict:
        with self._store.tx():
            row, user = self._task_user(task_id)
            now = coerce_ms(when) if when else truncate_seconds(self.emu.clock.now_ms())
            self._store.update_task(
                row["Id"],
                {
                    "IsDeleted": True,
                    "SystemModstamp": now,
                    "LastModifiedDate": now,
                    "LastModifiedById": user["id"],
                },
            )
            self._store.x('UPDATE tasks SET deleted_ms = ? WHERE "Id" = ?', (now, row["Id"]))
        return self.get_task(task_id)

    def undelete_task(self, task_id: str) -> dict:
        """ "User restored it from the Recycle Bin": IsDeleted false, dates bumped."""
        with self._store.tx():
            row, user = self._task_user(task_id)
            if not row["IsDeleted"]:
                raise RecordError("UNDELETE_FAILED", "Entity is not in the recycle bin")
            now = truncate_seconds(self.emu.clock.now_ms())
            self._store.update_task(
                row["Id"],
                {
                    "IsDeleted": False,
                    "SystemModstamp": now,
                    "LastModifiedDate": now,
                    "LastModifiedById": user["id"],
                },
            )
            self._store.x('UPDATE tasks SET deleted_ms = NULL WHERE "Id" = ?', (row["Id"],))
        return self.get_task(task_id)

    def get_task(self, task_id: str, include_deleted: bool = True) -> dict | None:
        row = self._store.task(task_id)
        if row is None or (row["IsDeleted"] and not include_deleted):
            return None
        return records.to_api_dict(row)

    def tasks(
        self, org_id: str | None = None, include_deleted: bool = True, include_archived: bool = True
    ) -> list[dict]:
        rows = self._store.tasks(self._org(org_id))
        return [
            records.to_api_dict(r)
            for r in rows
            if (include_deleted or not r["IsDeleted"]) and (include_archived or not r["IsArchived"])
        ]

    def archive_old(self, org_id: str | None = None) -> int:
        return housekeeping.archive_old(self._store, self._org(org_id))

    def run_maintenance(self, org_id: str | None = None) -> None:
        housekeeping.maintenance(self._store, self._org(org_id))
