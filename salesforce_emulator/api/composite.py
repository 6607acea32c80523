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

from typing import TYPE_CHECKING

from ..web import Request, Response
from .common import json_body, method_not_allowed
from .composite_request import Sub, parse_batch, parse_composite
from .subrequests import Halted, halted, result, run, substitute

if TYPE_CHECKING:
    from ..core import Emulator

ROLLED_BACK = (
    "PROCESSING_HALTED",
    "The transaction was rolled back since another operation in the same transaction failed.",
)
BATCH_HALTED = {
    "statusCode": 412,
    "result": [
        {"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}
    ],
}


class _RollBack(Exception):
    pass


def _parse_post(req: Request, parse, allowed: str):
    """The parsed body of a POST, or the answer refusing the call (405, or parse's 400)."""
    if req.method != "POST":
        return method_not_allowed(req.method, allowed)
    return parse(json_body(req))


def composite(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """POST /composite. Runs inside the top-level call's store transaction."""
    if req.method == "GET":
        base = f"/services/data/v{version}/composite"
        return Response.json({"batch": f"{base}/batch", "sobjects": f"{base}/sobjects"})
    parsed = _parse_post(req, parse_composite, "GET,POST")
    if isinstance(parsed, Response):
        return parsed
    subs, all_or_none = parsed
    out: list[dict] = []
    try:
        with emu.store.savepoint():
            _run_in_order(emu, req, user, subs, all_or_none, out)
    except _RollBack:
        pass
    return Response.json({"compositeResponse": out})


def _run_in_order(
    emu: Emulator, req: Request, user: dict, subs: list[Sub], all_or_none: bool, out: list[dict]
) -> None:
    """Each subrequest in turn, its references resolved from the earlier results; a failure
    under allOrNone rolls every one back (raises _RollBack once `out` says so)."""
    results: dict[str, object] = {}
    failed: set[str] = set()
    for i, sub in enumerate(subs):
        try:
            url = substitute(sub.url, results, failed)
            body = substitute(sub.body, results, failed)
        except Halted as halt:
            answer = halted(halt.message, sub.reference_id)
        else:
            if not isinstance(url, str) or not url.startswith("/services/data/v"):
                answer = halted(f"Invalid reference specified in url: {sub.url}", sub.reference_id)
            else:
                status, data, headers = run(emu, req, user, sub.method, url, body, sub.headers)
                answer = result(status, data, headers, sub.reference_id)
        out.append(answer)
        if answer["httpStatusCode"] < 400:
            results[sub.reference_id] = answer["body"]
            continue
        failed.add(sub.reference_id)
        if all_or_none:
            _roll_back(out, subs, i)
            raise _RollBack


def _roll_back(out: list[dict], subs: list[Sub], failed_at: int) -> None:
    """allOrNone: the failure keeps its error; every other subrequest, run or not, reports the
    roll-back with 400 PROCESSING_HALTED."""
    for j, answer in enumerate(out):
        if j != failed_at:
            out[j] = halted(ROLLED_BACK[1], answer["referenceId"])
    out.extend(halted(ROLLED_BACK[1], s.reference_id) for s in subs[failed_at + 1 :])


# -- /composite/batch -----------------------------------------------------------------------
def batch(emu: Emulator, req: Request, version: str, user: dict) -> Response:
    """POST /composite/batch: independent subrequests, each committed on its own; each one is
    charged to the org's API limit (documented: "Each subrequest counts against rate limits")."""
    parsed = _parse_post(req, parse_batch, "POST")
    if isinstance(parsed, Response):
        return parsed
    subs, halt_on_error = parsed
    results = []
    has_errors = stopped = False
    for method, path, rich in subs:
        if stopped:
            results.append(BATCH_HALTED)
            continue
        status, data, _headers = run(emu, req, user, method, path, rich, {})
        results.append({"statusCode": status, "result": data})
        if status >= 400:
            has_errors = True
            stopped = halt_on_error
    if len(subs) > 1:  # the top-level call was charged once already
        emu.store.record_api_call(user["org_id"], len(subs) - 1)
        emu.count_call("composite/batch", len(subs) - 1)
    return Response.json({"hasErrors": has_errors, "results": results})
