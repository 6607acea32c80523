"""Org maintenance the emulator runs before each API request: the recycle bin purged after 15
days, closed tasks archived after a year.

- "queryAll()" (SOAP API Developer Guide; archived activities): https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
- "sObject Get Deleted" (REST API Developer Guide): https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/resources_getdeleted.htm
- "GetDeletedResult" (SOAP API Developer Guide): https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_getdeleted_getdeletedresult.htm
"""

from __future__ import annotations

from .clock import from_ms
from .store import DAY_MS, Store


def maintenance(store: Store, org_id: str) -> None:
    """Recycle-bin purge after 15 days and archival of closed tasks older than a year.

    Run before each API request (cheap at emulator scale) and on demand ("queryAll()" on
    archiving, "sObject Get Deleted" on the delete log).
    """
    now = store.clock.now_ms()
    with store.tx():
        purged = store.q(
            'SELECT "Id", deleted_ms FROM tasks WHERE org_id = ? AND "IsDeleted" = 1'
            " AND deleted_ms <= ?",
            (org_id, now - 15 * DAY_MS),
        )
        if purged:
            latest = max(r["deleted_ms"] for r in purged)
            org = store.org(org_id)
            # earliestDateAvailable = timestamp of the last physically deleted object
            # ("GetDeletedResult").
            store.update_org(
                org_id, earliest_available_ms=max(org["earliest_available_ms"], latest)
            )
            for r in purged:
                store.purge_task(r["Id"])
        archive_old(store, org_id, now)


def archive_old(store: Store, org_id: str, now: int | None = None) -> int:
    """Archive closed tasks whose ActivityDate (or, if blank, CreatedDate) is ≥ 365 days old.

    SystemModstamp is not bumped (an UNCONFIRMED choice, see docs/emulator.md).
    """
    now = store.clock.now_ms() if now is None else now
    cutoff_ms = now - 365 * DAY_MS
    cutoff_date = from_ms(cutoff_ms).date().isoformat()
    return store.x(
        'UPDATE tasks SET "IsArchived" = 1 WHERE org_id = ? AND "IsArchived" = 0'
        ' AND "IsClosed" = 1 AND ("ActivityDate" <= ? OR ("ActivityDate" IS NULL'
        ' AND "CreatedDate" <= ?))',
        (org_id, cutoff_date, cutoff_ms),
    )
