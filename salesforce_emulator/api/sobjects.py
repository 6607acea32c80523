"""The single-record Task resource: /sobjects/Task, /sobjects/Task/{id} and
/sobjects/Task/{externalIdField}/{value}.

"Insert or Update (Upsert) a Record Using an External ID":
https://developer.salesforce.com/docs/platform/api-rest/guide/dome-upsert.html
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import RecordError
from ..schema import OBJECTS, TASK_FIELD_MAP
from ..web import Request, Response, sf_error
from .common import json_body, method_not_allowed, render_row
from .describe import describe, describe_basic
from .replication import replication
from .writes import create_task, delete_task, load_task, update_task

if TYPE_CHECKING:
    from ..core import Emulator


def task_resource(
    emu: Emulator, req: Request, version: str, rest: list[str], user: dict
) -> Response:
    m = req.method
    if not rest:
        if m == "POST":
            body = json_body(req)
            if not isinstance(body, dict):
                raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
            row = create_task(emu, user, body)
            return Response.json({"id": row["Id"], "success": True, "errors": []}, 201)
        if m == "GET":
            return Response.json(
                {"objectDescribe": describe_basic("Task", version), "recentItems": []}
            )
        return method_not_allowed(m, "GET,POST")
    if len(rest) == 1 and rest[0] == "describe":
        return Response.json(describe(emu, user, "Task", version))
    if len(rest) == 1 and rest[0] in ("updated", "deleted"):
        if m != "GET":
            return method_not_allowed(m, "GET")
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


def _by_id(emu: Emulator, req: Request, version: str, user: dict, task_id: str) -> Response:
    m = req.method
    if m == "GET":
        fields = _fields_param(req)
        row = load_task(emu, user, task_id)
        return Response.json(
            render_row(row, fields or [f.name for f in OBJECTS["Task"]], "Task", version)
        )
    if m == "PATCH":
        body = json_body(req)
        if not isinstance(body, dict):
            raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
        update_task(emu, user, task_id, body)
        return Response.empty(204)
    if m == "DELETE":
        delete_task(emu, user, task_id)
        return Response.empty(204)
    return method_not_allowed(m, "GET,PATCH,DELETE")


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
    matches = _external_id_matches(emu, user, fld.name, value)
    if len(matches) > 1:
        # More than one match: 300 with the candidates, nothing written ("Insert or Update (Upsert)
        # a Record Using an External ID").
        return Response.json(
            [f"/services/data/v{version}/sobjects/Task/{r['Id']}" for r in matches], 300
        )
    m = req.method
    if m in ("GET", "DELETE") and not matches:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if m == "GET":
        return Response.json(
            render_row(matches[0], [f.name for f in OBJECTS["Task"]], "Task", version)
        )
    if m == "DELETE":
        delete_task(emu, user, matches[0]["Id"])
        return Response.empty(204)
    if m not in ("PATCH", "POST"):
        return method_not_allowed(m, "GET,PATCH,POST,DELETE")
    return _upsert_answer(emu, req, user, fld.name, value, matches)


def _external_id_matches(emu: Emulator, user: dict, field_name: str, value: str) -> list[dict]:
    """The org's live tasks whose external id field equals `value` (case-insensitively)."""
    return [
        r
        for r in emu.store.tasks(user["org_id"])
        if not r["IsDeleted"]
        and r[field_name] is not None
        and r[field_name].lower() == value.lower()
    ]


def _upsert_answer(
    emu: Emulator, req: Request, user: dict, field_name: str, value: str, matches: list[dict]
) -> Response:
    body = json_body(req)
    if not isinstance(body, dict):
        raise RecordError("JSON_PARSER_ERROR", "Expected a JSON object")
    result = upsert_one(
        emu,
        user,
        field_name,
        value,
        body,
        matches,
        update_only=req.query.get("updateOnly") == "true",
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
