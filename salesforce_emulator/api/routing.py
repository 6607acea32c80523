"""Which endpoint a path names (for the call counter) and the dispatch to its module."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..schema import OBJECTS, canonical_object
from ..web import Request, Response, sf_error
from . import composite, sobject_collections
from .common import method_not_allowed
from .describe import describe, describe_basic
from .limits import limits
from .query import query, query_more
from .sobjects import task_resource

if TYPE_CHECKING:
    from ..core import Emulator

_VERSION_RE = re.compile(r"^v(\d+\.\d+)$")


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
        return _resources(emu, req, version, user) if m == "GET" else method_not_allowed(m, "GET")
    if head in ("query", "queryAll"):
        if m != "GET":
            return method_not_allowed(m, "GET")
        if len(rest) == 1:
            return query(emu, req, version, user, include_all=head == "queryAll")
        return query_more(emu, req, version, user, rest[1])
    if head == "limits" and len(rest) == 1:
        return Response.json(limits(emu, user)) if m == "GET" else method_not_allowed(m, "GET")
    if head == "sobjects":
        return _sobjects(emu, req, version, rest, user)
    if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
        return sobject_collections.collections(emu, req, version, user, rest[2:])
    if head == "composite" and len(rest) == 1:
        return composite.composite(emu, req, version, user)
    if head == "composite" and rest[1:] == ["batch"]:
        return composite.batch(emu, req, version, user)
    return sf_error(404, "NOT_FOUND", "The requested resource does not exist")


def _sobjects(emu: Emulator, req: Request, version: str, rest: list[str], user: dict) -> Response:
    """/sobjects (the list), /sobjects/{sObject}/describe, and Task's own resources."""
    m = req.method
    if len(rest) == 1 and m != "GET":
        return method_not_allowed(m, "GET")
    if len(rest) == 1:
        return Response.json(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [describe_basic(name, version) for name in OBJECTS],
            }
        )
    obj = canonical_object(rest[1])
    if obj is None:
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
    if len(rest) == 3 and rest[2] == "describe" and m != "GET":
        return method_not_allowed(m, "GET")
    if obj != "Task":
        if len(rest) == 3 and rest[2] == "describe":
            return Response.json(describe(emu, user, obj, version))
        return sf_error(405, "METHOD_NOT_ALLOWED", f"{obj} is read-only in the emulator")
    return task_resource(emu, req, version, rest[2:], user)


def _resources(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """The version's resource list; `identity` is the caller's identity URL, as Salesforce
    gives it, so a client rebuilt from stored tokens can find it."""
    base = f"/services/data/v{version}"
    out = {k: f"{base}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "composite")}
    out["identity"] = f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}"
    return Response.json(out)
