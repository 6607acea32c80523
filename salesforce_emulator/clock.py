"""The emulator's "now" (settable by tests) and Salesforce date formats.

Formats: "Valid Date and DateTime Formats" (REST API Developer Guide), https://developer.salesforce.com/docs/platform/api-rest/guide/intro-valid-date-formats.html
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

UTC = dt.UTC

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?"
    r"(Z|[+-]\d{2}:?\d{2})$"
)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Clock:
    """Real time plus an offset, or a frozen instant. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._offset_ms = 0
        self._frozen_ms: int | None = None

    def now_ms(self) -> int:
        with self._lock:
            if self._frozen_ms is not None:
                return self._frozen_ms
            return int(time.time() * 1000) + self._offset_ms

    def now(self) -> dt.datetime:
        return from_ms(self.now_ms())

    def set(self, when: dt.datetime | str, frozen: bool = False) -> None:
        target = to_ms(parse_datetime(when) if isinstance(when, str) else when)
        with self._lock:
            if frozen:
                self._frozen_ms = target
            else:
                self._frozen_ms = None
                self._offset_ms = target - int(time.time() * 1000)

    def advance(self, delta: dt.timedelta | float) -> None:
        ms = int((delta.total_seconds() if isinstance(delta, dt.timedelta) else delta) * 1000)
        with self._lock:
            if self._frozen_ms is not None:
                self._frozen_ms += ms
            else:
                self._offset_ms += ms

    def reset(self) -> None:
        with self._lock:
            self._offset_ms = 0
            self._frozen_ms = None


def to_ms(value: dt.datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)  # naive datetimes are taken as UTC
    return int(round(value.timestamp() * 1000))


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=UTC)


def format_sf(ms: int | None) -> str | None:
    """Salesforce's response format: 2026-11-28T13:36:10.000+0000 (offset without a colon)."""
    if ms is None:
        return None
    d = from_ms(ms)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> dt.datetime:
    """Parse the REST/SOQL dateTime forms: Z, +hh:mm, +hhmm, optional seconds/fraction."""
    m = _DATETIME_RE.match(text.strip())
    if not m:
        raise ValueError(f"not a dateTime: {text!r}")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0").ljust(6, "0")[:6])
    if tz == "Z":
        tzinfo = UTC
    else:
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        tzinfo = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    value = dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0), micro, tzinfo)
    return value.astimezone(UTC)


def parse_datetime_ms(text: str) -> int:
    return to_ms(parse_datetime(text))


def is_date(text: object) -> bool:
    if not isinstance(text, str) or not _DATE_RE.match(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def coerce_ms(value: object) -> int | None:
    """Accept datetime / ISO string / epoch-ms int (back-door helpers take all three)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return to_ms(value)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        return parse_datetime_ms(value)
    raise TypeError(f"cannot use {value!r} as a dateTime")


def truncate_seconds(ms: int) -> int:
    return ms - ms % 1000


def truncate_minute(ms: int) -> int:
    return ms - ms % 60_000
