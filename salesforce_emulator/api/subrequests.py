"""One Composite subrequest: its references resolved ("Composite Request Body": @{ref.field}),
then run through the same handlers as a top-level call, in its own savepoint."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from ..errors import RecordError
from ..web import Request, Response
from . import routing

if TYPE_CHECKING:
    from ..core import Emulator

_REF_RE = re.compile(r"@\{([^{}]+)\}")
_STEP_RE = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")


class Halted(Exception):
    """A subrequest not run: its reference cannot be resolved (PROCESSING_HALTED)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _resolve(expr: str, results: dict, failed: set[str]):
    """The value @{expr} names: referenceId then .field / [index] steps into its body."""
    m = re.match(r"^([A-Za-z0-9][A-Za-z0-9_]*)", expr)
    ref = m.group(1) if m else expr
    if ref in failed:
        raise Halted(
            f"Invalid reference specified. No value for {expr} found in {ref}."
            f" Provided referenceId ('{ref}') refers to a failed subrequest."
        )
    if ref not in results:
        raise Halted(
            f"Invalid reference specified. No value for {expr} found in {ref}."
            f" Provided referenceId ('{ref}') is not defined by an earlier subrequest."
        )
    value = results[ref]
    pos = len(ref)
    while pos < len(expr):
        step = _STEP_RE.match(expr, pos)
        if step is None:
            raise Halted(f"Invalid reference specified. No value for {expr} found in {ref}.")
        key, index = step.group(1), step.group(2)
        if key is not None and isinstance(value, dict) and key in value:
            value = value[key]
        elif index is not None and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise Halted(f"Invalid reference specified. No value for {expr} found in {ref}.")
        pos = step.end()
    if isinstance(value, dict | list):
        raise Halted(f"Invalid reference specified. {expr} in {ref} is not a referenceable value.")
    return value


def _as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def substitute(value, results: dict, failed: set[str]):
    """Replace every @{ref...} in strings of `value` (a lone reference keeps its JSON type)."""
    if isinstance(value, str):
        whole = _REF_RE.fullmatch(value)
        if whole:
            return _resolve(whole.group(1), results, failed)
        return _REF_RE.sub(lambda m: _as_text(_resolve(m.group(1), results, failed)), value)
    if isinstance(value, dict):
        return {k: substitute(v, results, failed) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, results, failed) for v in value]
    return value


def run(emu: Emulator, top: Request, user: dict, method: str, url: str, body, headers: dict):
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


def result(status: int, body, headers: dict, ref: str) -> dict:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}


def halted(message: str, ref: str) -> dict:
    return result(400, [{"errorCode": "PROCESSING_HALTED", "message": message}], {}, ref)
