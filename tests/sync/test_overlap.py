"""The cursor's overlap read as ids and stamps (issue 16; R9, R13, R16, R18).

For two minutes after a read that brought 200 records or more in full (a busy poll, our own push
coming back), a poll reads what changed since shortly before the last read in full, and the rest
of the cursor's two-minute overlap (kept for records committed late) as ids and stamps in the
same Composite call; only what changed there since it was last read is read again, by id. The
emulator counts the records each query returned by its field list, so "read in full" is what a
query with Subject returned.
Production engine and client over HTTPS; nothing of ours is mocked.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tasksync.models import ReminderTask
from tasksync.services import tasks as services
from tests.fixtures_sync import link_of

pytestmark = pytest.mark.django_db


def _full(reads: dict) -> int:
    """Records returned by queries of the whole task (its fields include Subject)."""
    return sum(n for fields, n in reads.items() if "Subject" in fields)


def _stamps(reads: dict) -> int:
    """Records returned as ids and stamps only."""
    return sum(n for fields, n in reads.items() if "Subject" not in fields)


def _late(sf_emulator, seconds, change):
    """``change`` made as if by a transaction that began ``seconds`` ago: its SystemModstamp
    is that old, but it becomes visible only now. The clock then goes on where it was."""
    now = sf_emulator.now()
    sf_emulator.set_now(now - timedelta(seconds=seconds))
    change()
    sf_emulator.set_now(now + timedelta(seconds=0.1))


def _busy(sf_emulator, n=200):
    """Salesforce tasks of the rep's, new: the run that reads them reads 200 records in full."""
    sf_emulator.create_tasks([{"Subject": f"Busy {i}"} for i in range(n)])


def _busy_read_then_poll(sf_emulator, run):
    """A busy read, time passing (what it read leaves the last 30 s), then a poll, counted."""
    _busy(sf_emulator)
    _later(sf_emulator)
    run()
    _later(sf_emulator)
    sf_emulator.reset_api_calls()
    run()


def _later(sf_emulator):
    """Time passes in Salesforce: what was written is now older than the 30 s before a read
    that are always read in full (pull.overlap.FRESH), and still inside its two minutes."""
    sf_emulator.advance(40)


def test_our_own_writes_are_read_in_full_once_then_only_as_stamps(syncing, run, sf_emulator):
    # R9, R13: 300 creates pushed; the next poll reads them back in full once (a write's answer
    # carries no SystemModstamp, so only a read can tell ours from an edit made since); the poll
    # after that, with them still inside the overlap, reads them as stamps: nothing in full, no
    # call but the poll's one.
    for i in range(300):
        services.task_create(user=syncing, name=f"Local {i}")
    run("push")
    _later(sf_emulator)
    sf_emulator.reset_api_calls()
    run()
    assert _full(sf_emulator.records_read()) == 300
    _later(sf_emulator)
    sf_emulator.reset_api_calls()
    run()
    reads = sf_emulator.records_read()
    assert _full(reads) == 0, reads
    assert _stamps(reads) >= 300, reads
    assert sf_emulator.api_calls() == {"composite": 1}


def test_a_colleagues_tasks_in_the_overlap_are_not_read_in_full_again(syncing, run, sf_emulator):
    # R18: the changes query sees the whole org; a colleague's task is skipped unread, and
    # inside the overlap it is not even read in full a second time.
    bea = sf_emulator.create_user(sf_emulator.demo.org_id, "bea@tasksync.example", "pw-bea", "Bea")
    sf_emulator.create_task(user_id=bea["id"], Subject="Bea's call")
    _busy_read_then_poll(sf_emulator, run)
    reads = sf_emulator.records_read()
    assert _full(reads) == 0 and _stamps(reads) >= 1, reads
    assert not ReminderTask.objects.filter(user=syncing, name="Bea's call").exists()


