"""Fault injection: failing calls, dropped or held responses, validation-rule rejects, latency.

Kept in memory (not in SQLite): faults are test setup and vanish with `reset()`.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from dataclasses import dataclass, field
from typing import ClassVar

from . import ids
from .errors import RecordError

# Default messages for the error codes tests usually inject ("Status Codes and Error Responses",
# REST API Developer Guide, https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html).
DEFAULT_MESSAGES = {
    "INVALID_SESSION_ID": "Session expired or invalid",
    "REQUEST_LIMIT_EXCEEDED": "TotalRequests Limit exceeded.",
    "UNABLE_TO_LOCK_ROW": "unable to obtain exclusive access to this record or 1 records",
    "SERVER_UNAVAILABLE": "Server temporarily unavailable, please try again later.",
    "UNKNOWN_EXCEPTION": "An unexpected error occurred. Please include this ErrorId if you"
    " contact support: 1234567890-12345 (-123456789)",
    "FIELD_CUSTOM_VALIDATION_EXCEPTION": "Rejected by a validation rule",
}
DEFAULT_CODES = {
    401: "INVALID_SESSION_ID",
    403: "REQUEST_LIMIT_EXCEEDED",
    500: "UNKNOWN_EXCEPTION",
    503: "SERVER_UNAVAILABLE",
}


def _on_route(method: str, path: str, route_method: str, route_path: str) -> bool:
    """Whether a call (`method`, `path`) is on a route: a method ("*" for any) and a path regex."""
    return route_method in ("*", method.upper()) and re.search(route_path, path) is not None


class _Rule:
    """A fault or a reject rule: described by its fields (less the `_hidden` ones), each firing
    counted in `hits`, spent after `times` firings (None: until cleared)."""

    _hidden: ClassVar[tuple[str, ...]] = ()

    def as_dict(self) -> dict:
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in self._hidden
        }

    def fire(self, rules: list) -> None:
        """Count one firing; a rule whose `times` are used up leaves `rules`."""
        self.hits += 1
        if self.times is not None:
            self.times -= 1
            if self.times <= 0:
                rules.remove(self)


@dataclass
class Fault(_Rule):
    _hidden = ("body",)

    id: int
    method: str
    path: str
    times: int | None = 1  # None = until cleared
    status: int = 500
    error_code: str = "UNKNOWN_EXCEPTION"
    message: str = ""
    body: object = None
    drop: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return _on_route(method, path, self.method, self.path)


@dataclass
class RejectRule(_Rule):
    _hidden = ("fields",)

    id: int
    field: str | None
    contains: str | None
    equals: object
    record_ids: list[str]
    operations: tuple[str, ...]
    message: str
    error_code: str
    fields: list[str]
    times: int | None
    hits: int = 0

    def __post_init__(self) -> None:
        self.record_ids = [ids.to18(i) for i in (self.record_ids or [])]
        self.operations = tuple(self.operations)
        self.fields = list(self.fields or [])

    def matches(self, row: dict, operation: str) -> bool:
        if operation not in self.operations:
            return False
        if self.record_ids and row.get("Id") not in self.record_ids:
            return False
        if self.field:
            value = row.get(self.field)
            if self.contains is not None and (value is None or self.contains not in str(value)):
                return False
            if self.equals is not None and value != self.equals:
                return False
        return True


HOLD_SAFETY_SECONDS = 60.0  # a held response is let go after this, so a broken test never hangs


@dataclass
class Hold:
    """'Commit, then hold the response': matching calls run and commit, then their handler
    thread waits before answering until `release`, `clear`, or the safety timeout."""

    id: int
    method: str
    path: str
    times: int | None  # how many matching calls to hold; None = until released
    safety_seconds: float = HOLD_SAFETY_SECONDS
    held: int = 0  # calls caught so far
    waiting: int = 0  # calls blocked right now
    released: threading.Event = field(default_factory=threading.Event)
    caught: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str) -> bool:
        return _on_route(method, path, self.method, self.path)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path,
            "times": self.times,
            "held": self.held,
            "waiting": self.waiting,
            "released": self.released.is_set(),
        }


@dataclass
class Latency:
    seconds: float
    method: str
    path: str


@dataclass
class Faults:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    rejects: list[RejectRule] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)
    holds: dict[int, Hold] = field(default_factory=dict)
    _next: int = 1

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.rejects.clear()
            self.latencies.clear()
            holds, self.holds = list(self.holds.values()), {}
        for hold in holds:
            hold.released.set()

    def _id(self) -> int:
        self._next += 1
        return self._next - 1

    def add_fault(self, method: str, path: str, **options) -> dict:
        """A fault on the calls matching `method` and `path`. `options` are Fault's (status,
        error_code, message, times, body, drop); a missing code or message is the one Salesforce
        answers with for the status."""
        status = options.setdefault("status", 500)
        code = options["error_code"] = options.get("error_code") or DEFAULT_CODES.get(
            status, "UNKNOWN_EXCEPTION"
        )
        options["message"] = options.get("message") or DEFAULT_MESSAGES.get(code, code)
        with self.lock:
            fault = Fault(self._id(), method.upper(), path, **options)
            self.faults.append(fault)
        return fault.as_dict()

    def take(self, method: str, path: str, *, drop: bool) -> Fault | None:
        """The first live fault matching this call, consuming one of its `times`."""
        with self.lock:
            for fault in self.faults:
                if fault.drop == drop and fault.matches(method, path):
                    fault.fire(self.faults)
                    return fault
        return None

    def add_reject(self, **rule) -> dict:
        """A validation rule rejecting the records it matches; `rule` holds RejectRule's fields."""
        with self.lock:
            reject = RejectRule(self._id(), **rule)
            self.rejects.append(reject)
        return reject.as_dict()

    def check_record(self, row: dict, operation: str) -> RecordError | None:
        with self.lock:
            for rule in self.rejects:
                if rule.matches(row, operation):
                    rule.fire(self.rejects)
                    return RecordError(rule.error_code, rule.message, rule.fields)
        return None

    def set_latency(self, seconds: float, method: str = "*", path: str = ".*") -> None:
        with self.lock:
            self.latencies = [
                lat
                for lat in self.latencies
                if not (lat.method == method.upper() and lat.path == path)
            ]
            if seconds > 0:
                self.latencies.append(Latency(seconds, method.upper(), path))

    def latency_for(self, method: str, path: str) -> float:
        with self.lock:
            return sum(
                lat.seconds
                for lat in self.latencies
                if _on_route(method, path, lat.method, lat.path)
            )

    # -- holds --------------------------------------------------------------------------------
    def add_hold(self, method: str, path: str, times: int | None, safety_seconds: float) -> dict:
        with self.lock:
            hold = Hold(self._id(), method.upper(), path, times, float(safety_seconds))
            self.holds[hold.id] = hold
        return hold.as_dict()

    def take_hold(self, method: str, path: str) -> Hold | None:
        """The first live hold matching this call (one of its `times` is consumed)."""
        with self.lock:
            for hold in self.holds.values():
                if hold.released.is_set() or (hold.times is not None and hold.held >= hold.times):
                    continue
                if hold.matches(method, path):
                    hold.held += 1
                    hold.waiting += 1
                    hold.caught.set()
                    return hold
        return None

    def wait_held(self, hold: Hold) -> None:
        """Block the calling (handler) thread until the hold is released or times out."""
        try:
            hold.released.wait(hold.safety_seconds)
        finally:
            with self.lock:
                hold.waiting -= 1

    def _hold(self, hold_id) -> Hold:
        with self.lock:
            hold = self.holds.get(int(hold_id))
        if hold is None:
            raise KeyError(f"no hold {hold_id} (released by clear_faults or reset?)")
        return hold

    def wait_until_held(self, hold_id, timeout: float = 10.0) -> bool:
        return self._hold(hold_id).caught.wait(float(timeout))

    def release(self, hold_id) -> dict:
        """Let the held calls answer; the hold catches no more calls. Releasing twice is fine."""
        hold = self._hold(hold_id)
        hold.released.set()
        return hold.as_dict()

    def describe(self) -> dict:
        with self.lock:
            return {
                "faults": [f.as_dict() for f in self.faults],
                "rejects": [r.as_dict() for r in self.rejects],
                "latency": [vars(lat) for lat in self.latencies],
                "holds": [h.as_dict() for h in self.holds.values()],
            }
