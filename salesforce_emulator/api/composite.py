"""The Composite resources: POST /composite (dependent subrequests with references) and
POST /composite/batch (independent subrequests). REST API Developer Guide, "Send Multiple
Requests Using Composite" (https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html)
with "Composite Request Body" and "Composite Subrequest Result", and "Composite Batch"
(https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_batch.htm)
with "Batch Request Body".

/composite counts as ONE API call toward the org's limit whatever it holds (up to 25
subrequests, at most 5 of them query/queryAll/queryMore or sObject Collections operations).
/composite/batch charges each subrequest to the limit, as Salesforce documents.
Subrequests run through the same handlers as top-level calls (routing.handle), inside the
top-level call's transaction, each in its own savepoint.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..records import RecordError
from ..web import Request, Response, sf_error
from . import routing
from .common import json_body, method_not_allowed

if TYPE_CHECKING:
    from ..core import Emulator

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTION = 5
MAX_BATCH = 25
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
FORBIDDEN_HEADERS = ("accept", "authorization", "content-type")

_REF_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")
_REF_RE = re.compile(r"@\{([^{}]+)\}")
_STEP_RE = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")

ROLLED_BACK = (
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)


class _RollBack(Exception):
    pass


class _Halted(Exception):
    """A subrequest not run: its reference cannot be resolved (PROCESSING_HALTED)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Sub:
    method: str
    url: str
    reference_id: str
    body: object = None
    headers: dict = field(default_factory=dict)


def _request_error(message: str, code: str = "JSON_PARSER_ERROR") -> Response:
    return sf_error(400, code, message)


def _is_query_or_collection(url: str) -> bool:
    """Query, QueryAll, QueryMore and sObject Collections count toward the limit of 5. A url
    that is a reference to a nextRecordsUrl (the way query pages are chained) is a QueryMore."""
    path = url.split("?", 1)[0]
    if path.startswith("@{"):
        return path.rstrip("}").endswith(".nextRecordsUrl")
    parts = [p for p in path.split("/") if p]
    rest = parts[3:] if len(parts) >= 3 else []
    head = rest[0] if rest else ""
    return head in ("query", "queryAll") or (head == "composite" and rest[1:2] == ["sobjects"])


def _supported(url: str) -> bool:
    """Composite serves sObject resources, Query, QueryAll and sObject Collections."""
    if url.startswith("@{"):
        return True
    parts = [p for p in url.split("?", 1)[0].split("/") if p]
    if (
        len(parts) < 4
        or parts[:2] != ["services", "data"]
        or not re.match(r"^v\d+\.\d+$", parts[2])
    ):
        return False
    head = parts[3]
    return head in ("sobjects", "query", "queryAll") or (
        head == "composite" and parts[4:5] == ["sobjects"]
    )


def _parse_composite(body) -> tuple[list[_Sub], bool] | Response:
    if not isinstance(body, dict) or not isinstance(body.get("compositeRequest"), list):
        return _request_error("The request body must contain a compositeRequest array.")
    items = body["compositeRequest"]
    if not items:
        return _request_error("compositeRequest must contain at least one subrequest.")
    if len(items) > MAX_SUBREQUESTS:
        return _request_error(
            f"Exceeded max limit of subrequests, maximum allowed {MAX_SUBREQUESTS}"
            f" (received {len(items)})",
            "LIMIT_EXCEEDED",
        )
    subs: list[_Sub] = []
    seen: set[str] = set()
    for item in items:
        if not isinstance(item, dict):
            return _request_error("Each subrequest must be a JSON object.")
        for name in ("method", "url", "referenceId"):
            if not isinstance(item.get(name), str) or not item[name]:
                return _request_error(f"'{name}' is a required field.")
        method, url, ref = item["method"], item["url"], item["referenceId"]
        if method not in METHODS:  # case-sensitive, as documented
            return _request_error(f"Invalid HTTP method '{method}' for subrequest '{ref}'.")
        if not _REF_ID_RE.match(ref):
            return _request_error(
                f"Provided referenceId ('{ref}') must start with a letter or a number, and it"
                " can contain only letters, numbers and underscores ('_').",
                "INVALID_INPUT",
            )
        if ref in seen:
            return _request_error(
                f"Duplicate referenceId provided in the request: {ref}", "INVALID_INPUT"
            )
        seen.add(ref)
        if not url.startswith(("/services/data/v", "@{")):
            return _request_error(
                f"The URL must start with /services/data/vXX.X/: {url}", "INVALID_URL"
            )
        if not _supported(url):
            return _request_error(f"Composite does not support the resource {url}", "INVALID_URL")
        headers = item.get("httpHeaders") or {}
        if not isinstance(headers, dict):
            return _request_error("httpHeaders must be a JSON object.")
        if any(str(k).lower() in FORBIDDEN_HEADERS for k in headers):
            return _request_error(
                "Subrequests inherit Accept, Authorization and Content-Type from the top-level"
                " request; don't specify them.",
                "INVALID_INPUT",
            )
        subs.append(
            _Sub(method, url, ref, item.get("body"), {str(k): str(v) for k, v in headers.items()})
        )
    heavy = sum(1 for s in subs if _is_query_or_collection(s.url))
    if heavy > MAX_QUERY_OR_COLLECTION:
        return _request_error(
            f"Up to {MAX_QUERY_OR_COLLECTION} subrequests can be sObject Collections or query"
            f" operations (received {heavy})",
            "LIMIT_EXCEEDED",
        )
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        return _request_error("allOrNone must be a boolean.")
    return subs, all_or_none


