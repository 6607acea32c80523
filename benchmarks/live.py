"""Benchmarks with real workers: B6 (propagation time).

Unlike the other benchmarks, these start real ``manage.py qcluster`` processes against the
throwaway database and the in-process emulator, and let django-q2 run the jobs: what a deployment
does. They need a database both processes can open: the temporary SQLite file, or PostgreSQL
through ``--database-url``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from django_q.conf import Conf

from benchmarks import harness

# Captured when this module is first imported (scenarios imports it at load time), before the
# command's jobs_suppressed() replaces the function with a no-op for the other benchmarks.
from tasksync.sync.jobs_api import enqueue_sync as _real_enqueue
from tasksync.sync.jobs_api import enqueue_syncs as _real_enqueue_batch

ROOT = Path(__file__).resolve().parents[1]


def database_url() -> str:
    """The ``default`` database as a DATABASE_URL, for worker processes to open it too."""
    db = connections["default"].settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    auth = f"{user}:{db['PASSWORD']}@" if db.get("PASSWORD") else f"{user}@"
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@contextlib.contextmanager
def workers(
    handle, *, clusters: int, per_cluster: int, poll_seconds: int, scheduler: bool, env=None
):
    """Real qcluster processes on the throwaway database, pointed at the emulator; ``env`` adds
    to (or overrides) their environment (B4: ``REDIS_URL`` for the Redis broker)."""
    extra = env or {}
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "tasksync.settings"),
        "TASKSYNC_IGNORE_DOTENV": "true",
        "TASKSYNC_Q_SYNC": "false",
        "DEBUG": "true" if settings.DEBUG else "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
        "DATABASE_URL": database_url(),
        "REDIS_URL": "",
        "Q_WORKERS": str(per_cluster),
        "Q_SCHEDULER": "true" if scheduler else "false",
        "SYNC_POLL_SECONDS": str(poll_seconds),
        "SALESFORCE_EMULATOR": "false",
        "SALESFORCE_LOGIN_URL": handle.login_url,
        "SALESFORCE_CLIENT_ID": handle.demo.client_id,
        "SALESFORCE_CLIENT_SECRET": handle.demo.client_secret,
        "SALESFORCE_CA_BUNDLE": handle.ca_bundle,
        "SECURE_SSL_REDIRECT": "false",
        **extra,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(clusters)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def jobs_to_broker():
    """Queue jobs into django-q2's broker (the database), not inline, and with the real enqueue
    (the other benchmarks suppress it)."""
    if isinstance(_real_enqueue, mock.Mock):
        raise RuntimeError("live.py was imported after jobs were suppressed")
    with (
        mock.patch.object(Conf, "SYNC", False),
        mock.patch("tasksync.sync.jobs_api.enqueue_sync", _real_enqueue),
        mock.patch("tasksync.sync.jobs_api.enqueue_syncs", _real_enqueue_batch),
    ):
        yield


def _wait(condition, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        if condition():
            return True
        time.sleep(step)
    return False


def _quantiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"median_ms": None, "p95_ms": None, "samples": 0}
    median = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": round(median * 1000), "p95_ms": round(p95 * 1000), "samples": len(ordered)}


def b6_propagation(handle, *, edits: int, poll_seconds: int = 5) -> dict:
    """Local edit committed → visible in Salesforce with a running worker; Salesforce edit →
    visible locally at a ``poll_seconds`` poll."""
    from tasksync.models import ReminderTask, SyncRun, TaskLink
    from tasksync.services import tasks as services

    connection = harness.connect_user(handle)
    user = connection.user
    harness.turn_on(user)
    harness.cycle(user, "first_sync")
    task = services.task_create(user=user, name="Propagation probe")
    harness.cycle(user, "push")
    sf_id = TaskLink.objects.get(task=task).sf_id
    out = {"edits": edits, "poll_seconds": poll_seconds}
    with (
        # Three worker processes: with a poll under a minute the dispatcher keeps one busy.
        workers(handle, clusters=1, per_cluster=3, poll_seconds=poll_seconds, scheduler=True),
        jobs_to_broker(),
    ):
        # Warm up: the cluster has booted once a first pushed edit has landed.
        services.task_update(task=task, details="warm-up")
        _wait(lambda: handle.get_task(sf_id)["Description"] == "warm-up", timeout=120, step=0.2)
        local_to_sf = []
        for i in range(edits):
            value = f"local edit {i}"
            started = time.perf_counter()
            services.task_update(task=task, details=value)
            if _wait(lambda v=value: handle.get_task(sf_id)["Description"] == v, timeout=60):
                local_to_sf.append(time.perf_counter() - started)
            else:
                out.setdefault("local_edits_lost", []).append(value)
        out["local_to_salesforce"] = _quantiles(local_to_sf)
        # The dispatcher's schedule fires once a minute; wait for its first poll of this user.
        since = timezone.now()
        _wait(
            lambda: (
                SyncRun.objects.filter(user=user, trigger="poll", started_at__gte=since)
                .exclude(finished_at=None)
                .exists()
            ),
            timeout=150,
            step=0.5,
        )
        sf_to_local = []
        for i in range(edits):
            value = f"salesforce edit {i}"
            handle.update_task(sf_id, Description=value)
            started = time.perf_counter()
            if _wait(
                lambda v=value: ReminderTask.objects.filter(pk=task.pk, details=v).exists(),
                timeout=60,
                step=0.05,
            ):
                sf_to_local.append(time.perf_counter() - started)
            else:
                out.setdefault("salesforce_edits_lost", []).append(value)
        out["salesforce_to_local"] = _quantiles(sf_to_local)
    return out
