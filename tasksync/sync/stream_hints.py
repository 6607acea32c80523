"""R19 + R9: what one change event asks of the sync. Pure: no database, no network.

Events are hints: an event names records and (sometimes) their owner; the pull of those owners
is the source of truth. The only decision here is whether an event can be skipped because it is
tasksync's own write coming back (R9: the echo costs no pull and no write), and whose pull it asks
for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tasksync.sync import mapping

# Fields Salesforce derives from the mapped ones, or stamps on every write: an update that
# changed only these and mapped fields whose values equal what was last synced is our own echo.
_DERIVED = {
    "IsClosed",
    "IsHighPriority",
    "CompletedDateTime",
    "LastModifiedDate",
    "LastModifiedById",
}
_DELETED_STATES = {"remote_deleted", "local_deleted"}


@dataclass(frozen=True)
class KnownLink:
    """What tasksync knows of one linked record (a TaskLink, as the selector reads it)."""

    user_id: int
    sf_user_id: str
    state: str
    synced_remote: dict


def _event_value(field: str, value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if field in ("Subject", "Description"):
        return mapping.remote_snapshot({field: value})[field]
    return value


def is_echo(*, change_type: str, changed_fields, values: dict, link: KnownLink | None) -> bool:
    """R9: True when the event only repeats what tasksync last synced for this record."""
    if link is None:
        return False
    if change_type == "DELETE":
        return link.state in _DELETED_STATES
    if change_type != "UPDATE" or link.state in _DELETED_STATES:
        return False
    changed = set(changed_fields)
    if not changed or changed - _DERIVED - set(mapping.REMOTE_FIELDS):
        return False  # an owner change or another field: let the pull look
    return all(
        _event_value(f, values.get(f)) == link.synced_remote.get(f)
        for f in changed & set(mapping.REMOTE_FIELDS)
    )


def owners_named(*, values: dict, commit_user: str, links: list[KnownLink]) -> set[str]:
    """The Salesforce users whose pull an event asks for: the owner the event carries (a create,
    an undelete, an owner change), the owners tasksync knows for its records (an update or a
    delete carries no OwnerId), and, when neither is known, the user who made the change."""
    owners = {link.sf_user_id for link in links}
    if values.get("OwnerId"):
        owners.add(values["OwnerId"])
    if not owners and commit_user:
        owners.add(commit_user)
    return owners
