"""The org's Status picklist (R1): when it is read, what a rejection means, which values to use."""

from __future__ import annotations

from datetime import datetime, timedelta

from tasksync.sync.mapping import StatusMap

PICKLIST_MAX_AGE = timedelta(days=1)
STATUS_REJECTED_CODES = (
    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
    "BAD_VALUE_FOR_RESTRICTED_PICKLIST",
)


def picklist_due(read_at: datetime | None, now: datetime, *, have_rows: bool) -> bool:
    """R1: the org's TaskStatus picklist is read once per org and day; never read, or thrown
    away after Salesforce rejected a status (``read_at`` None), it is read again."""
    return not have_rows or read_at is None or now - read_at >= PICKLIST_MAX_AGE


def status_rejected(code: str, fields, message: str = "") -> bool:
    """R1: Salesforce refused a record for its Status value: the org's picklist changed."""
    return code in STATUS_REJECTED_CODES and ("Status" in (fields or ()) or "Status" in message)


def pick_statuses(rows: list[dict], configured: StatusMap) -> StatusMap:
    """R1 (beyond): the org's open and closed Status values from its TaskStatus picklist: the
    configured value where the org has it, else the org's default, else the first by order."""
    if not rows:
        return configured

    def name(row):
        return row.get("ApiName") or row.get("MasterLabel")

    def pick(candidates, preferred):
        if preferred in [name(r) for r in candidates]:
            return preferred
        defaults = [r for r in candidates if r.get("IsDefault")]
        chosen = defaults or sorted(candidates, key=lambda r: r.get("SortOrder") or 0)
        return name(chosen[0]) if chosen else preferred

    return StatusMap(
        open=pick([r for r in rows if not r.get("IsClosed")], configured.open),
        complete=pick([r for r in rows if r.get("IsClosed")], configured.complete),
    )
