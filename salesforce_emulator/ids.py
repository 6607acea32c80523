"""Salesforce record ids: 15-char case-sensitive / 18-char case-safe ids.

"Field Types", ID (SOAP API Developer Guide): https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/field_types.htm
"""

from __future__ import annotations

import re
import secrets
import string

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")

ORG_PREFIX = "00D"
USER_PREFIX = "005"
TASK_PREFIX = "00T"
TASK_STATUS_PREFIX = "01J"
QUERY_LOCATOR_PREFIX = "01g"
# Records a task is about (WhoId: Contact/Lead, WhatId: Account/Opportunity): standard key prefixes.
RELATED_PREFIXES = {"Contact": "003", "Lead": "00Q", "Account": "001", "Opportunity": "006"}


def checksum(id15: str) -> str:
    """The 3-char case-safe suffix: one char per 5-char chunk, bit j set for an uppercase char."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for j, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << j
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def to18(value: str) -> str:
    """Normalise a 15- or 18-char id to its 18-char form (the API always answers with 18)."""
    if len(value) == 15:
        return value + checksum(value)
    if len(value) == 18:
        # The 18-char form is case-insensitive: rebuild the casing from the suffix so that
        # a lower-cased 18-char id still matches the stored one.
        return value[:15] + checksum(value[:15]) if is_valid(value) else value
    return value


def is_valid(value: object) -> bool:
    if not isinstance(value, str) or not _ID_RE.match(value):
        return False
    return len(value) == 15 or value[15:].upper() == checksum(value[:15])


def same(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return to18(a) == to18(b)


def new_id(prefix: str) -> str:
    """A fresh 18-char id: prefix + pod-like "8a" + 10 random base62 chars + checksum."""
    body = prefix + "8a" + "".join(secrets.choice(_BASE62) for _ in range(10))
    return body + checksum(body)


def fixed_id(prefix: str, serial: int) -> str:
    """A deterministic id (used for demo data so its ids survive a reset)."""
    body = prefix + "8aDEMO" + str(serial).rjust(6, "0")
    return body + checksum(body)
