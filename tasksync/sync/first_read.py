"""A run's first read after its claim (issue 16, B3): the user's state, account, Salesforce
connection and org in one query, and with them what an idle poll would otherwise ask in four
more round trips and find empty: whether the org has a feed or a change stream (R19), creates
in doubt (R10) or anything queued to push (R11).

Each of these only ever says "there may be something": then the run reads it exactly as before.
"Nothing" stays true for the run's purposes, because of who can add one meanwhile:

- creates in doubt come only from this user's pushes, and the run holds the user's lease;
- a change queued while the run holds the lease asks for another round (``rerun_requested``),
  which the run's end queues (``rounds.rerun_if_asked``);
- a feed or a stream turned on during the run is read by the next run: the feed's coverage and
  the stream's stretch of the poll interval are an optimisation of later polls, not of this one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.db.models import Exists, OuterRef

from tasksync.models import (
    LinkState,
    OrgFeed,
    OutboundChange,
    OutboxState,
    StreamState,
    SyncState,
    TaskLink,
)

# What a run reads with the user's state, in the query after its claim.
WITH_CONNECTION = "user__salesforce_connection__org"


@dataclass(frozen=True)
class MayHave:
    """False where the run's first read found none; True (read it) otherwise."""

    feed: bool = True
    stream: bool = True
    in_doubt: bool = True
    outbox: bool = True


EVERYTHING = MayHave()


def read_state(user_id: int) -> tuple[SyncState, MayHave]:
    """The state (with its user, connection and org), and what the run may skip."""
    state = _with_may_have().get(user_id=user_id)
    return state, MayHave(
        feed=state.may_have_feed,
        stream=state.may_have_stream,
        in_doubt=state.may_have_in_doubt,
        outbox=state.may_have_outbox,
    )


@functools.cache
def _with_may_have():
    """The query of ``read_state``, built once a process: building its four subqueries cost an
    idle poll more than running them (about 1 ms of its 7–10). Never evaluated itself, only
    cloned (``get`` filters a copy), as Django's generic views clone their ``queryset``."""
    return SyncState.objects.select_related(WITH_CONNECTION).annotate(
        may_have_feed=Exists(OrgFeed.objects.filter(org_id=OuterRef("org_id"), enabled=True)),
        may_have_stream=Exists(StreamState.objects.filter(org_id=OuterRef("org_id"))),
        # By user, whatever the org: a superset of what the pull would read.
        may_have_in_doubt=Exists(
            TaskLink.objects.filter(
                user_id=OuterRef("user_id"),
                state=LinkState.CREATING,
                create_started_at__isnull=False,
            )
        ),
        # The push reads pending rows only (a failed one waits for the rep's next edit).
        may_have_outbox=Exists(
            OutboundChange.objects.filter(user_id=OuterRef("user_id"), state=OutboxState.PENDING)
        ),
    )
