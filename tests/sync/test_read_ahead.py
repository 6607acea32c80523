"""The push's read while the pull is on the wire (issue 16: overlap network and local work).

A cycle pulls before it pushes (R8, R9), and the push reads its queued rows, their links and
tasks. Those reads are made while the pull's first call is on the wire; the push uses them only
if the pull wrote nothing of the rep's tasks, links or outbox, and reads again otherwise. The
emulator holds the pull's answer after it was computed, and the test watches the worker
thread's own SQL in that window: nothing of ours is mocked."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from tasksync.models import OutboundChange, ReminderTask
from tasksync.services import tasks as services
from tasksync.sync.engine import sync_user
from tests.concurrency import Background
from tests.fixtures_sync import link_of

pytestmark = pytest.mark.django_db(transaction=True)

# The pull's first call: a plain query page, or a Composite call when the delete log or the
# picklist rides along. The push's own Composite call comes after it and is not held (times=1).
PULL = r"/(query|queryAll)/|composite$"


class _OutboxReads:
    """Notes when this thread's connection reads the push's queued rows (the due rows in the
    order they were queued: not the save's own read of its task's row)."""

    def __init__(self):
        self.seen = threading.Event()
        self._table = OutboundChange._meta.db_table

    def __call__(self, execute, sql, params, many, context):
        head = sql.lstrip().upper()
        if head.startswith("SELECT") and f'ORDER BY "{self._table}"."queued_at"' in sql:
            self.seen.set()
        return execute(sql, params, many, context)


def _saved_in_a_worker(reads: _OutboxReads, save) -> Background:
    """The rep's change (``save()``) made in a thread with its own connection: its commit runs
    the push's cycle there (a pull, then the push), every statement watched by ``reads``."""

    def work():
        with connection.execute_wrapper(reads), transaction.atomic():
            return save()

    worker = Background(work)
    worker.start()
    return worker


def _edit_in_a_worker(task_id: int, reads: _OutboxReads, **changes) -> Background:
    return _saved_in_a_worker(
        reads, lambda: services.task_update(task=ReminderTask.objects.get(pk=task_id), **changes)
    )


def test_the_push_reads_its_rows_while_the_pull_is_on_the_wire(syncing, sf_emulator):
    task = services.task_create(user=syncing, name="Call Ana")  # pushed when saved
    assert link_of(task).sf_id
    reads = _OutboxReads()
    hold = sf_emulator.hold_response(method="*", path=PULL)["id"]
    worker = _edit_in_a_worker(task.pk, reads, details="Bring the contract")
    try:
        assert sf_emulator.wait_until_held(hold, timeout=30)
        # The pull's answer is held: the push's rows are read in the meantime, not after it.
        assert reads.seen.wait(timeout=10), "the push's rows were not read while the pull waited"
    finally:
        sf_emulator.release(hold)
        worker.join(60)
    worker.value()
    assert sf_emulator.get_task(link_of(task).sf_id)["Description"] == "Bring the contract"
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_push_after_a_pull_that_changed_the_task_uses_what_the_pull_wrote(syncing, sf_emulator):
    # R8: Salesforce's new Priority and the rep's new Details both survive, and the link holds
    # what both sides now agree on: the push did not settle from what it read before the pull.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    sf_emulator.advance(2)  # a later second than the create's: its stamp tells them apart
    sf_emulator.update_task(sf_id, Priority="High")
    reads = _OutboxReads()
    _edit_in_a_worker(task.pk, reads, details="Bring the contract").value()
    assert reads.seen.is_set()
    record = sf_emulator.get_task(sf_id)
    assert (record["Priority"], record["Description"]) == ("High", "Bring the contract")
    task.refresh_from_db()
    assert (task.priority, task.details) == ("high", "Bring the contract")
    link = link_of(task)
    assert (link.synced_local["priority"], link.synced_local["details"]) == (
        "high",
        "Bring the contract",
    )
    assert (link.synced_remote["Priority"], link.synced_remote["Description"]) == (
        "High",
        "Bring the contract",
    )
    assert not OutboundChange.objects.filter(user=syncing).exists()
    # Nothing is left to send: the next cycle is one call that changes nothing.
    sf_emulator.reset_api_calls()
    run = sync_user(user_id=syncing.pk, trigger="poll")
    assert (run.pushed, run.pulled, sf_emulator.api_call_total()) == (0, 0, 1)


