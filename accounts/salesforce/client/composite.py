"""Composite ("Send Multiple Requests Using Composite", REST API Developer Guide,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_composite_composite.htm):
several subrequests, one call toward the limit, for up to 25 subrequests, at most 5 of them
query/queryAll/queryMore or sObject Collections operations.

With ``SALESFORCE_COMPOSITE`` off, ``composite`` sends each subrequest as its own plain call and
answers in the same shape; ``write_composite`` first joins neighbouring parts of one kind into
collections of up to 200, so no more calls are made than the records need. Those calls are
independent (no subrequest refers to another without Composite), so they go on the wire at once,
up to five (``RestClient.together``): a push of 1,000 changes takes about one call's time.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import partial
from urllib.parse import quote_plus

from django.conf import settings
from simple_salesforce.exceptions import SalesforceError

from accounts.salesforce import errors
from accounts.salesforce.client.core import (
    COLLECTION_LIMIT,
    TASK_STATUS_SOQL,
    RestClient,
    check_size,
    collection_body,
)
from accounts.salesforce.client.values import replication_time

COMPOSITE_SUBREQUESTS = 25
COMPOSITE_HEAVY = 5

# Problems that stop a whole call, never one subrequest of it: a plain call raises them as the
# Composite call would have been refused.
_WHOLE_CALL = (errors.OverLimit, errors.NeedsReconnect, errors.SessionExpired)


class CompositeClient(RestClient):
    """The Composite call, its subrequests, and the writes packed into it."""

    def data_url(self, path: str) -> str:
        """A subrequest's url: ``/services/data/vNN.N/<path>``."""
        return f"/services/data/v{settings.SALESFORCE_API_VERSION}/{path}"

    def composite(self, subrequests: list[dict], *, idempotent: bool = True) -> dict[str, dict]:
        """One Composite call, ``allOrNone`` false: each subrequest succeeds or fails alone.
        Returns {referenceId: {"httpStatusCode", "body", ...}}. Refused whole (400) for more
        than 25 subrequests or 5 queries/collections: callers stay within the limits."""
        if not self.use_composite:
            answers = self.together(
                [
                    partial(self._plain, sub, idempotent=idempotent or sub["method"] != "POST")
                    for sub in subrequests
                ]
            )
            return {sub["referenceId"]: a for sub, a in zip(subrequests, answers, strict=True)}
        body = {"allOrNone": False, "compositeRequest": subrequests}
        answer = self._call(
            lambda sf: sf.restful("composite", method="POST", json=body), idempotent=idempotent
        )
        listed = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(listed, list) or not all(isinstance(r, dict) for r in listed):
            # R12: an answer that cannot be read (a proxy's page, a truncated body) is treated
            # like a lost one: transient, and a create in it stays in doubt (R10).
            raise errors.Transient("Salesforce returned a Composite answer that cannot be read.")
        results = {r.get("referenceId"): r for r in listed}
        if set(results) != {sub["referenceId"] for sub in subrequests}:
            raise errors.Transient("Salesforce returned an unexpected set of Composite results.")
        return results

    def _plain(self, sub: dict, *, idempotent: bool = True) -> dict:
        """One subrequest (no reference to another) sent as its own call, answered as a
        subrequest result. Salesforce's refusal of it becomes the result (as inside Composite);
        a lost answer or a refusal of the whole call (limit, session) is raised."""
        path = sub["url"].removeprefix(self.data_url(""))
        extra = {"json": sub["body"]} if "body" in sub else {}
        ref = sub["referenceId"]
        try:
            body = self._call(
                lambda sf: sf.restful(path, method=sub["method"], **extra), idempotent=idempotent
            )
        except errors.SalesforceProblem as problem:
            if problem.status is None or isinstance(problem, _WHOLE_CALL):
                raise
            error = {"errorCode": problem.code, "message": problem.message}
            error["fields"] = getattr(problem, "fields", [])
            return {"referenceId": ref, "httpStatusCode": problem.status, "body": [error]}
        return {"referenceId": ref, "httpStatusCode": 204 if body is None else 200, "body": body}

    @staticmethod
    def subrequest_problem(result: dict) -> errors.SalesforceProblem:
        """A failed subrequest, classified as the same answer to a top-level call would be."""
        content = json.dumps(result.get("body")).encode()
        status = result.get("httpStatusCode") or 500
        exc = SalesforceError(result.get("referenceId") or "", status, "composite", content)
        return errors.classify(exc)

    @staticmethod
    def halted(result: dict) -> bool:
        body = result.get("body")
        return (
            result.get("httpStatusCode") == 400
            and isinstance(body, list)
            and bool(body)
            and isinstance(body[0], dict)
            and body[0].get("errorCode") == "PROCESSING_HALTED"
        )

    # --- subrequests riding with a pull -----------------------------------------------------

    def deleted_subrequest(self, start: datetime, end: datetime, *, ref: str = "deleted") -> dict:
        """sObject Get Deleted as a Composite subrequest (not a query: it is not one of the 5)."""
        params = (
            f"start={quote_plus(replication_time(start))}&end={quote_plus(replication_time(end))}"
        )
        return {
            "method": "GET",
            "url": self.data_url(f"sobjects/Task/deleted/?{params}"),
            "referenceId": ref,
        }

    def task_statuses_subrequest(self, *, ref: str = "statuses") -> dict:
        """The TaskStatus picklist as a Composite subrequest (a query: one of the 5)."""
        return {
            "method": "GET",
            "url": self.data_url(f"query/?q={quote_plus(TASK_STATUS_SOQL)}"),
            "referenceId": ref,
        }

    # --- writes -----------------------------------------------------------------------------

    def write_composite(self, parts: list[tuple[str, bool, list]]) -> list[list[dict]]:
        """Several writes in one Composite call (``allOrNone`` false), in order. Each part is
        (kind, single, items): kind ``create`` or ``update`` with payloads (an update's carries
        ``id``), or ``delete`` with ids; ``single`` a one-record sObject request, else an
        sObject Collection of up to 200. Returns, per part, one result per record in the shape
        of a collection's (``{id, success, errors: [{statusCode, message, fields}]}``); a part
        that failed whole gives each of its records that part's error.

        A call holding creates is never retried here (R10: its outcome is unknown)."""
        if not self.use_composite:
            return self._write_one_by_one(parts)
        subrequests = [
            {**self._write_subrequest(*part), "referenceId": f"w{index}"}
            for index, part in enumerate(parts)
        ]
        creates = any(kind == "create" for kind, _, _ in parts)
        answers = self.composite(subrequests, idempotent=not creates)
        return [_write_results(*part, answers[f"w{i}"]) for i, part in enumerate(parts)]

    def _write_one_by_one(self, parts: list[tuple[str, bool, list]]) -> list[list[dict]]:
        """``write_composite`` without Composite: neighbouring parts of one kind joined into
        collections of up to 200, each its own call, on the wire at once (``together``), the
        results split back per part.
        A collection's 2xx answer that is not a list is unreadable, as a top-level call's would
        be (R12): transient, and its creates stay in doubt (R10)."""
        groups = _joined(parts)
        calls = [
            partial(
                self._plain,
                {**self._write_subrequest(kind, single, items), "referenceId": "w"},
                idempotent=kind != "create",
            )
            for kind, single, items, _ in groups
        ]
        out: list[list[dict]] = []
        for (kind, single, items, sizes), answer in zip(groups, self.together(calls), strict=True):
            if (
                answer["httpStatusCode"] < 300
                and not single
                and not isinstance(answer["body"], list)
            ):
                raise errors.Transient(
                    "Salesforce returned a collection answer that cannot be read."
                )
            results = _write_results(kind, single, items, answer)
            at = 0
            for size in sizes:
                out.append(results[at : at + size])
                at += size
        return out

    def _write_subrequest(self, kind: str, single: bool, items: list) -> dict:
        if kind == "delete" and single:
            return {"method": "DELETE", "url": self.data_url(f"sobjects/Task/{items[0]}")}
        if kind == "delete":
            url = self.data_url(f"composite/sobjects?ids={','.join(items)}&allOrNone=false")
            return {"method": "DELETE", "url": url}
        if single:
            payload = dict(items[0])
            record_id = payload.pop("id", None)
            if kind == "create":
                return {"method": "POST", "url": self.data_url("sobjects/Task"), "body": payload}
            url = self.data_url(f"sobjects/Task/{record_id}")
            return {"method": "PATCH", "url": url, "body": payload}
        for item in items:
            if not (kind == "create" or item.get("id")):
                raise ValueError("an update needs its record's id")
        check_size(items)
        return {
            "method": "POST" if kind == "create" else "PATCH",
            "url": self.data_url("composite/sobjects"),
            "body": collection_body(items),
        }


