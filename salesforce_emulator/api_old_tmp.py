"""REST data API under /services/data/vNN.N/.

Salesforce pages cited below by title (REST API Developer Guide unless said otherwise):
- "Query": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html
- "Query Options Header":
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm
- "queryAll()" (SOAP API Developer Guide; archived activities): https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_queryall.htm
- "Insert or Update (Upsert) a Record Using an External ID": https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html
- "sObject Get Updated": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-getupdated.html
- "sObject Get Deleted": https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api/resources_getdeleted.htm
- "Create Records Using sObject Collections": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
- "Status Codes and Error Responses": https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html
- simple-salesforce's ``query_more`` (simple_salesforce/api.py):
  https://github.com/simple-salesforce/simple-salesforce
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from . import ids, records, soql
from .clock import format_sf, parse_datetime_ms, truncate_minute, truncate_seconds
from .records import RecordError
from .schema import OBJECTS, TASK_FIELD_MAP, canonical_object, field_map
from .store import DAY_MS
from .web import Request, Response, sf_error

if TYPE_CHECKING:
    from .core import Emulator

_VERSION_RE = re.compile(r"^v(\d+\.\d+)$")
MAX_COLLECTION = 200  # sObject Collections limit ("Create Records Using sObject Collections")
DEFAULT_BATCH = 2000  # query batch size, min 200 / max 2000 ("Query Options Header")


class NotFound(Exception):
    pass


def classify(method: str, segments: list[str]) -> tuple[str | None, str | None, list[str]]:
    """(api version, endpoint kind for the call counter, rest of the path)."""
    if len(segments) < 3 or not _VERSION_RE.match(segments[2]):
        return None, None, []
    version = segments[2][1:]
    rest = segments[3:]
    head = rest[0] if rest else ""
    if head in ("query", "queryAll"):
        return version, (head if len(rest) == 1 else "queryMore"), rest
    if head == "sobjects" and len(rest) >= 2:
        obj = canonical_object(rest[1]) or rest[1]
        if len(rest) == 2:
            shape = f"sobjects/{obj}"
        elif len(rest) == 3 and rest[2] in ("describe", "updated", "deleted"):
            shape = f"sobjects/{obj}/{rest[2]}"
        elif len(rest) == 3:
            shape = f"sobjects/{obj}/{{id}}"
        else:
            shape = f"sobjects/{obj}/{{extId}}"
        return version, f"{shape} {method}", rest
    if head == "composite" and len(rest) == 1:
        # One Composite call, however many subrequests: one API call (issue 16).
        return version, ("composite" if method == "POST" else f"composite {method}"), rest
    if head == "composite" and rest[1:] == ["batch"]:
        return version, "composite/batch", rest  # counted once per subrequest
    if head == "composite" and len(rest) == 3 and rest[1] == "sobjects":
        # retrieve by ids (GET or POST composite/sobjects/{sObject})
        obj = canonical_object(rest[2]) or rest[2]
        return version, f"composite/sobjects/{obj} {method}", rest
    if head == "composite" and len(rest) >= 2:
        return version, f"composite/{'/'.join(rest[1:2])} {method}", rest
    return version, f"{head or 'resources'} {method}", rest


def handle(emu: Emulator, req: Request, version: str, rest: list[str], user: dict) -> Response:
    """Dispatch an authenticated, counted API call. Runs inside a store transaction."""
    head = rest[0] if rest else ""
    m = req.method
    if not rest:
        return _resources(emu, req, version, user) if m == "GET" else _method_not_allowed(m, "GET")
    if head in ("query", "queryAll"):
        if m != "GET":
            return _method_not_allowed(m, "GET")
        if len(rest) == 1:
            return query(emu, req, version, user, include_all=head == "queryAll")
        return query_more(emu, req, version, user, rest[1])
    if head == "limits" and len(rest) == 1:
        return Response.json(limits(emu, user)) if m == "GET" else _method_not_allowed(m, "GET")
    if head == "sobjects":
        if len(rest) == 1 and m != "GET":
            return _method_not_allowed(m, "GET")
        if len(rest) == 1:
            return Response.json(
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": 200,
                    "sobjects": [_describe_basic(name, version) for name in OBJECTS],
                }
            )
        obj = canonical_object(rest[1])
        if obj is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(rest) == 3 and rest[2] == "describe" and m != "GET":
            return _method_not_allowed(m, "GET")
        if obj != "Task":
            if len(rest) == 3 and rest[2] == "describe":
                return Response.json(describe(emu, user, obj, version))
            return sf_error(405, "METHOD_NOT_ALLOWED", f"{obj} is read-only in the emulator")
        return _task_resource(emu, req, version, rest[2:], user)
    if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
        return collections(emu, req, version, user, rest[2:])
    if head == "composite" and len(rest) == 1:
        from . import composite

        return composite.composite(emu, req, version, user)
    if head == "composite" and rest[1:] == ["batch"]:
        from . import composite

        return composite.batch(emu, req, version, user)
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def _method_not_allowed(method: str, allowed: str) -> Response:
    """405 naming the methods this resource answers (also in an Allow header)."""
    response = sf_error(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )
    response.headers.append(("Allow", allowed.replace(",", ", ")))
    return response


def _resources(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """The version's resource list; `identity` is the caller's identity URL, as Salesforce
    gives it, so a client rebuilt from stored tokens can find it."""
    base = f"/services/data/v{version}"
    out = {k: f"{base}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "composite")}
    out["identity"] = f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}"
    return Response.json(out)


# -- limits -------------------------------------------------------------------------------
# The documented set of org limits a client reads ("List Org Limits", REST API Developer Guide,
# https://developer.salesforce.com/docs/platform/api-rest/guide/dome-limits.html), with the
# allocations of an Enterprise-like org. The emulator tracks DailyApiRequests (the rolling
# 24 h usage) and DataStorageMB (2 KB a task, as Salesforce counts most records); it serves no
# Bulk, Streaming, email or report API, so the rest stay at their full allocation.
_STATIC_LIMITS = {
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 390,
    "DurableStreamingApiConcurrentClients": 2000,
    "FileStorageMB": 10240,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyLongTermIdMapping": 100000,
    "HourlyODataCallout": 10000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 1000,
    "HourlyShortTermIdMapping": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 10,
    "SingleEmail": 15,
    "StreamingApiConcurrentClients": 2000,
}
DATA_STORAGE_MB = 10240
RECORD_STORAGE_KB = 2


def limits(emu: Emulator, user: dict) -> dict:
    org = emu.store.org(user["org_id"])
    used = emu.store.api_usage(org["id"])
    out = {name: {"Max": n, "Remaining": n} for name, n in _STATIC_LIMITS.items()}
    out["DailyApiRequests"] = {
        "Max": org["daily_api_limit"],
        "Remaining": max(0, org["daily_api_limit"] - used),
    }
    stored = emu.store.q1("SELECT COUNT(*) AS n FROM tasks WHERE org_id = ?", (org["id"],))[
        "n"
    ]  # the recycle bin counts toward storage too
    used_mb = -(-stored * RECORD_STORAGE_KB // 1024)  # ceiling
    out["DataStorageMB"] = {"Max": DATA_STORAGE_MB, "Remaining": max(0, DATA_STORAGE_MB - used_mb)}
    return dict(sorted(out.items()))


def _json_body(req: Request):
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


# -- query --------------------------------------------------------------------------------
def _batch_size(req: Request) -> int:
    m = re.search(r"batchSize\s*=\s*(\d+)", req.header("sforce-query-options"))
    if not m:
        return DEFAULT_BATCH
    return max(200, min(DEFAULT_BATCH, int(m.group(1))))


# Load only the tasks that can match the query's indexed conditions (soql.prefilter); the whole
# WHERE is still evaluated by soql.execute. False loads every task of the org (for comparison).
QUERY_PREFILTER = True


def _rows_for(emu: Emulator, org_id: str, parsed: soql.Query, include_all: bool) -> list[dict]:
    sobject = parsed.sobject
    if sobject == "Task":
        where = soql.prefilter(parsed) if QUERY_PREFILTER else []
        rows = emu.store.tasks(org_id, where)
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


_FIELD_MAPS = {name: field_map(name) for name in OBJECTS}


def render_row(row: dict, fields: list[str], sobject: str, version: str) -> dict:
    fmap = _FIELD_MAPS[sobject]
    out: dict = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}",
        }
    }
    for name in fields:
        fld = fmap[name.lower()]
        value = row.get(fld.name)
        out[fld.name] = format_sf(value) if fld.type == "datetime" else value
    return out


def query(emu: Emulator, req: Request, version: str, user: dict, include_all: bool) -> Response:
    try:
        parsed = soql.parse(req.query.get("q", ""))
    except soql.SoqlError as exc:
        return sf_error(400, exc.code, exc.message)
    rows = soql.execute(parsed, _rows_for(emu, user["org_id"], parsed, include_all))
    if parsed.count:
        return Response.json({"totalSize": len(rows), "done": True, "records": []})
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
    return Response.json(body)


def query_more(emu: Emulator, req: Request, version: str, user: dict, token: str) -> Response:
    locator, _, offset = token.partition("-")
    cursor = emu.cursor(locator)
    if cursor is None or cursor["org_id"] != user["org_id"] or not offset.isdigit():
        return sf_error(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    if req.header("sforce-query-options"):
        cursor["batch"] = _batch_size(req)
    return _page(emu, cursor, int(offset), version)


# -- describe -----------------------------------------------------------------------------
def _describe_basic(name: str, version: str) -> dict:
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
    fields = []
    for f in OBJECTS[sobject]:
        values: list[dict] = []
        if sobject == "Task" and f.name in ("Status", "Priority"):
            kind = "status" if f.name == "Status" else "priority"
            values = [
                {
                    "value": p["api_name"],
                    "label": p["label"],
                    "active": True,
                    "defaultValue": bool(p["is_default"]),
                    "validFor": None,
                }
                for p in emu.store.picklist(user["org_id"], kind)
            ]
        elif f.picklist:
            values = [
                {
                    "value": v,
                    "label": v,
                    "active": True,
                    "defaultValue": v == "Task",
                    "validFor": None,
                }
                for v in f.picklist
            ]
        fields.append(
            {
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
        )
    return {**_describe_basic(sobject, version), "fields": fields}


# -- single-record Task resource ----------------------------------------------------------
def _task_resource(
    emu: Emulator, req: Request, version: str, rest: list[str], user: dict
) -> Response:
    m = req.method
    if not rest:
        if m == "POST":
            body = _json_body(req)
            if not isinstance(body, dict):
                raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
            row = create_task(emu, user, body)
            return Response.json({"id": row["Id"], "success": True, "errors": []}, 201)
        if m == "GET":
            return Response.json(
                {"objectDescribe": _describe_basic("Task", version), "recentItems": []}
            )
        return _method_not_allowed(m, "GET,POST")
    if len(rest) == 1 and rest[0] == "describe":
        return Response.json(describe(emu, user, "Task", version))
    if len(rest) == 1 and rest[0] in ("updated", "deleted"):
        if m != "GET":
            return _method_not_allowed(m, "GET")
        return replication(emu, req, user, rest[0])
    if len(rest) == 1:
        return _by_id(emu, req, version, user, rest[0])
    if len(rest) == 2:
        return _by_external_id(emu, req, version, user, rest[0], rest[1])
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def _fields_param(req: Request) -> list[str] | None:
    raw = req.query.get("fields")
    if not raw:
        return None
    names = []
    for name in (n.strip() for n in raw.split(",") if n.strip()):
        fld = TASK_FIELD_MAP.get(name.lower())
        if fld is None:
            raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type Task")
        names.append(fld.name)
    return names


def load_task(emu: Emulator, user: dict, task_id: str, *, allow_deleted: bool = False) -> dict:
    row = emu.store.task(task_id, user["org_id"]) if ids.is_valid(task_id) else None
    if row is None:
        raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
    if row["IsDeleted"] and not allow_deleted:
        raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [], status=404)
    return row


def _by_id(emu: Emulator, req: Request, version: str, user: dict, task_id: str) -> Response:
    m = req.method
    if m == "GET":
        fields = _fields_param(req)
        row = load_task(emu, user, task_id)
        return Response.json(
            render_row(row, fields or [f.name for f in OBJECTS["Task"]], "Task", version)
        )
    if m == "PATCH":
        body = _json_body(req)
        if not isinstance(body, dict):
            raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
        update_task(emu, user, task_id, body)
        return Response.empty(204)
    if m == "DELETE":
        delete_task(emu, user, task_id)
        return Response.empty(204)
    return _method_not_allowed(m, "GET,PATCH,DELETE")


def _by_external_id(
    emu: Emulator, req: Request, version: str, user: dict, field_name: str, value: str
) -> Response:
    fld = TASK_FIELD_MAP.get(field_name.lower())
    if fld is None or not fld.external_id:
        return sf_error(
            404,
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name}",
        )
    matches = [
        r
        for r in emu.store.tasks(user["org_id"])
        if not r["IsDeleted"] and r[fld.name] is not None and r[fld.name].lower() == value.lower()
    ]
    if len(matches) > 1:
        # More than one match: 300 with the candidates, nothing written ("Insert or Update (Upsert)
        # a Record Using an External ID").
        return Response.json(
            [f"/services/data/v{version}/sobjects/Task/{r['Id']}" for r in matches], 300
        )
    m = req.method
    if m == "GET":
        if not matches:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        return Response.json(
            render_row(matches[0], [f.name for f in OBJECTS["Task"]], "Task", version)
        )
    if m == "DELETE":
        if not matches:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        delete_task(emu, user, matches[0]["Id"])
        return Response.empty(204)
    if m not in ("PATCH", "POST"):
        return _method_not_allowed(m, "GET,PATCH,POST,DELETE")
    body = _json_body(req)
    if not isinstance(body, dict):
        raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
    result = upsert_one(
        emu, user, fld.name, value, body, matches, update_only=req.query.get("updateOnly") == "true"
    )
    # Update answers 200 with created=false, create 201 (newer API; docs/emulator.md).
    return Response.json(result, 201 if result["created"] else 200)


def upsert_one(
    emu: Emulator,
    user: dict,
    field_name: str,
    value: str,
    body: dict,
    matches: list[dict],
    update_only: bool = False,
) -> dict:
    body = {k: v for k, v in body.items() if k != "attributes"}
    for key in list(body):
        if key.lower() in ("id", field_name.lower()):
            if key.lower() == "id" or str(body[key]) != value:
                raise RecordError(
                    "INVALID_FIELD",
                    f"The external ID field '{field_name}' or Id can't be set in the request body",
                    [key],
                )
            body.pop(key)
    if matches:
        update_task(emu, user, matches[0]["Id"], body)
        return {"id": matches[0]["Id"], "success": True, "errors": [], "created": False}
    if update_only:
        raise RecordError("NOT_FOUND", "The requested resource does not exist", status=404)
    row = create_task(emu, user, {**body, field_name: value})
    return {"id": row["Id"], "success": True, "errors": [], "created": True}


# -- writes (shared by single-record and collection calls) --------------------------------
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


# -- getUpdated / getDeleted --------------------------------------------------------------
def replication(emu: Emulator, req: Request, user: dict, which: str) -> Response:
    params = req.query
    if "start" not in params or "end" not in params:
        return sf_error(400, "MISSING_ARGUMENT", "start and end are required query parameters")
    try:
        # A raw "+" in the query string decodes to a space: put it back.
        start = truncate_minute(parse_datetime_ms(params["start"].replace(" ", "+")))
        end = truncate_minute(parse_datetime_ms(params["end"].replace(" ", "+")))
    except ValueError:
        return sf_error(400, "INVALID_REPLICATION_DATE", "Unable to parse the start/end date")
    now = emu.clock.now_ms()
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
    latest = min(end, truncate_minute(now))
    rows = emu.store.tasks(user["org_id"])
    if which == "updated":
        hits = sorted(
            (r for r in rows if not r["IsDeleted"] and start <= r["SystemModstamp"] < latest),
            key=lambda r: (r["SystemModstamp"], r["Id"]),
        )
        return Response.json(
            {"ids": [r["Id"] for r in hits], "latestDateCovered": format_sf(latest)}
        )
    hits = sorted(
        (
            r
            for r in rows
            if r["IsDeleted"] and r["deleted_ms"] is not None and start <= r["deleted_ms"] < latest
        ),
        key=lambda r: r["deleted_ms"],
    )
    org = emu.store.org(user["org_id"])
    return Response.json(
        {
            "deletedRecords": [
                {"id": r["Id"], "deletedDate": format_sf(r["deleted_ms"])} for r in hits
            ],
            "earliestDateAvailable": format_sf(truncate_minute(org["earliest_available_ms"])),
            "latestDateCovered": format_sf(latest),
        }
    )


# -- sObject Collections ------------------------------------------------------------------
class _RollBack(Exception):
    pass


def collections(emu: Emulator, req: Request, version: str, user: dict, rest: list[str]) -> Response:
    m = req.method
    if len(rest) == 1:  # composite/sobjects/{sObject}: retrieve by ids (GET or POST)
        return _collection_retrieve(emu, req, version, user, rest[0])
    if len(rest) == 2:  # composite/sobjects/{sObject}/{extIdField}: upsert
        if m != "PATCH":
            return _method_not_allowed(m, "PATCH")
        return _collection_upsert(emu, req, user, rest)
    if rest:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if m == "DELETE":
        id_list = [i for i in req.query.get("ids", "").split(",") if i]
        all_or_none = req.query.get("allOrNone", "false").lower() == "true"
        if not id_list:
            return sf_error(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(id_list) > MAX_COLLECTION:
            return _too_many()
        items = [(i, None) for i in id_list]
        return _run_collection(emu, user, items, all_or_none, "delete")
    if m not in ("POST", "PATCH"):
        return _method_not_allowed(m, "POST,PATCH,DELETE")
    records_, all_or_none = _collection_body(req)
    op = "create" if m == "POST" else "update"
    return _run_collection(emu, user, [(None, r) for r in records_], all_or_none, op)


def _collection_body(req: Request) -> tuple[list, bool]:
    body = _json_body(req)
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise RecordError("JSON_PARSER_ERROR", "The request body must contain a records array")
    if len(body["records"]) > MAX_COLLECTION:
        raise RecordError(
            "EXCEEDED_ID_LIMIT",
            "record limit reached. cannot submit more than 200 records into this call",
        )
    return body["records"], bool(body.get("allOrNone", False))


def _collection_upsert(emu: Emulator, req: Request, user: dict, rest: list[str]) -> Response:
    obj = canonical_object(rest[0])
    fld = TASK_FIELD_MAP.get(rest[1].lower())
    if obj != "Task" or fld is None or not fld.external_id:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    records_, all_or_none = _collection_body(req)
    items = [(fld.name, r) for r in records_]
    return _run_collection(emu, user, items, all_or_none, "upsert")


def _too_many() -> Response:
    return sf_error(
        400,
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
    )


def _one(emu: Emulator, user: dict, key, record, op: str) -> dict:
    if op == "delete":
        delete_task(emu, user, key)
        return {"id": ids.to18(key), "success": True, "errors": []}
    if not isinstance(record, dict):
        raise RecordError("JSON_PARSER_ERROR", "Each record must be a JSON object")
    obj = (record.get("attributes") or {}).get("type")
    if obj is None:
        raise RecordError("INVALID_TYPE", "Must send a concrete entity type.")
    if canonical_object(obj) != "Task":
        raise RecordError("INVALID_TYPE", f"sObject type '{obj}' is not supported.")
    body = {k: v for k, v in record.items() if k != "attributes"}
    if op == "create":
        row = create_task(emu, user, body)
        return {"id": row["Id"], "success": True, "errors": []}
    if op == "upsert":
        value = next((v for k, v in body.items() if k.lower() == key.lower()), None)
        if value is None:
            raise RecordError("MISSING_ARGUMENT", f"{key} not specified")
        value = str(value)
        body = {k: v for k, v in body.items() if k.lower() != key.lower()}
        matches = [
            r
            for r in emu.store.tasks(user["org_id"])
            if not r["IsDeleted"] and (r[key] or "").lower() == value.lower()
        ]
        if len(matches) > 1:
            raise RecordError(
                "DUPLICATE_EXTERNAL_ID",
                f"{key}: more than one record found for"
                f" external id field: {[r['Id'] for r in matches]}",
                [key],
            )
        return upsert_one(emu, user, key, value, body, matches)
    task_id = body.pop("id", None) or body.pop("Id", None)
    if not task_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["id"])
    row = emu.store.task(task_id, user["org_id"]) if ids.is_valid(task_id) else None
    if row is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["id"])
    update_task(emu, user, task_id, body)
    return {"id": row["Id"], "success": True, "errors": []}


def _run_collection(emu: Emulator, user: dict, items: list, all_or_none: bool, op: str) -> Response:
    results: list[dict] = []
    failed = False
    try:
        with emu.store.savepoint():
            for key, record in items:
                try:
                    with emu.store.savepoint():
                        results.append(_one(emu, user, key, record, op))
                except RecordError as exc:
                    failed = True
                    if exc.code == "NOT_FOUND" and op == "delete":
                        exc = RecordError(
                            "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"
                        )
                    result: dict = {"success": False, "errors": [exc.as_record_error()]}
                    if op in ("update", "delete"):
                        result = {"id": _maybe_id(key, record), **result}
                    results.append(result)
            if failed and all_or_none:
                raise _RollBack
    except _RollBack:
        # allOrNone: failures keep their error, the rest report a roll-back ("Create Records Using
        # sObject Collections").
        rolled = {
            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
            "message": "Record rolled back because not all records were valid and the"
            " request was using AllOrNone header",
            "fields": [],
        }
        results = [
            r
            if not r["success"]
            else {
                **({"id": r["id"]} if op != "create" else {}),
                "success": False,
                "errors": [rolled],
            }
            for r in results
        ]
    return Response.json(results)


def _maybe_id(key, record) -> str | None:
    if isinstance(key, str) and ids.is_valid(key):
        return ids.to18(key)
    if isinstance(record, dict):
        value = record.get("id") or record.get("Id")
        return ids.to18(value) if ids.is_valid(value) else value
    return None


# "Get Records With a Request Body Using sObject Collections": up to 2,000 ids (a GET fits ~800)
# https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_retrieve_post.htm
MAX_RETRIEVE = 2000


def _collection_retrieve(
    emu: Emulator, req: Request, version: str, user: dict, sobject: str
) -> Response:
    """GET composite/sobjects/{sObject}?ids=&fields= or POST it {"ids": [...], "fields": [...]}:
    the records in the order asked, null for an id that is unknown, deleted or not Task's."""
    m = req.method
    if m not in ("GET", "POST"):
        return _method_not_allowed(m, "GET,POST")
    obj = canonical_object(sobject)
    if obj is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if m == "GET":
        id_list = [i.strip() for i in req.query.get("ids", "").split(",") if i.strip()]
        names = [n.strip() for n in req.query.get("fields", "").split(",") if n.strip()]
    else:
        body = _json_body(req)
        if not isinstance(body, dict):
            raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object with ids and fields")
        id_list, names = body.get("ids"), body.get("fields")
        if not isinstance(id_list, list) or not isinstance(names, list):
            raise RecordError("JSON_PARSER_ERROR", "ids and fields must be JSON arrays")
        id_list, names = [str(i) for i in id_list], [str(n) for n in names]
    if not id_list or not names:
        return sf_error(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
    if len(id_list) > MAX_RETRIEVE:
        return sf_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RETRIEVE} records into this call",
        )
    fmap = _FIELD_MAPS[obj]
    fields = []
    for name in names:
        fld = fmap.get(name.lower())
        if fld is None:
            raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}")
        fields.append(fld.name)
    if obj != "Task":
        rows = {r["Id"]: r for r in _rows_for(emu, user["org_id"], soql.Query(obj, []), True)}
    out = []
    for record_id in id_list:
        if obj == "Task":
            row = emu.store.task(record_id, user["org_id"]) if ids.is_valid(record_id) else None
            row = None if row is None or row["IsDeleted"] else row
        else:
            row = rows.get(ids.to18(record_id)) if ids.is_valid(record_id) else None
        out.append(None if row is None else render_row(row, fields, obj, version))
    return Response.json(out)


def dumps(data) -> str:
    return json.dumps(data)
