"""R5: a worker that finds a user's run going on asks it for one more round; a run that has already
left its push loop queues that round when it releases the lease, so the change does not wait for
the next poll. Provoked for real on PostgreSQL: the run is stopped at its very end (recording the
org's API usage) by a row lock the test holds, and the second worker comes then."""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django_q.conf import Conf
from django_q.models import OrmQ

from accounts.models import SalesforceOrg
from tasksync.models import SyncRun
from tasksync.services import tasks as services
from tasksync.sync.engine import sync_user

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def _queued(user):
    """The sync jobs waiting in django-q2's ORM broker for this user, as (func, args)."""
    tasks = [q.task for q in OrmQ.objects.order_by("pk")]
    return [(t["func"], tuple(t["args"])) for t in tasks if t["args"][:1] == (user.pk,)]


def _until(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _someone_waits_for_a_lock():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def _run_in_a_thread(user, trigger):
    """A worker's run of ``user`` in a thread with its own database connection; its SyncRun
    lands in the list returned."""
    results = []

    def work():
        try:
            results.append(sync_user(user_id=user.pk, trigger=trigger))
        finally:
            connections.close_all()  # this thread's own connection

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    return worker, results


def test_a_worker_that_came_after_the_push_loop_gets_its_own_round(
    syncing, sf_emulator, monkeypatch
):
    monkeypatch.setattr(Conf, "SYNC", False)  # queued jobs wait in the broker: the test sees them
    services.task_create(user=syncing, name="Call Ana")  # the first run's push
    OrmQ.objects.all().delete()  # that change's own job: this test runs the sync itself
    hold = sf_emulator.hold_response(method="POST", path="composite", safety_seconds=90)
    worker, results = _run_in_a_thread(syncing, "push")
    try:
        assert sf_emulator.wait_until_held(hold["id"], timeout=30), "the run never pushed"
        org = SalesforceOrg.objects.get(pk=syncing.salesforce_connection.org_id)
        with transaction.atomic():
            # The org's row is locked: the run finishes its push loop, then waits to record the
            # org's API usage, the last thing it does before releasing the lease.
            SalesforceOrg.objects.select_for_update().get(pk=org.pk)
            sf_emulator.release(hold["id"])
            assert _until(_someone_waits_for_a_lock), "the run never reached its end"
            # A second worker now: the lease is held, so it asks for one more round (R5).
            assert sync_user(user_id=syncing.pk, trigger="push") is None
            assert _queued(syncing) == []
    finally:
        sf_emulator.release(hold["id"])
        worker.join(timeout=60)
    [run] = results
    assert run.outcome == "success" and run.pushed == 1
    assert _queued(syncing) == [("tasksync.jobs.sync_user", (syncing.pk, "push"))]
    assert SyncRun.objects.filter(user=syncing, outcome="running").count() == 0


def test_a_change_saved_while_an_idle_poll_reads_is_not_left_for_the_next_poll(
    syncing, sf_emulator, monkeypatch
):
    # R5, R11 (issue 16): the poll's first read found nothing queued, so it reads no outbox and
    # sends nothing. The rep saves a task while its read is on the wire (committed in the
    # emulator, its answer held), and the flag says a push job is already waiting, so the web
    # asks the running poll for one more round instead of queueing one. That round is either
    # the poll's own or queued by its end: the change never waits for the next poll.
    from tasksync.models import SyncState

    monkeypatch.setattr(Conf, "SYNC", False)
    assert sync_user(user_id=syncing.pk, trigger="poll").outcome == "success"  # settle
    OrmQ.objects.all().delete()
    SyncState.objects.filter(user=syncing).update(push_queued=True)  # a job done by an earlier run
    hold = sf_emulator.hold_response(method="GET", path="queryAll", safety_seconds=90)
    worker, results = _run_in_a_thread(syncing, "poll")
    try:
        assert sf_emulator.wait_until_held(hold["id"], timeout=30), "the poll never read"
        task = services.task_create(user=syncing, name="Saved mid-poll")
        assert _queued(syncing) == [], "the web asked the running poll for a round"
        sf_emulator.release(hold["id"])
        worker.join(timeout=60)
    finally:
        sf_emulator.release(hold["id"])
        worker.join(timeout=60)
    [run] = results
    assert run.outcome == "success"
    queued = _queued(syncing)
    assert run.pushed == 1 or queued == [("tasksync.jobs.sync_user", (syncing.pk, "push"))]
    for _, (user_id, trigger) in queued:
        sync_user(user_id=user_id, trigger=trigger)
    assert [t["Subject"] for t in sf_emulator.tasks() if t["Subject"] == "Saved mid-poll"] == [
        "Saved mid-poll"
    ]
    task.refresh_from_db()
    assert task.link.sf_id