def _joined(parts: list[tuple[str, bool, list]]) -> list[tuple[str, bool, list, list[int]]]:
    """Neighbouring parts of one kind as collections of up to 200 records: (kind, single, items,
    the size of each part joined). A part joined with none keeps its own form."""
    groups: list[tuple[str, bool, list, list[int]]] = []
    for kind, single, items in parts:
        last = groups[-1] if groups else None
        if last and last[0] == kind and len(last[2]) + len(items) <= COLLECTION_LIMIT:
            groups[-1] = (kind, False, [*last[2], *items], [*last[3], len(items)])
        else:
            groups.append((kind, single, list(items), [len(items)]))
    return groups


def _write_results(kind: str, single: bool, items: list, result: dict) -> list[dict]:
    """One write subrequest's answer, as one collection result per record."""
    status = result.get("httpStatusCode") or 0
    body = result.get("body")
    ids = items if kind == "delete" else [item.get("id") for item in items]
    if 200 <= status < 300 and not single and isinstance(body, list):
        return body
    if 200 <= status < 300 and single:
        made = body.get("id") if isinstance(body, dict) else None
        return [{"id": made or ids[0], "success": True, "errors": []}]
    errs = _record_errors(result)
    return [{"id": i, "success": False, "errors": errs} for i in ids]


def _record_errors(result: dict) -> list[dict]:
    """A failed single-record subrequest's error list, in a collection result's shape."""
    body = result.get("body")
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    out = [
        {
            "statusCode": item.get("errorCode") or item.get("statusCode") or "UNKNOWN",
            "message": item.get("message") or "",
            "fields": item.get("fields") or [],
        }
        for item in items
        if isinstance(item, dict)
    ]
    status = result.get("httpStatusCode") or 0
    if not out:
        out = [{"statusCode": "UNKNOWN", "message": f"HTTP {status}", "fields": []}]
    if status >= 500:
        # As a top-level 5xx: worth retrying (R12), whatever code came with it.
        out = [
            e
            if e["statusCode"] in errors.TRANSIENT_CODES
            else {**e, "statusCode": "SERVER_UNAVAILABLE"}
            for e in out
        ]
    return out
