"""The network model: what a real Salesforce call costs on the wire, so benchmarks measure
something a user would feel. Each call to a Salesforce endpoint (REST API, Composite, OAuth,
identity) waits `latency_ms` (half before it runs, as the request travels; half after it has
committed, as the answer travels) plus `per_record_ms` for each record it returned or wrote,
after it has committed. Kept in memory; `reset()` clears it (`clear_faults()` does not: it is
configuration, not a fault)."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field


@dataclass
class NetworkModel:
    latency_ms: float = 0.0
    per_record_ms: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, latency_ms: float = 0.0, per_record_ms: float = 0.0) -> dict:
        if latency_ms < 0 or per_record_ms < 0:
            raise ValueError("latency_ms and per_record_ms must be >= 0")
        with self.lock:
            self.latency_ms = float(latency_ms)
            self.per_record_ms = float(per_record_ms)
        return self.describe()

    def describe(self) -> dict:
        with self.lock:
            return {"latency_ms": self.latency_ms, "per_record_ms": self.per_record_ms}

    def before(self) -> None:
        """The request's half of the round trip."""
        with self.lock:
            wait = self.latency_ms / 2
        if wait > 0:
            time.sleep(wait / 1000)

    def after(self, records: int) -> None:
        """The answer's half of the round trip plus the per-record cost."""
        with self.lock:
            wait = self.latency_ms / 2 + self.per_record_ms * records
        if wait > 0:
            time.sleep(wait / 1000)

    @property
    def active(self) -> bool:
        with self.lock:
            return self.latency_ms > 0 or self.per_record_ms > 0


def records_in(method: str, status: int, body: bytes) -> int:
    """How many records a call returned or wrote, read from its answer."""
    if status >= 400:
        return 0
    if status == 204:
        return 1 if method in ("PATCH", "DELETE", "PUT") else 0
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return 0
    return _count(method, status, data)


def _count(method: str, status: int, data) -> int:
    if isinstance(data, dict):
        if isinstance(data.get("compositeResponse"), list):
            return sum(
                _sub(r.get("httpStatusCode"), r.get("body"), method)
                for r in data["compositeResponse"]
                if isinstance(r, dict)
            )
        if isinstance(data.get("results"), list) and "hasErrors" in data:
            return sum(
                _sub(r.get("statusCode"), r.get("result"), method)
                for r in data["results"]
                if isinstance(r, dict)
            )
        if isinstance(data.get("records"), list):
            return len(data["records"])
        if isinstance(data.get("ids"), list):  # sObject updated
            return len(data["ids"])
        if isinstance(data.get("deletedRecords"), list):
            return len(data["deletedRecords"])
        if "attributes" in data or ("id" in data and "success" in data):
            return 1  # one record read, or one written
        return 0
    if isinstance(data, list):
        # collection results (one per record) or a collection retrieve (null for a miss)
        return sum(1 for item in data if isinstance(item, dict) and _is_record(item))
    return 0


def _is_record(item: dict) -> bool:
    return "attributes" in item or "success" in item


def _sub(status, body, method: str) -> int:
    if not isinstance(status, int) or status >= 400:
        return 0
    if status == 204:
        return 1
    return _count(method, status, body)
