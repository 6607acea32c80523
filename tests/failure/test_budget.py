"""R13: the org's API budget. Polls slow down before the share, stop at it without extra calls,
and resume when the budget returns."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from accounts.models import SalesforceOrg
from tasksync.models import OutboundChange, SyncState
from tasksync.services import tasks as services
from tasksync.sync.dispatch import dispatch_due_polls
from tasksync.sync.engine import poll_interval, sync_user
from tests.fixtures_sync import state_of


def test_every_response_updates_the_orgs_usage(syncing, run, sf_emulator):
    # R13: Sforce-Limit-Info is recorded per org.
    sf_emulator.set_api_limit(15000, used=1234)
    run()
    org = SalesforceOrg.objects.get(org_id=sf_emulator.demo.org_id)
    assert org.api_max == 15000 and org.api_used >= 1235
    assert org.api_usage_at is not None


def test_polls_stretch_as_the_share_is_approached(syncing, run, settings, sf_emulator):
    # R13: default share 50% of the daily limit.
    settings.SYNC_POLL_SECONDS = 60
    sf_emulator.set_api_limit(1000, used=100)
    run()
    assert poll_interval(state_of(syncing)) == timedelta(seconds=60)
    sf_emulator.set_api_limit(1000, used=420)  # 84% of the share
    run()
    assert poll_interval(state_of(syncing)) == timedelta(seconds=240)


def test_it_stops_at_the_share_without_extra_calls_then_resumes(syncing, run, sf_emulator):
    # R13: at the share, pushes wait and nothing more is called until the budget recovers.
    sf_emulator.set_api_limit(1000, used=499)
    for i in range(3):
        services.task_create(user=syncing, name=f"Task {i}")
    sf_emulator.reset_api_calls()
    first = sync_user(user_id=syncing.pk, trigger="push")
    assert first is not None
    # The pull's one read (issue 16: one call) crosses the share: the push waits, queued.
    assert OutboundChange.objects.filter(user=syncing).count() == 3
    state = state_of(syncing)
    assert (state.phase, state.pause_reason) == ("paused", "over_limit")
    assert state.message == (
        "The org has used 500 of its 1000 daily API calls; tasksync stops at 50% and resumes"
        " when the 24-hour budget recovers."
    )
    spent = sf_emulator.api_call_total()
    assert spent == 1

    # Polls and pushes now cost nothing.
    assert sync_user(user_id=syncing.pk, trigger="poll") is None
    assert sync_user(user_id=syncing.pk, trigger="push") is None
    assert sf_emulator.api_call_total() == spent

    # The rolling 24 hours move on: the budget is back, the next poll probes and resumes.
    sf_emulator.set_api_limit(1000, used=10)
    later = timezone.now() + timedelta(minutes=31)
    with time_machine.travel(later, tick=False):
        assert dispatch_due_polls() == 1
        assert SyncState.objects.get(user=syncing).phase == "on"
    assert not OutboundChange.objects.filter(user=syncing).exists()
    assert len(sf_emulator.tasks()) == 3


def test_over_the_limit_pauses_every_user_of_the_org(syncing, sf_emulator, settings):
    # R12: the limit is org-wide.
    from tests.factories import UserFactory

    colleague = UserFactory()
    SyncState.objects.create(
        user=colleague, enabled=True, phase="on", org_id=sf_emulator.demo.org_id
    )
    sf_emulator.set_api_limit(100, used=100)
    sync_user(user_id=syncing.pk, trigger="poll")
    assert SyncState.objects.get(user=colleague).pause_reason == "over_limit"
