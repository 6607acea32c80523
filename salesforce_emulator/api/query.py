"""GET /query, /queryAll and their next pages ("Query", "Query Options Header", "queryAll()").

- "Query": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html
- "Query Options Header":
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
- "queryAll()" (SOAP API Developer Guide; archived activities): https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
- simple-salesforce's ``query_more`` (simple_salesforce/api.py):
  https://github.com/simple-salesforce/simple-salesforce
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .. import soql
from ..web import Request, Response, sf_error
from .common import PARENT_ID_FIELD, PARENTS, render_row

if TYPE_CHECKING:
    from ..core import Emulator

DEFAULT_BATCH = 2000  # query batch size, min 200 / max 2000 ("Query Options Header")


def _batch_size(req: Request) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", req.header("sforce-query-options"))
    if not m:
        return DEFAULT_BATCH
    return max(200, min(DEFAULT_BATCH, int(m.group(1))))


def rows_for(emu: Emulator, org_id: str, parsed: soql.Query, include_all: bool) -> list[dict]:
    sobject = parsed.sobject
    if sobject == "Task":
        # Load only the tasks that can match the query's indexed conditions (soql.prefilter);
        # the whole WHERE is still evaluated by soql.execute.
        rows = emu.store.tasks(org_id, soql.prefilter(parsed), soql.needed_columns(parsed))
        if not include_all:
            # query() hides the recycle bin and archived activities ("queryAll()", "Query").
            rows = [r for r in rows if not r["IsDeleted"] and not r["IsArchived"]]
        return rows
    kind = "status" if sobject == "TaskStatus" else "priority"
    return [
        {
            "Id": p["id"],
            "ApiName": p["api_name"],
            "MasterLabel": p["label"],
            "IsDefault": bool(p["is_default"]),
            "SortOrder": p["sort_order"],
            "IsClosed": bool(p["is_closed"]),
            "IsHighPriority": bool(p["is_high"]),
            "CreatedDate": p["created_ms"],
            "SystemModstamp": p["modstamp_ms"],
        }
        for p in emu.store.picklist(org_id, kind)
    ]


def query(emu: Emulator, req: Request, version: str, user: dict, include_all: bool) -> Response:
    try:
        parsed = soql.parse(req.query.get("q", ""))
    except soql.SoqlError as exc:
        return sf_error(400, exc.code, exc.message)
    rows = soql.execute(parsed, rows_for(emu, user["org_id"], parsed, include_all))
    if parsed.count:
        return Response.json({"totalSize": len(rows), "done": True, "records": []})
    if any("." in name for name in parsed.fields):
        _attach_parents(emu, user["org_id"], rows)
    cursor = {
        "org_id": user["org_id"],
        "rows": rows,
        "fields": parsed.fields,
        "sobject": parsed.sobject,
        "batch": _batch_size(req),
    }
    return _page(emu, cursor, 0, version)


def _page(emu: Emulator, cursor: dict, offset: int, version: str) -> Response:
    rows, batch = cursor["rows"], cursor["batch"]
    chunk = rows[offset : offset + batch]
    body: dict = {"totalSize": len(rows), "done": offset + batch >= len(rows)}
    if not body["done"]:
        locator = cursor.get("locator") or emu.new_locator(cursor)
        # An absolute path: simple-salesforce's query_more prefixes https://host.
        body["nextRecordsUrl"] = f"/services/data/v{version}/query/{locator}-{offset + batch}"
    body["records"] = [render_row(r, cursor["fields"], cursor["sobject"], version) for r in chunk]
    emu.count_read(cursor["fields"], len(chunk))
    return Response.json(body)


def query_more(emu: Emulator, req: Request, version: str, user: dict, token: str) -> Response:
    locator, _, offset = token.partition("-")
    cursor = emu.cursor(locator)
    if cursor is None or cursor["org_id"] != user["org_id"] or not offset.isdigit():
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    if req.header("sforce-query-options"):
        cursor["batch"] = _batch_size(req)
    return _page(emu, cursor, int(offset), version)


def _attach_parents(emu: Emulator, org_id: str, rows: list[dict]) -> None:
    """Who/What of each row, looked up once for the whole result (kept with the cursor's rows).
    An id that names no record of the org (the emulator accepts any well-formed id) has none."""
    wanted = [row[f] for row in rows for f in PARENT_ID_FIELD.values() if row.get(f)]
    known = emu.store.related(org_id, wanted) if wanted else {}
    for row in rows:
        row[PARENTS] = {
            relation: known.get(row[field]) if row.get(field) else None
            for relation, field in PARENT_ID_FIELD.items()
        }