def test_an_edit_committed_late_inside_the_overlap_is_read_again_and_applied(
    syncing, run, sf_emulator
):
    # R9 (the getUpdated "latestDateCovered" caveat), R16: an edit whose SystemModstamp is 35 s
    # before the last read answered, made visible after it (a long transaction). Its stamp is
    # not the one the link saw: it is read again by id, in full, and applied.
    task = services.task_create(user=syncing, name="Call Ana")
    run("push")
    _busy(sf_emulator)
    _later(sf_emulator)
    run()  # our create read back in full, with 200 new tasks: a busy read
    sf_id = link_of(task).sf_id
    _late(sf_emulator, 35, lambda: sf_emulator.update_task(sf_id, Description="Ring at 10"))
    sf_emulator.reset_api_calls()
    run()
    assert ReminderTask.objects.get(pk=task.pk).details == "Ring at 10"
    reads = sf_emulator.records_read()
    assert _full(reads) == 1, reads
    assert sf_emulator.api_calls() == {"composite": 1, "queryAll": 1}


def test_a_new_task_committed_late_inside_the_overlap_is_imported(syncing, run, sf_emulator):
    # R5, R9: a task of theirs that appeared late with an earlier stamp has no link: read in
    # full and imported; a colleague's would not be.
    _busy(sf_emulator)
    _later(sf_emulator)
    run()
    _late(sf_emulator, 35, lambda: sf_emulator.create_task(Subject="Late arrival"))
    run()
    assert ReminderTask.objects.filter(user=syncing, name="Late arrival").count() == 1
    sf_emulator.reset_api_calls()
    run()  # linked now, at the stamp it was read at: a stamp, not a full read
    reads = sf_emulator.records_read()
    assert _full(reads) == 0, reads


def test_a_task_reassigned_away_inside_the_overlap_still_leaves_the_list(syncing, run, sf_emulator):
    # R18: a reassignment committed late inside the overlap moves the stamp: read in full,
    # and the task leaves the rep's list.
    task = services.task_create(user=syncing, name="Hand over")
    run("push")
    _busy(sf_emulator)
    _later(sf_emulator)
    run()
    bea = sf_emulator.create_user(sf_emulator.demo.org_id, "bea@tasksync.example", "pw-bea", "Bea")
    sf_id = link_of(task).sf_id
    _late(sf_emulator, 35, lambda: sf_emulator.update_task(sf_id, OwnerId=bea["id"]))
    run()
    assert link_of(task).state == "reassigned"


def test_without_composite_the_overlap_is_read_in_full_in_the_one_query(
    syncing, run, sf_emulator, settings
):
    # R13: without Composite the two reads would be two calls: one query, as before.
    settings.SALESFORCE_COMPOSITE = False
    task = services.task_create(user=syncing, name="Call Ana")
    run("push")
    _busy(sf_emulator)
    _later(sf_emulator)
    run()
    sf_id = link_of(task).sf_id
    _late(sf_emulator, 35, lambda: sf_emulator.update_task(sf_id, Description="Ring at 10"))
    sf_emulator.reset_api_calls()
    run()
    assert ReminderTask.objects.get(pk=task.pk).details == "Ring at 10"
    assert sf_emulator.api_calls() == {"queryAll": 1}
    assert _stamps(sf_emulator.records_read()) == 0


def test_after_a_quiet_read_or_two_minutes_the_overlap_is_read_in_full_in_one_plain_query(
    syncing, run, sf_emulator
):
    # R9, R13: the split pays only while the overlap holds what a busy read read: a quiet poll
    # is one plain query, and so is every poll once the cursor has passed the busy read.
    sf_emulator.reset_api_calls()
    run()
    assert sf_emulator.api_calls() == {"queryAll": 1}
    _busy_read_then_poll(sf_emulator, run)
    assert sf_emulator.api_calls() == {"composite": 1}
    sf_emulator.advance(130)
    run()  # its overlap begins two minutes before the last read: the busy read's records
    sf_emulator.reset_api_calls()
    run()
    assert sf_emulator.api_calls() == {"queryAll": 1}
