"""An idle poll's SQL (issue 16, B3): the lease's claim is its first statement and claims only a
state the run may sync (the same rule as the engine's hold check); the user's state, account,
Salesforce connection and org are then read in one query, and no row is read twice."""

from __future__ import annotations

import itertools

import pytest
from django.utils import timezone

from tasksync.models import PauseReason, SyncPhase, SyncState, SyncTrigger
from tests.factories import (
    OrgFeedFactory,
    OutboundChangeFactory,
    StreamStateFactory,
    SyncStateFactory,
    TaskLinkFactory,
    UserFactory,
)


@pytest.mark.django_db
def test_the_claim_takes_exactly_the_states_the_hold_check_lets_run():
    # R3, R12, R14: a held state (sync off, paused for a reconnect or by staff) is never claimed,
    # whatever the trigger; over the API limit it is (the run waits for the budget itself).
    from tasksync.sync.engine import _held, _runnable
    from tasksync.sync.lease import lease_acquire, lease_release

    user = UserFactory()
    state = SyncState.objects.create(user=user)
    combos = itertools.product(
        (True, False), SyncPhase.values, PauseReason.values, SyncTrigger.values
    )
    for enabled, phase, reason, trigger in combos:
        SyncState.objects.filter(pk=state.pk).update(
            enabled=enabled, phase=phase, pause_reason=reason, lease_owner="", lease_until=None
        )
        state.refresh_from_db()
        owner = lease_acquire(user_id=user.pk, only=_runnable(trigger))
        assert bool(owner) is not _held(state, trigger), (enabled, phase, reason, trigger)
        if owner:
            lease_release(user_id=user.pk, owner=owner)


def test_an_idle_poll_reads_each_row_once_after_its_claim(syncing, run, sf_emulator):
    # The claim; one read of state + user + connection + org, which also finds no org feed or
    # stream (R19), no creates in doubt (R10) and nothing queued (R11), so none of those is read
    # again; the bookkeeping transaction (BEGIN, 3 writes, COMMIT), whose release of the lease
    # also tells whether another round was asked for. 13 statements before.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run()  # settle
    sf_emulator.reset_api_calls()
    with CaptureQueriesContext(connection) as captured:
        result = run()
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert (result.pulled, result.pushed) == (0, 0)
    statements = [q["sql"] for q in captured.captured_queries]
    assert statements[0].startswith('UPDATE "tasksync_syncstate" SET "lease_owner"'), statements
    read = statements[1]
    assert read.startswith("SELECT") and all(
        table in read
        for table in (
            "tasksync_syncstate",
            "accounts_user",
            "accounts_salesforceconnection",
            "accounts_salesforceorg",
        )
    ), read
    later_reads = [s for s in statements[2:] if s.startswith("SELECT")]
    for table in ("accounts_user", "accounts_salesforceconnection", "accounts_salesforceorg"):
        assert not any(f'FROM "{table}"' in s for s in later_reads), (table, statements)
    for table in SKIPPED:
        assert f'"{table}"' in read, (table, read)
        assert not any(f'FROM "{table}"' in s for s in later_reads), (table, statements)
    assert later_reads == [], statements
    # The release asks in its own condition whether another round was asked for (R5).
    release = statements[-2]
    assert release.startswith('UPDATE "tasksync_syncstate"') and "rerun_requested" in release
    assert len(statements) == 7, statements


# What the first read finds none of in an idle poll (first_read.MayHave).
SKIPPED = (
    "tasksync_orgfeed",
    "tasksync_streamstate",
    "tasksync_tasklink",
    "tasksync_outboundchange",
)


@pytest.mark.django_db
def test_the_first_read_is_built_once_and_still_sees_each_runs_rows():
    # first_read builds its query once a process and clones it for every run: each flag must
    # still follow the rows as they are at that run's read (a query evaluated once and kept
    # would tell every later run "nothing queued", and a queued edit would never be pushed).
    from tasksync.models import LinkState, OutboxState
    from tasksync.sync.first_read import _with_may_have, read_state

    state = SyncStateFactory(org_id="00D8a0000000000001")
    user_id = state.user_id
    _, may_have = read_state(user_id)
    assert may_have == type(may_have)(feed=False, stream=False, in_doubt=False, outbox=False)

    OutboundChangeFactory(task__user=state.user, state=OutboxState.PENDING)
    assert read_state(user_id)[1].outbox
    TaskLinkFactory(
        task__user=state.user,
        sf_id=None,
        state=LinkState.CREATING,
        create_started_at=timezone.now(),
    )
    assert read_state(user_id)[1].in_doubt
    StreamStateFactory(org_id=state.org_id)
    assert read_state(user_id)[1].stream
    feed = OrgFeedFactory(org_id=state.org_id)
    type(feed).objects.filter(pk=feed.pk).update(enabled=True)
    flags = read_state(user_id)[1]
    assert (flags.feed, flags.stream, flags.in_doubt, flags.outbox) == (True, True, True, True)
    # Another user's state is read by the same shared query, with its own answers.
    other = SyncStateFactory(org_id="00D8a0000000000009").user_id
    other_state, other_flags = read_state(other)
    assert other_state.user_id == other
    assert other_flags == type(flags)(feed=False, stream=False, in_doubt=False, outbox=False)
    assert _with_may_have()._result_cache is None  # never evaluated itself
