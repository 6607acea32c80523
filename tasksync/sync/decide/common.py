"""What the decisions share: the link states and outbox operations (the enums only: nothing here
touches the database), R8's winner and a queued local change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tasksync.models.sync import LinkState, OutboxOperation, Winner

CREATING, SYNCED = LinkState.CREATING, LinkState.SYNCED
REMOTE_DELETED, LOCAL_DELETED = LinkState.REMOTE_DELETED, LinkState.LOCAL_DELETED
REASSIGNED, RETIRED = LinkState.REASSIGNED, LinkState.RETIRED
DELETED_STATES = (REMOTE_DELETED, LOCAL_DELETED)
CREATE, UPDATE, DELETE = OutboxOperation.CREATE, OutboxOperation.UPDATE, OutboxOperation.DELETE


def winner(local_at: datetime | None, remote_at: datetime | None) -> Winner:
    """R8: the later change wins; a tie (or an unknown time) goes to Salesforce."""
    if local_at and remote_at and local_at > remote_at:
        return Winner.LOCAL
    return Winner.SALESFORCE


@dataclass(frozen=True)
class Queued:
    """The task's outbox row: a local change not yet in Salesforce."""

    operation: str
    fields: tuple = ()
