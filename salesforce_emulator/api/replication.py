"""GET /sobjects/Task/updated and /deleted.

- "sObject Get Updated": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getupdated.html
- "sObject Get Deleted": https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/resources_getdeleted.htm
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..clock import format_sf, parse_datetime_ms, truncate_minute
from ..store import DAY_MS
from ..web import Request, Response, sf_error

if TYPE_CHECKING:
    from ..core import Emulator


def replication(emu: Emulator, req: Request, user: dict, which: str) -> Response:
    window = _window(req, which, emu.clock.now_ms())
    if isinstance(window, Response):
        return window
    start, latest = window
    org_id = user["org_id"]
    if which == "updated":
        # Only the rows stamped in the window are loaded (the store's SystemModstamp index).
        stamped = [("SystemModstamp", ">=", (start,)), ("SystemModstamp", "<", (latest,))]
        return _updated(emu.store.tasks(org_id, stamped), start, latest)
    # The recycle bin's entries of the window, from its index: a poll's delete-log check read
    # every task of the org (3,000 rows and more a call in B4's org of 1,000 reps).
    rows = emu.store.deleted_between(org_id, start, latest)
    return _deleted(rows, start, latest, emu.store.org(org_id))


def _window(req: Request, which: str, now: int) -> tuple[int, int] | Response:
    """(start, latest covered) in whole minutes, or the 400 Salesforce gives for bad dates."""
    params = req.query
    if "start" not in params or "end" not in params:
        return sf_error(400, "MISSING_ARGUMENT", "start and end are required query parameters")
    try:
        # A raw "+" in the query string decodes to a space: put it back.
        start = truncate_minute(parse_datetime_ms(params["start"].replace(" ", "+")))
        end = truncate_minute(parse_datetime_ms(params["end"].replace(" ", "+")))
    except ValueError:
        return sf_error(400, "INVALID_REPLICATION_DATE", "Unable to parse the start/end date")
    days = 30 if which == "updated" else 15  # "sObject Get Updated", "sObject Get Deleted"
    if start >= end:
        return sf_error(
            400,
            "INVALID_REPLICATION_DATE",
            "startDate must chronologically precede endDate by more than one minute",
        )
    if start < truncate_minute(now - days * DAY_MS):
        return sf_error(
            400, "INVALID_REPLICATION_DATE", f"startDate cannot be more than {days} days ago"
        )
    return start, min(end, truncate_minute(now))


def _updated(rows: list[dict], start: int, latest: int) -> Response:
    hits = sorted(
        (r for r in rows if not r["IsDeleted"] and start <= r["SystemModstamp"] < latest),
        key=lambda r: (r["SystemModstamp"], r["Id"]),
    )
    return Response.json({"ids": [r["Id"] for r in hits], "latestDateCovered": format_sf(latest)})


def _deleted(hits: list[dict], start: int, latest: int, org: dict) -> Response:
    return Response.json(
        {
            "deletedRecords": [
                {"id": r["Id"], "deletedDate": format_sf(r["deleted_ms"])} for r in hits
            ],
            "earliestDateAvailable": format_sf(truncate_minute(org["earliest_available_ms"])),
            "latestDateCovered": format_sf(latest),
        }
    )
