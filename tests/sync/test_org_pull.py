"""R19: one pull per org, with the integration user's token, for every syncing rep of the org;
each rep's share applied by the rep's own decide/apply code (R18 isolation included); writes
under each rep's token. Production engine and client against the emulator over HTTPS."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from benchmarks import harness
from tasksync.models import (
    FeedHealth,
    OrgFeed,
    OutboundChange,
    ReminderTask,
    SyncConflict,
    SyncRun,
    SyncState,
    TaskLink,
)
from tasksync.services import tasks as services
from tasksync.sync.dispatch import dispatch_due_polls
from tasksync.sync.org_pull import org_pull

pytestmark = pytest.mark.django_db


@pytest.fixture
def org(sf_emulator, salesforce_settings):
    """Three reps of the demo org with sync on, and the org's integration user."""
    with harness.jobs_suppressed() as queued:
        reps = []
        for _ in range(3):
            connection = harness.connect_user(sf_emulator)
            harness.turn_on(connection.user)
            harness.cycle(connection.user, "first_sync")
            reps.append(connection)
        integration = harness.connect_user(sf_emulator)
        feed = OrgFeed.objects.create(
            org_id=sf_emulator.demo.org_id,
            integration_user=integration.user,
            can_read_all=True,
            can_subscribe=True,
        )
        sf_emulator.reset_api_calls()
        yield reps, feed, queued


def _pull(feed):
    return org_pull(org_id=feed.org_id)


def test_one_pull_reads_every_reps_changes_and_costs_the_same_for_one_rep_or_many(org, sf_emulator):
    reps, feed, _ = org
    for rep in reps:
        sf_emulator.create_task(user_id=rep.sf_user_id, Subject=f"For {rep.user.username}")
    done = _pull(feed)
    # One changes query and one delete-log check for the whole org (R19), whatever its size.
    assert sf_emulator.api_call_total() == done["api_calls"] == 2
    for rep in reps:
        assert list(ReminderTask.objects.live().filter(user=rep.user).values_list("name")) == [
            (f"For {rep.user.username}",)
        ]
        run = SyncRun.objects.filter(user=rep.user, trigger="org_pull").latest("started_at")
        assert run.outcome == "success" and run.pulled == 1
    sf_emulator.reset_api_calls()
    _pull(feed)  # quiet: the delete log is checked every five minutes, not every pull
    assert sf_emulator.api_call_total() == 1
    assert OrgFeed.objects.get(pk=feed.pk).health == FeedHealth.OK


def test_a_reassignment_between_reps_moves_the_task_through_the_org_pull(org, sf_emulator):
    # R18 through the org pull: each rep's share touches only that rep's tasks and links.
    (ana, bea, _), feed, _ = org
    record = sf_emulator.create_task(user_id=ana.sf_user_id, Subject="Call Ana")
    _pull(feed)
    mine = ReminderTask.objects.live().get(user=ana.user)
    sf_emulator.update_task(record["Id"], OwnerId=bea.sf_user_id, Description="Bea's notes")
    _pull(feed)
    mine.refresh_from_db()
    assert mine.deleted_at is not None
    assert TaskLink.objects.get(task=mine).state == "reassigned"
    theirs = ReminderTask.objects.live().get(user=bea.user)
    assert theirs.details == "Bea's notes"
    assert ReminderTask.objects.live().filter(link__sf_id=record["Id"]).count() == 1


def test_a_task_reassigned_to_an_outsider_leaves_the_reps_list(org, sf_emulator):
    # R18: the new owner does not use tasksync.
    (ana, _, _), feed, _ = org
    record = sf_emulator.create_task(user_id=ana.sf_user_id, Subject="Call Ana")
    _pull(feed)
    outsider = sf_emulator.create_user(sf_emulator.demo.org_id, "out@tasksync.example", "pw")
    sf_emulator.update_task(record["Id"], OwnerId=outsider["id"])
    _pull(feed)
    assert not ReminderTask.objects.live().filter(link__sf_id=record["Id"]).exists()


def test_a_rep_whose_token_is_revoked_still_sees_changes_but_cannot_push(org, sf_emulator):
    # R19: writes stay under each rep's own token.
    (ana, _, _), feed, _ = org
    sf_emulator.revoke_refresh_tokens(user_id=ana.sf_user_id)
    sf_emulator.expire_access_tokens()
    sf_emulator.create_task(user_id=ana.sf_user_id, Subject="Seen anyway")
    _pull(feed)
    assert ReminderTask.objects.live().filter(user=ana.user, name="Seen anyway").exists()
    task = services.task_create(user=ana.user, name="Waits for a reconnect")
    run = harness.cycle(ana.user, "push")
    assert run.outcome == "failed"
    state = SyncState.objects.get(user=ana.user)
    assert (state.phase, state.pause_reason) == ("paused", "reconnect")
    assert OutboundChange.objects.filter(task=task).exists()  # kept (R11)
    _pull(feed)  # and still shown what changes in Salesforce
    assert SyncRun.objects.filter(user=ana.user, trigger="org_pull").count() == 2


