"""Fault injection: failing calls, dropped responses, validation-rule rejects, latency.

Kept in memory (not in SQLite): faults are test setup and vanish with `reset()`.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .records import RecordError

# Default messages for the error codes tests usually inject (reference §3).
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


@dataclass
class Fault:
    id: int
    method: str
    path: str
    times: int | None  # None = until cleared
    status: int = 500
    error_code: str = "UNKNOWN_EXCEPTION"
    message: str = ""
    body: object = None
    drop: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and re.search(self.path, path) is not None

    def as_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "id",
                "method",
                "path",
                "times",
                "status",
                "error_code",
                "message",
                "drop",
                "hits",
            )
        }


@dataclass
class RejectRule:
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

    def as_dict(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "id",
                "field",
                "contains",
                "equals",
                "record_ids",
                "operations",
                "message",
                "error_code",
                "times",
                "hits",
            )
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
    _next: int = 1

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.rejects.clear()
            self.latencies.clear()

    def _id(self) -> int:
        self._next += 1
        return self._next - 1

    def add_fault(
        self,
        method: str = "*",
        path: str = ".*",
        *,
        status: int = 500,
        error_code: str | None = None,
        message: str | None = None,
        times: int | None = 1,
        body: object = None,
        drop: bool = False,
    ) -> dict:
        code = error_code or DEFAULT_CODES.get(status, "UNKNOWN_EXCEPTION")
        with self.lock:
            fault = Fault(
                self._id(),
                method.upper(),
                path,
                times,
                status,
                code,
                message or DEFAULT_MESSAGES.get(code, code),
                body,
                drop,
            )
            self.faults.append(fault)
        return fault.as_dict()

    def take(self, method: str, path: str, *, drop: bool) -> Fault | None:
        """The first live fault matching this call, consuming one of its `times`."""
        with self.lock:
            for fault in self.faults:
                if fault.drop == drop and fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def add_reject(
        self,
        *,
        field: str | None = "Subject",
        contains: str | None = None,
        equals: object = None,
        record_ids: list[str] | None = None,
        operations: tuple[str, ...] | list[str] = ("create", "update"),
        message: str = "Rejected by a validation rule",
        error_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        fields: list[str] | None = None,
        times: int | None = None,
    ) -> dict:
        from . import ids

        with self.lock:
            rule = RejectRule(
                self._id(),
                field,
                contains,
                equals,
                [ids.to18(i) for i in (record_ids or [])],
                tuple(operations),
                message,
                error_code,
                list(fields or []),
                times,
            )
            self.rejects.append(rule)
        return rule.as_dict()

    def check_record(self, row: dict, operation: str) -> RecordError | None:
        with self.lock:
            for rule in self.rejects:
                if rule.matches(row, operation):
                    rule.hits += 1
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.rejects.remove(rule)
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
                if lat.method in ("*", method.upper()) and re.search(lat.path, path)
            )

    def describe(self) -> dict:
        with self.lock:
            return {
                "faults": [f.as_dict() for f in self.faults],
                "rejects": [r.as_dict() for r in self.rejects],
                "latency": [vars(lat) for lat in self.latencies],
            }
