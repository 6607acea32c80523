"""Crash test (R10, R11): a worker process running a sync is killed with SIGKILL at random points,
20 times in a row; the next runs converge with no duplicates and nothing lost.

The worker is a real subprocess (``manage.py sync_user``) on a SQLite file both processes open
(the test suite's in-memory database cannot be shared), talking to the test's emulator over
HTTPS. Latency on the write calls makes the kills land mid-push; every other round kills the
worker while the emulator holds the answer of a write Salesforce already committed (R10's case:
a create whose answer the dead worker never read).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from benchmarks import harness
from tasksync.models import (
    LinkState,
    OutboundChange,
    ReminderTask,
    SyncRun,
    SyncState,
    TaskLink,
)
from tasksync.services import tasks as services
from tests.proof.helpers import convergence_problems, fresh_connected_user, sf_tasks_of

ROOT = Path(__file__).resolve().parents[2]
KILLS = 20


def _worker_env(db_url: str, sf_emulator) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tasksync.settings_test",
        DATABASE_URL=db_url,
        SALESFORCE_LOGIN_URL=sf_emulator.login_url,
        SALESFORCE_CLIENT_ID=sf_emulator.demo.client_id,
        SALESFORCE_CLIENT_SECRET=sf_emulator.demo.client_secret,
        SALESFORCE_CA_BUNDLE=sf_emulator.ca_bundle,
        TOKEN_ENCRYPTION_KEYS=",".join(settings.TOKEN_ENCRYPTION_KEYS),
        SYNC_LEASE_SECONDS="60",
        LOG_LEVEL="WARNING",
    )
    return env


def _lease_expired(user) -> None:
    """The dead worker's lease runs out (without waiting SYNC_LEASE_SECONDS)."""
    SyncState.objects.filter(user=user).update(lease_until=timezone.now() - timedelta(seconds=1))


def _wait_for_run(user, *, after: int, worker, within: float = 30.0) -> bool:
    """Until the worker has started its sync run (Django's start-up is not the interesting part)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and worker.poll() is None:
        if SyncRun.objects.filter(user=user, pk__gt=after).exists():
            return True
        time.sleep(0.05)
    return False


def _backoffs_over(user) -> None:
    OutboundChange.objects.filter(user=user).update(not_before=None)


def _in_flight_limit_passed(user, sf_emulator) -> None:
    """Salesforce's limit for a running call has passed: a create a dead worker sent has landed by
    now or never will (R10), so one still unconfirmed may be sent again. Wait until the emulator
    has run every call it received (the dead workers' too) to its end, then move the clock of
    the links, as above."""
    assert sf_emulator.wait_until_idle(timeout=30), "a dead worker's call is still running"
    TaskLink.objects.filter(user=user, state=LinkState.CREATING).update(
        resend_after=timezone.now() - timedelta(seconds=1)
    )


def _local_changes(user, rng: random.Random, round_no: int, deleted: set[int]) -> None:
    with harness.jobs_suppressed(), transaction.atomic():
        for i in range(rng.randint(20, 230)):
            services.task_create(user=user, name=f"Round {round_no} task {i}")
        live = list(ReminderTask.objects.filter(user=user, deleted_at__isnull=True))
        for task in rng.sample(live, min(len(live), rng.randint(0, 40))):
            services.task_update(task=task, details=f"edited in round {round_no}")
        live = list(ReminderTask.objects.filter(user=user, deleted_at__isnull=True))
        for task in rng.sample(live, min(len(live), rng.randint(0, 15))):
            services.task_delete(task=task)
            deleted.add(task.pk)


@pytest.mark.slow
def test_it_converges_after_a_worker_is_killed_20_times_mid_sync(
    sf_emulator, salesforce_settings, django_db_blocker, tmp_path
):
    # R10: no duplicates even when a worker dies between the create and recording the link.
    # R11: nothing lost: every local change lands.
    db_url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    rng = random.Random(20261128)  # fixed: the same kill points on every run
    with django_db_blocker.unblock(), harness.throwaway_database(db_url):
        connection = fresh_connected_user(sf_emulator)
        user = connection.user
        with harness.jobs_suppressed():
            harness.turn_on(user)
            harness.cycle(user, "first_sync")
        env = _worker_env(db_url, sf_emulator)
        deleted: set[int] = set()
        landed_mid_run = 0
        for round_no in range(KILLS):
            _local_changes(user, rng, round_no, deleted)
            # A push's collection calls and its Composite calls alike (issue 16): a push is
            # now one or two calls, each slow enough for the kill to land inside it.
            sf_emulator.set_latency(rng.uniform(0.6, 2.4), path="composite")
            if round_no % 2:
                hold = sf_emulator.hold_response(method="POST", path="composite")
            last_run = SyncRun.objects.filter(user=user).order_by("-pk").first()
            worker = subprocess.Popen(  # noqa: S603 - our own manage.py
                [sys.executable, "manage.py", "sync_user", user.username],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started = _wait_for_run(user, after=last_run.pk if last_run else 0, worker=worker)
            if round_no % 2:
                # Salesforce committed the creates; the worker dies before reading the answer.
                sf_emulator.wait_until_held(hold["id"], timeout=30)
            else:
                time.sleep(rng.uniform(0.0, 2.0))  # a random point of the run
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            landed_mid_run += started and worker.returncode == -signal.SIGKILL
            sf_emulator.clear_faults()
            _lease_expired(user)
        _backoffs_over(user)
        _in_flight_limit_passed(user, sf_emulator)

        # The next runs (a healthy worker) converge.
        with harness.jobs_suppressed():
            for _ in range(6):
                _backoffs_over(user)
                run = harness.cycle(user)
                if run.outcome == "success" and (run.pulled, run.pushed, run.deleted) == (0, 0, 0):
                    break
        problems = convergence_problems(user, sf_emulator, connection.sf_user_id)
        for task in ReminderTask.objects.filter(pk__in=deleted, deleted_at__isnull=True):
            problems.append(f"R6: task {task.pk} was deleted and came back")
        live_local = ReminderTask.objects.filter(user=user, deleted_at__isnull=True).count()
        live_remote = [
            t for t in sf_tasks_of(sf_emulator, connection.sf_user_id) if not t["IsDeleted"]
        ]
        subjects = [t["Subject"] for t in live_remote]
        duplicates = {s for s in subjects if subjects.count(s) > 1}
        if duplicates:
            problems.append(f"R10: duplicated in Salesforce: {sorted(duplicates)[:10]}")
        if live_local != len(live_remote):
            problems.append(f"{live_local} live local tasks, {len(live_remote)} in Salesforce")
        print(f"kills that landed mid-run: {landed_mid_run} of {KILLS}")
        assert landed_mid_run >= KILLS // 2, "the kills did not land during sync runs"
        assert not problems, "\n".join(problems)
