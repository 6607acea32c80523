"""A crowded org: each rep's poll reads their own changed tasks in full and the colleagues' as ids,
stamps and owners (issue 16, B4; R13, R18).

The changes query sees the whole org, so that a task of the rep's reassigned to a colleague
reaches their run (R18). Read in full, every colleague's changed task cost each poll of each rep
its whole record, only to be skipped: a round of polls grew with the square of the reps. Once a
read has seen 50 colleagues' tasks (pull.overlap.CROWD), the next polls read theirs as stamps,
in the same Composite call, and read again in full only what is linked to the rep and means
something for the link. A rep with few links (pull.overlap.LINKED_AT_MOST) asks for the stamps of
those only, and for the count of the colleagues' changes. The emulator counts the records each
query returned by its field list: "in full" is what a query with Subject returned.
Production engine and client over HTTPS; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tasksync.models import OutboundChange, ReminderTask, TaskLink
from tasksync.services import tasks as services
from tasksync.sync.engine import sync_user
from tasksync.sync.pull.overlap import CROWD, LINKED_AT_MOST
from tests.fixtures_sync import link_of, state_of

pytestmark = pytest.mark.django_db


def _full(reads: dict) -> int:
    return sum(n for fields, n in reads.items() if "Subject" in fields)


def _stamps(reads: dict) -> int:
    return sum(n for fields, n in reads.items() if "Subject" not in fields)


@pytest.fixture
def bea(sf_emulator):
    """A colleague in the rep's org (she need not use tasksync)."""
    return sf_emulator.create_user(sf_emulator.demo.org_id, "bea@tasksync.example", "pw-bea", "Bea")


def _colleague_busy(sf_emulator, bea, n=CROWD, label="Bea"):
    sf_emulator.create_tasks([{"Subject": f"{label} {i}"} for i in range(n)], user_id=bea["id"])


def _linked_in_a_crowd(syncing, run, sf_emulator, bea, name):
    """A task of the rep's, pushed and linked; a poll that read 50 of Bea's tasks in full (the
    org is crowded from then on); three minutes later."""
    task = services.task_create(user=syncing, name=name)
    run("push")
    _colleague_busy(sf_emulator, bea)
    run()
    sf_emulator.advance(180)
    return task


def test_in_a_crowded_org_a_poll_reads_only_the_reps_own_tasks_in_full(
    syncing, run, sf_emulator, bea
):
    # R18, R13: 50 of Bea's tasks were read in full once, to be skipped; the next poll, with
    # 250 more of hers and one new task of the rep's, reads the rep's one in full, none of Bea's
    # (no link of the rep's holds one), only their count, in one Composite call, and imports
    # the rep's only. Before, it read all of them in full, then all of them as stamps.
    _colleague_busy(sf_emulator, bea)
    sf_emulator.reset_api_calls()
    run()
    assert _full(sf_emulator.records_read()) == CROWD  # before: the whole org, in full
    assert state_of(syncing).colleagues_seen == CROWD
    sf_emulator.advance(180)
    _colleague_busy(sf_emulator, bea, 250, label="Bea later")
    sf_emulator.create_task(Subject="Mine")
    sf_emulator.reset_api_calls()
    run()
    reads = sf_emulator.records_read()
    assert _full(reads) == 1, reads
    assert _stamps(reads) == 0, reads
    assert sf_emulator.api_calls() == {"composite": 1}
    # Bea's 50 still in the overlap and her 250: the crowd is still told.
    assert state_of(syncing).colleagues_seen == CROWD + 250
    assert ReminderTask.objects.filter(user=syncing, name="Mine").count() == 1
    assert not ReminderTask.objects.filter(user=syncing, name__startswith="Bea").exists()


def test_a_rep_with_many_links_reads_every_colleagues_change_as_a_stamp(
    syncing, run, sf_emulator, bea
):
    # R18, R13: past LINKED_AT_MOST live links the colleagues' tasks are not asked for by id
    # (the query would outgrow its URL): every one of Bea's changes comes as a stamp, and only
    # the rep's own are read in full.
    sf_emulator.create_tasks([{"Subject": f"Mine {i}"} for i in range(LINKED_AT_MOST + 1)])
    _colleague_busy(sf_emulator, bea)
    run()
    assert TaskLink.objects.filter(user=syncing).count() == LINKED_AT_MOST + 1
    sf_emulator.advance(180)
    _colleague_busy(sf_emulator, bea, 250, label="Bea later")
    sf_emulator.create_task(Subject="Mine again")
    sf_emulator.reset_api_calls()
    run()
    reads = sf_emulator.records_read()
    # The rep's: the new one, and the imported ones again (stamped within FRESH of the read).
    assert _full(reads) == LINKED_AT_MOST + 2, reads
    assert _stamps(reads) == CROWD + 250, reads  # all of Bea's: before, the same
    assert sf_emulator.api_calls() == {"composite": 1}
    assert state_of(syncing).colleagues_seen == CROWD + 250