def test_a_task_saved_while_the_pull_is_on_the_wire_is_pushed_in_the_same_run(syncing, sf_emulator):
    # R5: the push's rows were read before this task existed; the run goes round again for it.
    task = services.task_create(user=syncing, name="Call Ana")
    reads = _OutboxReads()
    hold = sf_emulator.hold_response(method="*", path=PULL)["id"]
    worker = _edit_in_a_worker(task.pk, reads, details="Bring the contract")
    try:
        assert sf_emulator.wait_until_held(hold, timeout=30)
        assert reads.seen.wait(timeout=10)
        # Its push finds the lease held and asks the run for another round.
        later = services.task_create(user=syncing, name="Call Bea")
    finally:
        sf_emulator.release(hold)
        worker.join(60)
    worker.value()
    assert link_of(later).sf_id
    assert sf_emulator.get_task(link_of(later).sf_id)["Subject"].endswith("Call Bea")
    assert sf_emulator.get_task(link_of(task).sf_id)["Description"] == "Bring the contract"
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_task_created_and_deleted_while_the_pull_is_on_the_wire_never_reaches_salesforce(
    syncing, sf_emulator
):
    # R5/R6: the push read the new task's create while the pull waited; the rep deleted the task
    # before the push was sent, which took its row away without asking for a round. The push
    # sees the rows changed and reads again: no create is sent for a deleted task.
    reads = _OutboxReads()
    hold = sf_emulator.hold_response(method="*", path=PULL)["id"]
    worker = _saved_in_a_worker(reads, lambda: services.task_create(user=syncing, name="Call Ana"))
    try:
        assert sf_emulator.wait_until_held(hold, timeout=30)
        assert reads.seen.wait(timeout=10)
        task = ReminderTask.objects.get(user=syncing, name="Call Ana")
        services.task_delete(task=ReminderTask.objects.get(pk=task.pk))
    finally:
        sf_emulator.release(hold)
        worker.join(60)
    worker.value()
    assert sf_emulator.tasks(include_deleted=True) == []
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_transient_failure_of_the_pull_on_the_wire_is_tried_again_and_the_push_goes_on(
    syncing, sf_emulator
):
    # R12: the pull's first call ran in a thread while the push read; its 503 is tried again
    # the ordinary way, once, and the push follows it.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_emulator.inject_fault(method="*", path=PULL, status=503, error_code="SERVER_UNAVAILABLE")
    sf_emulator.reset_api_calls()
    reads = _OutboxReads()
    _edit_in_a_worker(task.pk, reads, details="Bring the contract").value()
    assert reads.seen.is_set()
    assert sf_emulator.get_task(link_of(task).sf_id)["Description"] == "Bring the contract"
    assert sf_emulator.api_call_total() == 3  # the failed pull, the pull again, the push
    assert not OutboundChange.objects.filter(user=syncing).exists()


def test_a_refused_pull_on_the_wire_is_not_sent_again(syncing, sf_emulator):
    # R12/R13: a call Salesforce refused for good (the org is out of API calls) costs one
    # call, not a second try from the caller's thread; the edit stays queued (R11).
    task = services.task_create(user=syncing, name="Call Ana")
    sf_emulator.inject_fault(
        method="*", path=PULL, status=403, error_code="REQUEST_LIMIT_EXCEEDED", times=None
    )
    sf_emulator.reset_api_calls()
    _edit_in_a_worker(task.pk, _OutboxReads(), details="Bring the contract").value()
    assert sf_emulator.api_call_total() == 1
    assert OutboundChange.objects.filter(task=task).exists()
