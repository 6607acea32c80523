"""Values on their way to and from Salesforce: SOQL literals, Salesforce's datetimes."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def sf_datetime(value: str | None) -> datetime | None:
    """Parse Salesforce's ``2026-11-28T13:36:10.000+0000``."""
    if not value:
        return None
    return _parse_sf_datetime(value)


@functools.lru_cache(maxsize=4096)
def _parse_sf_datetime(value: str) -> datetime:
    # Cached: the records of one page share a few timestamps, and datetimes are immutable.
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def soql_id(value: str) -> str:
    """A Salesforce id checked for SOQL: 15 or 18 letters and digits, quoted."""
    if not _ID_RE.match(value or ""):
        raise ValueError("not a Salesforce id")
    return f"'{value}'"


def soql_datetime(value: datetime) -> str:
    """A SOQL dateTime literal, unquoted, in UTC (SOQL Date Formats)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def replication_time(value: datetime) -> str:
    """Get Updated/Deleted take UTC ISO-8601 and truncate seconds (requests URL-encodes it)."""
    return (
        value.astimezone(UTC).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )
