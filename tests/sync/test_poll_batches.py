"""A busy round's polls go several to a django-q2 job (R5, issue 16's B4): django-q2's own work
for a job costs a worker more than an idle poll. Every due user is still polled exactly once,
a crash in one user's run never stops the others, and a batch that runs late hands the rest
back to the queue. Production dispatcher, jobs and engine against the emulator over HTTPS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ

from accounts.services import connection_store
from tasksync import jobs
from tasksync.models import SyncRun, SyncState
from tasksync.services.sync import sync_enable
from tasksync.sync.dispatch import MIN_JOBS_PER_ROUND, dispatch_due_polls, poll_batches
from tasksync.sync.engine import sync_user
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _reps(sf_emulator, n):
    """``n`` users of the demo org, each connected as their own Salesforce user (back-door
    tokens through ``connection_store``), sync on and first sync done."""
    users = []
    for i in range(n):
        sf_user = sf_emulator.create_user(
            sf_emulator.demo.org_id, f"batch{i}@tasksync.example", "pw", f"Rep {i}"
        )
        user = UserFactory()
        connection_store(
            user=user,
            token_response=sf_emulator.tokens(user_id=sf_user["id"]),
            identity={
                "organization_id": sf_emulator.demo.org_id,
                "user_id": sf_user["id"],
                "username": sf_user["username"],
                "display_name": f"Rep {i}",
                "email": f"batch{i}@tasksync.example",
            },
            login_url=sf_emulator.login_url,
        )
        sync_enable(user=user)
        assert sync_user(user_id=user.pk, trigger="first_sync").outcome == "success"
        users.append(user)
    return users


def _queued():
    return [(q.task["func"], q.task["args"]) for q in OrmQ.objects.order_by("pk")]


def _polls(users):
    return {u.pk: SyncRun.objects.filter(user=u, trigger="poll").count() for u in users}


def test_poll_batches_are_up_to_the_setting_and_never_fewer_jobs_than_the_minimum(settings):
    settings.SYNC_POLL_BATCH = 10
    assert [len(b) for b in poll_batches(list(range(200)))] == [10] * 20
    assert [len(b) for b in poll_batches(list(range(15)))] == [1] * 15
    assert [len(b) for b in poll_batches(list(range(5 * MIN_JOBS_PER_ROUND)))] == [5] * 8
    assert sum(poll_batches(list(range(203))), []) == list(range(203))  # order kept
    settings.SYNC_POLL_BATCH = 1
    assert [len(b) for b in poll_batches(list(range(50)))] == [1] * 50


def test_a_busy_round_is_queued_in_batches_and_polls_every_user_once(
    salesforce_settings, sf_emulator, monkeypatch, settings
):
    settings.SYNC_POLL_BATCH = 10
    users = _reps(sf_emulator, 2 * MIN_JOBS_PER_ROUND)
    before = _polls(users)
    monkeypatch.setattr(Conf, "SYNC", False)  # queued jobs wait in the broker: the test sees them
    OrmQ.objects.all().delete()
    SyncState.objects.filter(user__in=users).update(next_poll_at=timezone.now() - timedelta(1))
    assert dispatch_due_polls() == len(users)
    queued = _queued()
    assert [func for func, _ in queued] == ["tasksync.jobs.sync_users"] * MIN_JOBS_PER_ROUND
    batched = [user_id for _, (user_ids, _) in queued for user_id in user_ids]
    assert sorted(batched) == sorted(u.pk for u in users)
    for _, args in queued:
        jobs.sync_users(*args)
    after = _polls(users)
    assert all(after[u.pk] == before[u.pk] + 1 for u in users), (before, after)


def test_a_crash_in_one_users_run_does_not_stop_the_rest_of_the_batch(
    salesforce_settings, sf_emulator
):
    # A token no key decrypts (a key removed before rotate_token_keys) crashes that user's run,
    # as a database failure would; the next user in the batch is polled all the same.
    broken, fine = _reps(sf_emulator, 2)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_salesforceconnection SET access_token = %s WHERE user_id = %s",
            ["gAAAAAnot-a-token", broken.pk],
        )
    before = _polls([fine])[fine.pk]
    summary = jobs.sync_users([broken.pk, fine.pk], "poll")
    assert summary == "2 of 2 run, 1 crashed"
    assert _polls([fine])[fine.pk] == before + 1


@pytest.mark.parametrize("rest", [1, 2])
def test_a_batch_that_runs_late_hands_the_rest_back_to_the_queue(
    salesforce_settings, sf_emulator, monkeypatch, settings, rest
):
    # A slow first poll (Salesforce answers in 0.8 s) past a quarter of django-q2's job timeout:
    # the users not yet run go back to the queue, as a job of their own, before the job times out.
    slow, *others = _reps(sf_emulator, 1 + rest)
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 2}
    monkeypatch.setattr(Conf, "SYNC", False)
    OrmQ.objects.all().delete()
    before = _polls(others)
    sf_emulator.set_latency(0.8, method="GET", path="queryAll")
    summary = jobs.sync_users([slow.pk, *(u.pk for u in others)], "poll")
    sf_emulator.clear_faults()
    assert summary == f"1 of {1 + rest} run"
    assert _polls(others) == before
    ids = [u.pk for u in others]
    expected = (
        [("tasksync.jobs.sync_user", [ids[0], "poll"])]
        if rest == 1
        else [("tasksync.jobs.sync_users", [ids, "poll"])]
    )
    assert [(func, list(args)) for func, args in _queued()] == expected