# -- references -----------------------------------------------------------------------------
def _resolve(expr: str, results: dict, failed: set[str]):
    """The value @{expr} names: referenceId then .field / [index] steps into its body."""
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_]*)", expr)
    ref = m.group(1) if m else expr
    if ref in failed:
        raise _Halted(
            f"Invalid reference specified. No value for {expr} found in {ref}."
            f" Provided referenceId ('{ref}') refers to a failed subrequest."
        )
    if ref not in results:
        raise _Halted(
            f"Invalid reference specified. No value for {expr} found in {ref}."
            f" Provided referenceId ('{ref}') is not defined by an earlier subrequest."
        )
    value = results[ref]
    pos = len(ref)
    while pos < len(expr):
        step = _STEP_RE.match(expr, pos)
        if step is None:
            raise _Halted(f"Invalid reference specified. No value for {expr} found in {ref}.")
        key, index = step.group(1), step.group(2)
        if key is not None and isinstance(value, dict) and key in value:
            value = value[key]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise _Halted(f"Invalid reference specified. No value for {expr} found in {ref}.")
        pos = step.end()
    if isinstance(value, dict | list):
        raise _Halted(f"Invalid reference specified. {expr} in {ref} is not a referenceable value.")
    return value


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substitute(value, results: dict, failed: set[str]):
    """Replace every @{ref...} in strings of `value` (a lone reference keeps its JSON type)."""
    if isinstance(value, str):
        whole = _REF_RE.fullmatch(value)
        if whole:
            return _resolve(whole.group(1), results, failed)
        return _REF_RE.sub(lambda m: _as_text(_resolve(m.group(1), results, failed)), value)
    if isinstance(value, dict):
        return {k: _substitute(v, results, failed) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, results, failed) for v in value]
    return value


