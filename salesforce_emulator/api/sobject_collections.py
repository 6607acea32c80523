"""sObject Collections: create, update, upsert, delete and retrieve up to 200 (2,000) records.

- "Create Records Using sObject Collections": https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-create.html
- "Get Records Using sObject Collections": https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_sobjects_collections_retrieve.htm
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ids, soql
from ..errors import RecordError
from ..schema import TASK_FIELD_MAP, canonical_object
from ..web import Request, Response, sf_error
from .common import FIELD_MAPS, json_body, method_not_allowed, render_row
from .query import rows_for
from .sobjects import upsert_one
from .writes import create_task, delete_task, update_task

if TYPE_CHECKING:
    from ..core import Emulator

MAX_COLLECTION = 200  # sObject Collections limit ("Create Records Using sObject Collections")


class _RollBack(Exception):
    pass


def collections(emu: Emulator, req: Request, version: str, user: dict, rest: list[str]) -> Response:
    m = req.method
    if len(rest) == 1:  # composite/sobjects/{sObject}: retrieve by ids (GET or POST)
        return _collection_retrieve(emu, req, version, user, rest[0])
    if len(rest) == 2:  # composite/sobjects/{sObject}/{extIdField}: upsert
        if m != "PATCH":
            return method_not_allowed(m, "PATCH")
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
        return method_not_allowed(m, "POST,PATCH,DELETE")
    records_, all_or_none = _collection_body(req)
    op = "create" if m == "POST" else "update"
    return _run_collection(emu, user, [(None, r) for r in records_], all_or_none, op)


def _collection_body(req: Request) -> tuple[list, bool]:
    body = json_body(req)
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
        return _upsert_by(emu, user, key, body)
    task_id = body.pop("id", None) or body.pop("Id", None)
    if not task_id:
        raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["id"])
    row = emu.store.task(task_id, user["org_id"]) if ids.is_valid(task_id) else None
    if row is None:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["id"])
    update_task(emu, user, task_id, body)
    return {"id": row["Id"], "success": True, "errors": []}


def _upsert_by(emu: Emulator, user: dict, key: str, body: dict) -> dict:
    """Upsert one record on external id field `key` (its value is in the body)."""
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
                    results.append(_failure(exc, key, record, op))
            if failed and all_or_none:
                raise _RollBack
    except _RollBack:
        results = _rolled_back(results, op)
    return Response.json(results)


def _failure(exc: RecordError, key, record, op: str) -> dict:
    """One record's failed result: its error (a missing record to delete is a bad reference)."""
    if exc.code == "NOT_FOUND" and op == "delete":
        exc = RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    result: dict = {"success": False, "errors": [exc.as_record_error()]}
    if op in ("update", "delete"):
        result = {"id": _maybe_id(key, record), **result}
    return result


def _rolled_back(results: list[dict], op: str) -> list[dict]:
    """allOrNone: failures keep their error, the rest report a roll-back ("Create Records Using
    sObject Collections")."""
    rolled = {
        "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        "message": "Record rolled back because not all records were valid and the"
        " request was using AllOrNone header",
        "fields": [],
    }
    return [
        r
        if not r["success"]
        else {
            **({"id": r["id"]} if op != "create" else {}),
            "success": False,
            "errors": [rolled],
        }
        for r in results
    ]


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
        return method_not_allowed(m, "GET,POST")
    obj = canonical_object(sobject)
    if obj is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    id_list, names = _retrieve_arguments(req)
    if not id_list or not names:
        return sf_error(400, "MISSING_ARGUMENT", "ids and fields parameters are required")
    if len(id_list) > MAX_RETRIEVE:
        return sf_error(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RETRIEVE} records into this call",
        )
    fields = _field_names(obj, names)
    rows = _rows_by_id(emu, user, obj, id_list)
    return Response.json(
        [None if row is None else render_row(row, fields, obj, version) for row in rows]
    )


def _retrieve_arguments(req: Request) -> tuple[list[str], list[str]]:
    """(ids, field names) from the query string (GET) or the JSON body (POST)."""
    if req.method == "GET":
        id_list = [i.strip() for i in req.query.get("ids", "").split(",") if i.strip()]
        names = [n.strip() for n in req.query.get("fields", "").split(",") if n.strip()]
        return id_list, names
    body = json_body(req)
    if not isinstance(body, dict):
        raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object with ids and fields")
    id_list, names = body.get("ids"), body.get("fields")
    if not isinstance(id_list, list) or not isinstance(names, list):
        raise RecordError("JSON_PARSER_ERROR", "ids and fields must be JSON arrays")
    return [str(i) for i in id_list], [str(n) for n in names]


def _field_names(obj: str, names: list[str]) -> list[str]:
    fmap = FIELD_MAPS[obj]
    fields = []
    for name in names:
        fld = fmap.get(name.lower())
        if fld is None:
            raise RecordError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj}")
        fields.append(fld.name)
    return fields


def _rows_by_id(emu: Emulator, user: dict, obj: str, id_list: list[str]) -> list[dict | None]:
    """Each id's live row, in the order asked (None: unknown, deleted, or another object's)."""
    if obj == "Task":
        out = []
        for record_id in id_list:
            row = emu.store.task(record_id, user["org_id"]) if ids.is_valid(record_id) else None
            out.append(None if row is None or row["IsDeleted"] else row)
        return out
    rows = {r["Id"]: r for r in rows_for(emu, user["org_id"], soql.Query(obj, []), True)}
    return [rows.get(ids.to18(i)) if ids.is_valid(i) else None for i in id_list]
