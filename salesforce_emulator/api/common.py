"""What the API modules share: errors for a bad method or body, and a row rendered as JSON.

"Status Codes and Error Responses" (REST API Developer Guide):
https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html
"""

from __future__ import annotations

from ..clock import format_sf
from ..errors import RecordError
from ..schema import OBJECTS, field_map
from ..web import Request, Response, sf_error


def method_not_allowed(method: str, allowed: str) -> Response:
    """405 naming the methods this resource answers (also in an Allow header)."""
    response = sf_error(
        405, "METHOD_NOT_ALLOWED", f"HTTP Method '{method}' not allowed. Allowed are {allowed}"
    )
    response.headers.append(("Allow", allowed.replace(",", ", ")))
    return response


def json_body(req: Request):
    try:
        return req.json()
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


FIELD_MAPS = {name: field_map(name) for name in OBJECTS}


def render_row(row: dict, fields: list[str], sobject: str, version: str) -> dict:
    fmap = FIELD_MAPS[sobject]
    out: dict = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/v{version}/sobjects/{sobject}/{row['Id']}",
        }
    }
    for name in fields:
        if "." in name:  # a parent's field (Who.Name): rows carry their parents under PARENTS
            _render_parent(out, row, name, version)
            continue
        fld = fmap[name.lower()]
        value = row.get(fld.name)
        out[fld.name] = format_sf(value) if fld.type == "datetime" else value
    return out


PARENTS = "__parents"  # row key: {"Who": {"sobject", "name"} | None, "What": ...}
PARENT_ID_FIELD = {"Who": "WhoId", "What": "WhatId"}


def _render_parent(out: dict, row: dict, name: str, version: str) -> None:
    """A polymorphic parent as the REST API nests it: {"attributes": {"type": "Name", "url": the
    concrete record}, "Name": ...}, or null when the task points to none ("Name" object,
    Object Reference: the type polymorphic foreign keys are traversed through)."""
    relation, _, field = name.partition(".")
    parent = (row.get(PARENTS) or {}).get(relation)
    if parent is None:
        out[relation] = None
        return
    record_id = row[PARENT_ID_FIELD[relation]]
    nested = out.get(relation) or {
        "attributes": {
            "type": "Name",
            "url": f"/services/data/v{version}/sobjects/{parent['sobject']}/{record_id}",
        }
    }
    nested[field] = record_id if field == "Id" else parent["name"]
    out[relation] = nested
