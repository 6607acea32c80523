"""One run per user across many workers (R10), on the ORM broker (PostgreSQL) and on Redis.

Real ``qcluster`` processes, the production engine, the emulator over HTTPS. Only on PostgreSQL:
SQLite serialises every writer, so it cannot show two workers racing (CI runs the suite on both).
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_q.conf import Conf
from django_q.tasks import async_task

from benchmarks.live import database_url
from tasksync.models import OutboundChange, SyncRun
from tasksync.services import tasks as services

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def _start_workers(sf_emulator, count=2, redis_url=""):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tasksync.settings_test",
        "TASKSYNC_Q_SYNC": "false",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "Q_WORKERS": "2",
        "Q_SCHEDULER": "false",
        "SALESFORCE_LOGIN_URL": sf_emulator.login_url,
        "SALESFORCE_CLIENT_ID": sf_emulator.demo.client_id,
        "SALESFORCE_CLIENT_SECRET": sf_emulator.demo.client_secret,
        "SALESFORCE_CA_BUNDLE": sf_emulator.ca_bundle,
    }
    return [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]


def _stop(workers):
    for worker in workers:
        worker.terminate()
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def _wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return False


def _race(user, sf_emulator, monkeypatch, *, redis_url=""):
    """Queue many syncs of one user, let two clusters (four worker processes) fight over them."""
    monkeypatch.setattr(Conf, "SYNC", False)
    if redis_url:
        monkeypatch.setattr(Conf, "ORM", None)
        monkeypatch.setattr(Conf, "REDIS", redis_url)
        import redis

        redis.from_url(redis_url).flushdb()
    for i in range(30):
        services.task_create(user=user, name=f"Task {i}")
    sf_emulator.create_tasks([{"Subject": f"From Salesforce {i}"} for i in range(10)])
    # Each collection call takes a while, so runs that were not kept apart would overlap.
    sf_emulator.set_latency(0.3, method="*", path="composite|query")
    for trigger in ["push", "poll"] * 6:
        async_task("tasksync.jobs.sync_user", user.pk, trigger, sync=False)
    workers = _start_workers(sf_emulator, redis_url=redis_url)
    try:
        assert _wait_until(
            lambda: (
                SyncRun.objects.filter(user=user).count() >= 2
                and not SyncRun.objects.filter(user=user, outcome="running").exists()
                and not OutboundChange.objects.filter(user=user).exists()
                and _queue_empty(redis_url)
            )
        ), "the workers did not finish"
    finally:
        _stop(workers)
    runs = list(SyncRun.objects.filter(user=user).order_by("started_at"))
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later.started_at >= earlier.finished_at, "two runs of one user overlapped"
    subjects = [t["Subject"] for t in sf_emulator.tasks(include_deleted=False)]
    assert len(subjects) == len(set(subjects)) == 40  # nothing duplicated
    assert user.tasks.filter(deleted_at__isnull=True).count() == 40
    return runs


def _queue_empty(redis_url):
    if redis_url:
        import redis

        return redis.from_url(redis_url).llen(f"django_q:{Conf.CLUSTER_NAME}:q") == 0
    from django_q.models import OrmQ

    return not OrmQ.objects.exists()


def test_two_worker_processes_never_sync_one_user_at_once_on_the_orm_broker(
    syncing, sf_emulator, monkeypatch
):
    runs = _race(syncing, sf_emulator, monkeypatch)
    assert {r.outcome for r in runs} == {"success"}  # no record failed on the way


def test_the_redis_broker_runs_the_full_sync_across_workers(syncing, sf_emulator, monkeypatch):
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
    runs = _race(syncing, sf_emulator, monkeypatch, redis_url=redis_url)
    assert {r.outcome for r in runs} == {"success"}  # no record failed on the way
    assert settings.Q_CLUSTER["name"] == "tasksync"
