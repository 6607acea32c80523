"""One sync run per user at a time, across any number of workers and machines.

A conditional UPDATE on the user's SyncState row claims a lease that expires, so a worker that dies
never blocks its user for longer than SYNC_LEASE_SECONDS (the same trick django-q2's ORM broker
uses to claim a queued task). Works the same on SQLite and PostgreSQL.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from tasksync.models import SyncState


def lease_acquire(*, user_id: int, only: Q | None = None) -> str | None:
    """The lease's owner token, or None when another run holds it (or the state does not match
    ``only``: a run claims only a state it may run for, in the same UPDATE)."""
    now = timezone.now()
    owner = uuid.uuid4().hex
    claimed = (
        SyncState.objects.filter(user_id=user_id)
        .filter(only if only is not None else Q())
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=settings.SYNC_LEASE_SECONDS),
        )
    )
    return owner if claimed else None


def lease_extend(*, user_id: int, owner: str) -> bool:
    """Called between pages of a long run; False means the lease was lost (taken over)."""
    until = timezone.now() + timedelta(seconds=settings.SYNC_LEASE_SECONDS)
    return bool(
        SyncState.objects.filter(user_id=user_id, lease_owner=owner).update(lease_until=until)
    )


def lease_release(*, user_id: int, owner: str) -> None:
    SyncState.objects.filter(user_id=user_id, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


class LeaseLost(Exception):
    """Another worker took the user over (our lease expired): stop without writing more."""
