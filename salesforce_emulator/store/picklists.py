"""Picklist values: TaskStatus and TaskPriority.

https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm
https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-taskpriority.html
"""

from __future__ import annotations

from .. import ids


class PicklistsMixin:
    def add_picklist_value(
        self,
        org_id: str,
        kind: str,
        api_name: str,
        *,
        label: str | None = None,
        is_closed: bool = False,
        is_default: bool = False,
        is_high: bool = False,
        sort_order: int | None = None,
    ) -> dict:
        now = self.clock.now_ms()
        with self.tx():
            if sort_order is None:
                sort_order = self._last_sort_order(org_id, kind) + 1
            if is_default:
                self._clear_default(org_id, kind)
            pid = ids.new_id(ids.TASK_STATUS_PREFIX if kind == "status" else "01k")
            self.conn.execute(
                "INSERT INTO picklists VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    pid,
                    org_id,
                    kind,
                    api_name,
                    label or api_name,
                    int(is_closed),
                    int(is_default),
                    int(is_high),
                    sort_order,
                    now,
                    now,
                ),
            )
        return self.q1("SELECT * FROM picklists WHERE id = ?", (pid,))

    def _last_sort_order(self, org_id: str, kind: str) -> int:
        row = self.q1(
            "SELECT MAX(sort_order) AS m FROM picklists WHERE org_id=? AND kind=?", (org_id, kind)
        )
        return row["m"] or 0

    def _clear_default(self, org_id: str, kind: str) -> None:
        # "Only one value in the picklist can be the default value" ("TaskPriority").
        self.conn.execute(
            "UPDATE picklists SET is_default = 0 WHERE org_id=? AND kind=?", (org_id, kind)
        )

    def picklist(self, org_id: str, kind: str) -> list[dict]:
        return self.q(
            "SELECT * FROM picklists WHERE org_id = ? AND kind = ? ORDER BY sort_order, api_name",
            (org_id, kind),
        )

    def picklist_value(self, org_id: str, kind: str, api_name: str) -> dict | None:
        # Picklist values match case-insensitively on write; the stored value keeps its case.
        return self.q1(
            "SELECT * FROM picklists WHERE org_id=? AND kind=? AND api_name = ? COLLATE NOCASE",
            (org_id, kind, api_name),
        )

    def update_picklist_value(self, org_id: str, kind: str, current: str, /, **values) -> None:
        row = self.picklist_value(org_id, kind, current)
        if row is None:
            raise KeyError(f"no {kind} value {current!r}")
        with self.tx():
            if values.get("is_default"):
                self._clear_default(org_id, kind)
            for key, value in values.items():
                if key not in {
                    "api_name",
                    "label",
                    "is_closed",
                    "is_default",
                    "is_high",
                    "sort_order",
                }:
                    raise ValueError(f"unknown picklist attribute {key}")
                self.conn.execute(
                    f"UPDATE picklists SET {key} = ? WHERE id = ?",  # noqa: S608
                    (value, row["id"]),
                )
            self.conn.execute(
                "UPDATE picklists SET modstamp_ms = ? WHERE id = ?",
                (self.clock.now_ms(), row["id"]),
            )

    def delete_picklist_value(self, org_id: str, kind: str, api_name: str) -> None:
        self.x(
            "DELETE FROM picklists WHERE org_id=? AND kind=? AND api_name=? COLLATE NOCASE",
            (org_id, kind, api_name),
        )