def test_a_covered_reps_push_reads_what_it_will_write_first(org, sf_emulator):
    # R8: a Salesforce edit made after the org's last pull is seen before the push could
    # overwrite it; the later change wins and the conflict is recorded.
    (ana, _, _), feed, _ = org
    task = services.task_create(user=ana.user, name="Call Ana")
    assert harness.cycle(ana.user, "push").pushed == 1
    sf_id = TaskLink.objects.get(task=task).sf_id
    with time_machine.travel(timezone.now() - timedelta(seconds=30), tick=True):
        services.task_update(task=task, details="local, earlier")
    sf_emulator.update_task(sf_id, Description="Salesforce, later")
    sf_emulator.reset_api_calls()
    run = harness.cycle(ana.user, "push")
    task.refresh_from_db()
    assert task.details == "Salesforce, later"
    assert SyncConflict.objects.get(task=task, field="details").winner == "salesforce"
    assert sf_emulator.get_task(sf_id)["Description"] == "Salesforce, later"
    assert run.api_calls == 1  # the read by id; nothing left to push


def test_a_lost_create_is_recognised_by_the_org_pull_never_duplicated(org, sf_emulator):
    # R10 through the feed: the org pull matches the rep's in-doubt create.
    (ana, _, _), feed, _ = org
    task = services.task_create(user=ana.user, name="Call Ana")
    sf_emulator.drop_response(method="POST", path="composite/sobjects")
    assert harness.cycle(ana.user, "push").outcome == "failed"
    _pull(feed)
    TaskLink.objects.filter(task=task).update(resend_after=None)
    harness.cycle(ana.user, "push")
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["Call Ana"]
    assert TaskLink.objects.get(task=task).sf_id == sf_emulator.tasks()[0]["Id"]


def test_the_dispatcher_pulls_a_covered_org_once_and_polls_its_reps_no_more(org, sf_emulator):
    reps, feed, queued = org
    SyncState.objects.update(next_poll_at=None)
    queued.reset_mock()
    assert dispatch_due_polls() == 0  # no rep's own poll is queued
    assert queued.call_args_list == []
    feed.refresh_from_db()
    # The org's one pull was queued (and ran, jobs being inline under the test settings).
    assert feed.next_pull_at is not None and feed.last_success_at is not None
    assert SyncState.objects.filter(next_poll_at__isnull=True).count() == len(reps)
    assert dispatch_due_polls() == 0  # not due again within the interval
    assert OrgFeed.objects.get(pk=feed.pk).last_success_at == feed.last_success_at


def test_when_the_integration_user_must_reconnect_the_reps_poll_on_their_own(org, sf_emulator):
    # R19: if the feed breaks, polling returns at once.
    reps, feed, _ = org
    integration = feed.integration_user.salesforce_connection
    sf_emulator.revoke_refresh_tokens(user_id=integration.sf_user_id)
    sf_emulator.expire_access_tokens()
    assert _pull(feed) is not None
    feed.refresh_from_db()
    assert feed.health == FeedHealth.RECONNECT
    from tasksync.sync.org_pull import feed_covering

    assert feed_covering(feed.org_id) is None
    claimed = dispatch_due_polls()
    assert claimed == len(reps)


def test_over_the_limit_the_org_pull_waits_then_probes_and_lifts_the_pause(org, sf_emulator):
    # R12/R13 with the feed: a 403 pauses the org; the next org pull makes no call until the
    # budget can have recovered; then it probes, and its success resumes every rep.
    from tasksync.sync import budget

    reps, feed, _ = org
    sf_emulator.set_api_limit(100, used=100)
    _pull(feed)
    assert set(SyncState.objects.values_list("pause_reason", flat=True)) == {"over_limit"}
    sf_emulator.set_api_limit(15000, used=10)
    sf_emulator.reset_api_calls()
    assert _pull(feed) is None and sf_emulator.api_call_total() == 0
    sf_emulator.create_task(user_id=reps[0].sf_user_id, Subject="After the limit")
    later = timezone.now() + budget.RECOVERY_WAIT + timedelta(minutes=1)
    with time_machine.travel(later, tick=True):  # the rolling 24 hours moved on
        assert _pull(feed)["api_calls"] >= 1
    assert set(SyncState.objects.values_list("phase", flat=True)) == {"on"}
    assert ReminderTask.objects.live().filter(user=reps[0].user, name="After the limit").exists()