# -- running one subrequest -----------------------------------------------------------------
def _run(emu: Emulator, top: Request, user: dict, method: str, url: str, body, headers: dict):
    """(status, body as JSON, headers) of one subrequest, through the top-level handlers."""
    path, _, qs = url.partition("?")
    req = Request(
        method=method,
        raw_path=path,
        query_string=qs,
        headers={
            **{k.lower(): v for k, v in headers.items()},
            "content-type": "application/json",
            "host": top.header("host", "127.0.0.1"),
        },
        body=b"" if body is None else json.dumps(body).encode(),
        scheme=top.scheme,
        port_kind=top.port_kind,
    )
    segs = req.segments
    version, _kind, rest = routing.classify(method, segs)
    if segs[:2] != ["services", "data"] or version is None:
        return (
            404,
            [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
            {},
        )
    try:
        with emu.store.savepoint():
            response = routing.handle(emu, req, version, rest, user)
            if response.status >= 400:
                raise _Failed(response)
    except _Failed as failed:
        response = failed.response
    except RecordError as exc:
        response = Response.json([exc.as_error()], exc.status)
    data = json.loads(response.body) if response.body else None
    out_headers = {}
    if response.status == 201 and isinstance(data, dict) and data.get("id"):
        obj = rest[1] if len(rest) > 1 else "Task"
        out_headers["Location"] = f"/services/data/v{version}/sobjects/{obj}/{data['id']}"
    return response.status, data, out_headers


class _Failed(Exception):
    """An error answer: roll its savepoint back (a handler may have written before failing)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def _result(status: int, body, headers: dict, ref: str) -> dict:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}


def _halted(message: str, ref: str) -> dict:
    return _result(400, [{"errorCode": "PROCESSING_HALTED", "message": message}], {}, ref)


def composite(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """POST /composite. Runs inside the top-level call's store transaction."""
    if req.method == "GET":
        base = f"/services/data/v{version}/composite"
        return Response.json({"batch": f"{base}/batch", "sobjects": f"{base}/sobjects"})
    if req.method != "POST":
        return method_not_allowed(req.method, "GET,POST")
    parsed = _parse_composite(json_body(req))
    if isinstance(parsed, Response):
        return parsed
    subs, all_or_none = parsed
    out: list[dict] = []
    results: dict[str, object] = {}
    failed: set[str] = set()
    try:
        with emu.store.savepoint():
            for i, sub in enumerate(subs):
                try:
                    url = _substitute(sub.url, results, failed)
                    body = _substitute(sub.body, results, failed)
                except _Halted as halt:
                    out.append(_halted(halt.message, sub.reference_id))
                    failed.add(sub.reference_id)
                    if all_or_none:
                        _roll_back(out, subs, i)
                        raise _RollBack from None
                    continue
                if not isinstance(url, str) or not url.startswith("/services/data/v"):
                    out.append(
                        _halted(f"Invalid reference specified in url: {sub.url}", sub.reference_id)
                    )
                    failed.add(sub.reference_id)
                    if all_or_none:
                        _roll_back(out, subs, i)
                        raise _RollBack
                    continue
                status, data, headers = _run(emu, req, user, sub.method, url, body, sub.headers)
                out.append(_result(status, data, headers, sub.reference_id))
                if status >= 400:
                    failed.add(sub.reference_id)
                    if all_or_none:
                        _roll_back(out, subs, i)
                        raise _RollBack
                else:
                    results[sub.reference_id] = data
    except _RollBack:
        pass
    return Response.json({"compositeResponse": out})


def _roll_back(out: list[dict], subs: list[_Sub], failed_at: int) -> None:
    """allOrNone: the failure keeps its error; every other subrequest, run or not, reports the
    roll-back with 400 PROCESSING_HALTED."""
    for j, result in enumerate(out):
        if j != failed_at:
            out[j] = _halted(ROLLED_BACK[1], result["referenceId"])
    out.extend(_halted(ROLLED_BACK[1], s.reference_id) for s in subs[failed_at + 1 :])


# -- /composite/batch -----------------------------------------------------------------------
def batch(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """POST /composite/batch: independent subrequests, each committed on its own; each one is
    charged to the org's API limit (documented: "Each subrequest counts against rate limits")."""
    if req.method != "POST":
        return method_not_allowed(req.method, "POST")
    body = json_body(req)
    if not isinstance(body, dict) or not isinstance(body.get("batchRequests"), list):
        return _request_error("The request body must contain a batchRequests array.")
    items = body["batchRequests"]
    if not items:
        return _request_error("batchRequests must contain at least one subrequest.")
    if len(items) > MAX_BATCH:
        return _request_error(
            f"Exceeded max limit of subrequests, maximum allowed {MAX_BATCH}"
            f" (received {len(items)})",
            "LIMIT_EXCEEDED",
        )
    halt_on_error = body.get("haltOnError", False)
    if not isinstance(halt_on_error, bool):
        return _request_error("haltOnError must be a boolean.")
    subs = []
    for item in items:
        if not isinstance(item, dict):
            return _request_error("Each subrequest must be a JSON object.")
        method, url = item.get("method"), item.get("url")
        if not isinstance(method, str) or method.upper() not in METHODS:
            return _request_error(f"Invalid HTTP method: {method}")
        if not isinstance(url, str) or not url:
            return _request_error("'url' is a required field.")
        path = url if url.startswith("/services/data/") else "/services/data/" + url.lstrip("/")
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        if len(parts) < 3 or not re.match(r"^v\d+\.\d+$", parts[2]):
            return _request_error(f"Invalid url: {url}", "INVALID_URL")
        if parts[3:4] in (["composite"],):
            return _request_error(f"Batch does not support the resource {url}", "INVALID_URL")
        subs.append((method.upper(), path, item.get("richInput")))
    results = []
    has_errors = halted = False
    for method, path, rich in subs:
        if halted:
            results.append(
                {
                    "statusCode": 412,
                    "result": [
                        {
                            "errorCode": "BATCH_PROCESSING_HALTED",
                            "message": "Batch processing halted per request",
                        }
                    ],
                }
            )
            continue
        status, data, _headers = _run(emu, req, user, method, path, rich, {})
        results.append({"statusCode": status, "result": data})
        if status >= 400:
            has_errors = True
            halted = halt_on_error
    if len(subs) > 1:  # the top-level call was charged once already
        emu.store.record_api_call(user["org_id"], len(subs) - 1)
        emu.count_call("composite/batch", len(subs) - 1)
    return Response.json({"hasErrors": has_errors, "results": results})
