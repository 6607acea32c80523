"""Composite and Composite Batch request bodies, checked as Salesforce checks them ("Composite
Request Body", "Batch Request Body", REST API Developer Guide): a list of subrequests, or the
400 answer for a body Salesforce refuses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..web import Response, sf_error

MAX_SUBREQUESTS = 25
MAX_QUERY_OR_COLLECTION = 5
MAX_BATCH = 25
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")
FORBIDDEN_HEADERS = ("accept", "authorization", "content-type")
_REF_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass
class Sub:
    method: str
    url: str
    reference_id: str
    body: object = None
    headers: dict = field(default_factory=dict)


def request_error(message: str, code: str = "JSON_PARSER_ERROR") -> Response:
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


def _subrequests(body, key: str, maximum: int) -> list | Response:
    """The body's array `key` of 1 to `maximum` subrequests, or the 400 answer."""
    if not isinstance(body, dict) or not isinstance(body.get(key), list):
        return request_error(f"The request body must contain a {key} array.")
    items = body[key]
    if not items:
        return request_error(f"{key} must contain at least one subrequest.")
    if len(items) > maximum:
        return request_error(
            f"Exceeded max limit of subrequests, maximum allowed {maximum} (received {len(items)})",
            "LIMIT_EXCEEDED",
        )
    return items


def parse_composite(body) -> tuple[list[Sub], bool] | Response:
    """(subrequests, allOrNone) of a /composite body."""
    items = _subrequests(body, "compositeRequest", MAX_SUBREQUESTS)
    if isinstance(items, Response):
        return items
    subs: list[Sub] = []
    seen: set[str] = set()
    for item in items:
        sub = _parse_sub(item, seen)
        if isinstance(sub, Response):
            return sub
        subs.append(sub)
    heavy = sum(1 for s in subs if _is_query_or_collection(s.url))
    if heavy > MAX_QUERY_OR_COLLECTION:
        return request_error(
            f"Up to {MAX_QUERY_OR_COLLECTION} subrequests can be sObject Collections or query"
            f" operations (received {heavy})",
            "LIMIT_EXCEEDED",
        )
    all_or_none = body.get("allOrNone", False)
    if not isinstance(all_or_none, bool):
        return request_error("allOrNone must be a boolean.")
    return subs, all_or_none


def _parse_sub(item, seen: set[str]) -> Sub | Response:
    if not isinstance(item, dict):
        return request_error("Each subrequest must be a JSON object.")
    for name in ("method", "url", "referenceId"):
        if not isinstance(item.get(name), str) or not item[name]:
            return request_error(f"'{name}' is a required field.")
    method, url, ref = item["method"], item["url"], item["referenceId"]
    if method not in METHODS:  # case-sensitive, as documented
        return request_error(f"Invalid HTTP method '{method}' for subrequest '{ref}'.")
    if not _REF_ID_RE.match(ref):
        return request_error(
            f"Provided referenceId ('{ref}') must start with a letter or a number, and it"
            " can contain only letters, numbers and underscores ('_').",
            "INVALID_INPUT",
        )
    if ref in seen:
        return request_error(
            f"Duplicate referenceId provided in the request: {ref}", "INVALID_INPUT"
        )
    seen.add(ref)
    if not url.startswith(("/services/data/v", "@{")):
        return request_error(f"The URL must start with /services/data/vXX.X/: {url}", "INVALID_URL")
    if not _supported(url):
        return request_error(f"Composite does not support the resource {url}", "INVALID_URL")
    headers = item.get("httpHeaders") or {}
    if not isinstance(headers, dict):
        return request_error("httpHeaders must be a JSON object.")
    if any(str(k).lower() in FORBIDDEN_HEADERS for k in headers):
        return request_error(
            "Subrequests inherit Accept, Authorization and Content-Type from the top-level"
            " request; don't specify them.",
            "INVALID_INPUT",
        )
    return Sub(method, url, ref, item.get("body"), {str(k): str(v) for k, v in headers.items()})


def parse_batch(body) -> tuple[list[tuple[str, str, object]], bool] | Response:
    """([(method, path, richInput)], haltOnError) of a /composite/batch body."""
    items = _subrequests(body, "batchRequests", MAX_BATCH)
    if isinstance(items, Response):
        return items
    halt_on_error = body.get("haltOnError", False)
    if not isinstance(halt_on_error, bool):
        return request_error("haltOnError must be a boolean.")
    subs = []
    for item in items:
        if not isinstance(item, dict):
            return request_error("Each subrequest must be a JSON object.")
        method, url = item.get("method"), item.get("url")
        if not isinstance(method, str) or method.upper() not in METHODS:
            return request_error(f"Invalid HTTP method: {method}")
        if not isinstance(url, str) or not url:
            return request_error("'url' is a required field.")
        path = url if url.startswith("/services/data/") else "/services/data/" + url.lstrip("/")
        parts = [p for p in path.split("?", 1)[0].split("/") if p]
        if len(parts) < 3 or not re.match(r"^v\d+\.\d+$", parts[2]):
            return request_error(f"Invalid url: {url}", "INVALID_URL")
        if parts[3:4] in (["composite"],):
            return request_error(f"Batch does not support the resource {url}", "INVALID_URL")
        subs.append((method.upper(), path, item.get("richInput")))
    return subs, halt_on_error
