"""B4 fleet: one poll round of many users, run by two real qcluster processes on PostgreSQL, and
the dispatcher that queues it: every user polled exactly once, never two runs of one user at
once, an idle poll at most 2 API calls (R5, R10, R13).

Only on PostgreSQL, like tests/failure/test_workers.py: SQLite serialises every writer, so it
cannot show two workers or two dispatchers racing (CI runs the suite on both).
"""

import json
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.utils import timezone

from accounts.models import User
from benchmarks.command import Command as BenchmarkSync
from benchmarks.live import database_url
from tasksync.models import SyncState
from tasksync.sync import jobs_api
from tasksync.sync.dispatch import dispatch_due_polls

FLEET = 20


def on_postgres(test):
    """Real connections racing: a transactional database, and PostgreSQL only."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.django_db(transaction=True),
        pytest.mark.usefixtures("postgres_only"),
    ):
        test = mark(test)
    return test


def _due_users(n: int) -> set[int]:
    users = User.objects.bulk_create([User(username=f"due-{i}", time_zone="UTC") for i in range(n)])
    past = timezone.now() - timedelta(minutes=5)
    SyncState.objects.bulk_create(
        [SyncState(user=u, enabled=True, phase="on", next_poll_at=past) for u in users]
    )
    return {u.pk for u in users}


def _in_thread(fn):
    """Run ``fn`` on its own database connection, as another machine's dispatcher would."""
    out = {}

    def target():
        began = time.monotonic()
        try:
            out["result"] = fn()
        finally:
            out["seconds"] = time.monotonic() - began
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


@pytest.mark.parametrize("url", [None, "sqlite:////tmp/not-postgres.sqlite3"])
def test_b4_refuses_anything_but_postgresql(url):
    args = [BenchmarkSync(), "--only", "B4", "--fleet-users", "2"]
    with pytest.raises(CommandError, match="PostgreSQL"):
        call_command(*args, *(["--database-url", url] if url else []), verbosity=0)


@on_postgres
def test_a_dispatcher_running_during_a_round_queues_nobody_and_does_not_wait(monkeypatch):
    users = _due_users(50)
    queued, second = [], {}

    def enqueue(*, user_ids, trigger):
        if not second:
            # The first job of the first dispatcher: its claim is held, not committed yet. A
            # dispatcher on another connection runs now, start to end.
            second["started"] = True
            thread, out = _in_thread(dispatch_due_polls)
            thread.join(timeout=30)
            second.update(out)
        queued.extend(user_ids)

    # The broker: what the dispatcher queues, a batch of polls a job (dispatch.poll_batches).
    monkeypatch.setattr(jobs_api, "enqueue_syncs", enqueue)
    assert dispatch_due_polls() == 50
    assert second["result"] == 0  # the rows held by the first are skipped…
    assert second["seconds"] < 5  # …not waited for
    assert sorted(queued) == sorted(users)
    assert dispatch_due_polls() == 0  # committed: nobody is due any more


@on_postgres
def test_dispatchers_racing_on_many_machines_queue_every_user_exactly_once(monkeypatch):
    users = _due_users(200)
    queued, lock = [], threading.Lock()

    def enqueue(*, user_ids, trigger):
        time.sleep(0.0005)  # a broker round trip: rounds overlap
        with lock:
            queued.extend(user_ids)

    monkeypatch.setattr(jobs_api, "enqueue_syncs", enqueue)
    for _ in range(5):
        queued.clear()
        SyncState.objects.update(next_poll_at=timezone.now() - timedelta(seconds=5))
        barrier = threading.Barrier(3)

        def dispatcher(barrier=barrier):
            barrier.wait()
            return dispatch_due_polls()

        runs = [_in_thread(dispatcher) for _ in range(3)]
        for thread, _ in runs:
            thread.join(timeout=60)
        assert sum(out["result"] for _, out in runs) == len(users)
        assert sorted(queued) == sorted(users)  # each user once: nobody twice, nobody missed


@on_postgres
def test_a_fleet_poll_round_with_two_workers(tmp_path):
    out = tmp_path / "b4.json"
    started = time.monotonic()
    call_command(
        BenchmarkSync(),
        "--only",
        "B4",
        "--fleet-users",
        str(FLEET),
        "--database-url",
        database_url(),
        "--json",
        str(out),
        verbosity=0,
    )
    b4 = json.loads(out.read_text())["B4"]
    print(json.dumps(b4, indent=1), f"\n{time.monotonic() - started:.1f} s in all")
    assert b4["queued"] == FLEET and b4["all_done"]
    assert b4["users_polled_once"] == FLEET, b4  # every user polled exactly once…
    assert b4["users_polled_twice_or_more"] == 0
    assert b4["lost"] == b4["unfinished"] == 0  # …and no queued poll lost
    assert b4["outcomes"] == {"success": FLEET}, b4["errors"]
    assert b4["overlapping_runs"] == 0  # R10: never two runs of one user at once
    assert b4["idle_api_calls_max"] <= 2, b4["api_calls_by_kind"]  # R13, as B3
    assert b4["api_calls"] == b4["api_calls_engine"]
    assert b4["pulled_by_changed_users"] == b4["changed_users"] * b4["changed_records_per_user"]
    assert len(b4["worker_pids"]) == 2