def test_a_task_reassigned_to_a_colleague_still_leaves_the_reps_list(
    syncing, run, sf_emulator, bea
):
    # R18: in the crowded read, the rep's linked task now Bea's comes as a stamp; its link has
    # not let go of it, so it is read again in full, by id, and leaves the rep's list. One of
    # Bea's given to the rep is the rep's now: read in full and imported.
    task = _linked_in_a_crowd(syncing, run, sf_emulator, bea, "Hand over")
    given = sf_emulator.create_task(user_id=bea["id"], Subject="Bea's call")
    sf_emulator.update_task(given["Id"], OwnerId=syncing.salesforce_connection.sf_user_id)
    sf_emulator.update_task(link_of(task).sf_id, OwnerId=bea["id"])
    _colleague_busy(sf_emulator, bea, label="Bea later")
    sf_emulator.reset_api_calls()
    run()
    assert link_of(task).state == "reassigned"
    assert ReminderTask.objects.filter(user=syncing, name="Bea's call").count() == 1
    reads = sf_emulator.records_read()
    assert _full(reads) == 2, reads  # the one given to the rep, the one read again by id
    assert _stamps(reads) == 1, reads  # of Bea's, only the one the rep's link held
    assert sf_emulator.api_calls() == {"composite": 1, "queryAll": 1}


def test_a_reassignment_in_the_same_second_as_the_last_read_is_not_missed(
    syncing, run, sf_emulator, bea
):
    # R18: Salesforce's stamps have whole seconds. The rep's task edited and read at once, then
    # reassigned to Bea in that same second: the stamps' row carries the stamp the link saw,
    # and its owner tells that the link must let go.
    task = _linked_in_a_crowd(syncing, run, sf_emulator, bea, "Hand over")
    sf_id = link_of(task).sf_id
    sf_emulator.update_task(sf_id, Description="Call first")
    run()  # crowded: the rep's edit read in full, Bea's 50 (in the overlap) as stamps
    link = link_of(task)
    assert ReminderTask.objects.get(pk=task.pk).details == "Call first"
    now = sf_emulator.now()
    sf_emulator.set_now(link.sf_system_modstamp)
    sf_emulator.update_task(sf_id, OwnerId=bea["id"])
    sf_emulator.set_now(now)
    assert sf_emulator.get_task(sf_id)["SystemModstamp"] == (
        link.sf_system_modstamp.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    )
    run()
    assert link_of(task).state == "reassigned"


def test_a_colleagues_deletion_of_the_reps_task_now_theirs_is_applied(
    syncing, run, sf_emulator, bea
):
    # R6, R18: reassigned to Bea and deleted by her in one poll's window: read again by id
    # (queryAll: the recycle bin too), and the rep's task leaves their list.
    task = _linked_in_a_crowd(syncing, run, sf_emulator, bea, "Gone")
    sf_id = link_of(task).sf_id
    sf_emulator.update_task(sf_id, OwnerId=bea["id"])
    sf_emulator.delete_task(sf_id)
    _colleague_busy(sf_emulator, bea, label="Bea later")
    run()
    assert link_of(task).state != "synced"
    assert not ReminderTask.objects.filter(pk=task.pk, deleted_at__isnull=True).exists()


def test_once_the_crowd_is_gone_a_poll_is_one_plain_query_again(syncing, run, sf_emulator, bea):
    # R13: the split pays only while colleagues' changes are many; a quiet org's idle poll is
    # one plain queryAll, as before.
    _colleague_busy(sf_emulator, bea)
    run()
    sf_emulator.advance(180)
    run()  # crowded: Bea's 50, still in the cursor's overlap, read as stamps
    assert state_of(syncing).colleagues_seen == CROWD
    sf_emulator.reset_api_calls()
    run()  # crowded still, and the cursor has passed them: it sees none of hers
    assert sf_emulator.api_calls() == {"composite": 1}
    assert state_of(syncing).colleagues_seen == 0
    sf_emulator.reset_api_calls()
    run()
    assert sf_emulator.api_calls() == {"queryAll": 1}


def test_without_composite_a_crowded_org_is_read_in_full_in_one_query(
    syncing, run, sf_emulator, bea, settings
):
    # R13: without Composite the two reads would be two calls: one query, everything in full.
    settings.SALESFORCE_COMPOSITE = False
    _colleague_busy(sf_emulator, bea)
    run()
    sf_emulator.advance(180)
    _colleague_busy(sf_emulator, bea, label="Bea later")
    sf_emulator.reset_api_calls()
    run()
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert _full(sf_emulator.records_read()) == 2 * CROWD  # the first 50 still in the overlap
    assert _stamps(sf_emulator.records_read()) == 0


def test_a_lost_create_reassigned_by_automation_is_still_recognised(syncing, run, sf_emulator, bea):
    # R10, R18: the create landed, its answer was lost, and an assignment rule gave the task to
    # Bea at once. While a create is in doubt the poll reads the whole org in full, so the match
    # finds it whoever owns it now: it is not sent again (no second Salesforce task).
    _colleague_busy(sf_emulator, bea)
    run()
    sf_emulator.advance(180)
    task = services.task_create(user=syncing, name="Call Ana")
    sf_emulator.drop_response(method="POST", path="composite/sobjects")
    assert sync_user(user_id=syncing.pk, trigger="push").outcome == "failed"
    (landed,) = [t for t in sf_emulator.tasks() if t["Subject"] == "Call Ana"]
    sf_emulator.update_task(landed["Id"], OwnerId=bea["id"])
    _colleague_busy(sf_emulator, bea, label="Bea later")
    sf_emulator.advance(5)
    # Time passing, without moving clocks: the back-off is over, and so is any call that could
    # still have been running in Salesforce (R10).
    OutboundChange.objects.update(not_before=None)
    TaskLink.objects.update(resend_after=timezone.now() - timedelta(seconds=1))
    for _ in range(2):
        run()
    assert link_of(task).sf_id == landed["Id"]
    assert link_of(task).state == "reassigned"
    assert [t["Subject"] for t in sf_emulator.tasks()].count("Call Ana") == 1
