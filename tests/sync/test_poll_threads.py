"""A batch's polls run at once in threads of the worker (issue 16, B4 at a real org's latency):
a poll mostly waits on Salesforce, so a worker overlaps those waits. Each user is still polled
exactly once and never by two runs at once (R10), a crash in one run stops none of the others,
a batch that runs late hands back the polls not yet started, and the threads leave no database
connection behind. Production dispatcher batches, engine and emulator over HTTPS, the
emulator holding each poll's read so the runs are really on the wire together.

PostgreSQL only: each thread has its own connection, and the test database of SQLite is
shared-cache memory, where a second writer fails at once (the product's SQLite stays one poll
at a time unless SYNC_POLL_THREADS is set)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_q.conf import Conf
from django_q.models import OrmQ

from tasksync import jobs
from tasksync.models import SyncRun
from tasksync.sync.dispatch import release_poll_threads
from tests.sync.test_poll_batches import _polls, _queued, _reps

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


@pytest.fixture(autouse=True)
def _poll_threads_released():
    """The kept threads' connections would keep the test database from being dropped."""
    yield
    release_poll_threads()


HOLD = 0.4  # seconds the emulator holds each poll's read


def _most_at_once(runs) -> int:
    """The most runs that were in flight at one moment."""
    moments = sorted(
        [(r.started_at, 1) for r in runs] + [(r.finished_at, -1) for r in runs],
        key=lambda m: (m[0], m[1]),
    )
    at_once = most = 0
    for _, step in moments:
        at_once += step
        most = max(most, at_once)
    return most


def _connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


def test_a_batchs_polls_run_at_once_each_user_once(salesforce_settings, sf_emulator, settings):
    settings.SYNC_POLL_THREADS = 3
    users = _reps(sf_emulator, 6)
    before = _polls(users)
    connections_before = _connections()
    sf_emulator.set_latency(HOLD, method="GET", path="queryAll")
    try:
        summary = jobs.sync_users([u.pk for u in users], "poll")
    finally:
        sf_emulator.clear_faults()
    assert summary == "6 of 6 run"
    after = _polls(users)
    assert all(after[u.pk] == before[u.pk] + 1 for u in users), (before, after)
    runs = list(SyncRun.objects.filter(user__in=users, trigger="poll"))
    assert {r.outcome for r in runs} == {"success"}
    # Fails when the batch runs its polls one after another: three were on the wire together.
    assert _most_at_once(runs) == 3
    # The threads keep a connection each for the next batch, and use no more for it.
    kept = _connections()
    assert kept <= connections_before + 3
    assert jobs.sync_users([u.pk for u in users], "poll") == "6 of 6 run"
    assert _connections() == kept


def test_poll_threads_of_another_size_close_the_old_ones_connections(
    salesforce_settings, sf_emulator, settings
):
    users = _reps(sf_emulator, 4)
    settings.SYNC_POLL_THREADS = 4
    jobs.sync_users([u.pk for u in users], "poll")
    settings.SYNC_POLL_THREADS = 2
    base = _connections()
    jobs.sync_users([u.pk for u in users], "poll")
    # The four threads' connections closed; at most two new ones.
    assert _connections() <= base - 4 + 2


def test_a_crash_in_one_threaded_run_stops_none_of_the_others(
    salesforce_settings, sf_emulator, settings
):
    settings.SYNC_POLL_THREADS = 2
    broken, *fine = _reps(sf_emulator, 3)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_salesforceconnection SET access_token = %s WHERE user_id = %s",
            ["gAAAAAnot-a-token", broken.pk],
        )
    before = _polls(fine)
    summary = jobs.sync_users([broken.pk, *(u.pk for u in fine)], "poll")
    assert summary == "3 of 3 run, 1 crashed"
    assert _polls(fine) == {u.pk: before[u.pk] + 1 for u in fine}


def test_a_late_threaded_batch_hands_back_the_polls_not_yet_started(
    salesforce_settings, sf_emulator, monkeypatch, settings
):
    # Two threads, each poll held 0.8 s, past a quarter of a 2-second job timeout: the two polls
    # on the wire finish, the other two go back to the queue as a batch of their own.
    settings.SYNC_POLL_THREADS = 2
    users = _reps(sf_emulator, 4)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 2}
    monkeypatch.setattr(Conf, "SYNC", False)
    OrmQ.objects.all().delete()
    before = _polls(users)
    sf_emulator.set_latency(0.8, method="GET", path="queryAll")
    try:
        summary = jobs.sync_users([u.pk for u in users], "poll")
    finally:
        sf_emulator.clear_faults()
    assert summary == "2 of 4 run"
    assert _polls(users[:2]) == {u.pk: before[u.pk] + 1 for u in users[:2]}
    assert _polls(users[2:]) == {u.pk: before[u.pk] for u in users[2:]}
    assert [(f, list(a)) for f, a in _queued()] == [
        ("tasksync.jobs.sync_users", [[u.pk for u in users[2:]], "poll"])
    ]


def test_a_batch_run_inside_a_transaction_runs_in_it_one_by_one(
    salesforce_settings, sf_emulator, settings
):
    # django-q2's sync mode runs a job inside the dispatcher's transaction: threads of their own
    # connections would wait on its row locks while it waits for them.
    settings.SYNC_POLL_THREADS = 4
    users = _reps(sf_emulator, 3)
    before = _polls(users)
    with transaction.atomic():
        assert jobs.sync_users([u.pk for u in users], "poll") == "3 of 3 run"
    runs = list(SyncRun.objects.filter(user__in=users, trigger="poll"))
    assert _most_at_once(runs) == 1
    assert _polls(users) == {u.pk: before[u.pk] + 1 for u in users}
