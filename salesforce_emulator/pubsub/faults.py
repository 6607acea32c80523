"""What the Pub/Sub API's next deliveries do wrong: events dropped or repeated, deliveries
delayed, streams broken, topics or permissions missing. Set by tests on `PubSubServer.faults`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class PubSubFaults:
    """What the next deliveries do wrong. Counters count down as they fire."""

    drop_events: int = 0  # the next N events are never delivered (their replay ids pass)
    repeat_events: int = 0  # the next N events are delivered twice
    break_after: int | None = None  # the stream fails (UNAVAILABLE) after N more events
    delay_seconds: float = 0.0  # every delivery waits this long first
    keepalive_seconds: float = 270.0  # Salesforce sends a keep-alive within 270 s
    cdc_disabled_orgs: set[str] = field(default_factory=set)  # Task not selected for CDC
    denied_users: set[str] = field(default_factory=set)  # no View All Data
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def clear(self) -> None:
        with self.lock:
            self.drop_events = self.repeat_events = 0
            self.break_after = None
            self.delay_seconds = 0.0
            self.keepalive_seconds = 270.0
            self.cdc_disabled_orgs.clear()
            self.denied_users.clear()

    def take(self, name: str) -> bool:
        with self.lock:
            if getattr(self, name) > 0:
                setattr(self, name, getattr(self, name) - 1)
                return True
            return False

    def take_break(self, delivered: int = 0) -> bool:
        """Whether the stream must fail now, `delivered` events after the last check."""
        with self.lock:
            if self.break_after is None:
                return False
            self.break_after -= delivered
            if self.break_after <= 0:
                self.break_after = None
                return True
            return False

    def deliverable(self, batch: list[dict]) -> list[dict]:
        """The events of `batch` as they go out: the dropped ones left out, repeats twice."""
        out = []
        for event in batch:
            if self.take("drop_events"):
                continue
            out.extend([event] * (2 if self.take("repeat_events") else 1))
        return out
