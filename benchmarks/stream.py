"""``python -m benchmarks.stream [--edits N] [--kills K] [--database-url URL]``: R19's latency.

Salesforce edit → local task with the change stream, measured the way a deployment runs it: the
emulator (HTTPS + Pub/Sub API over TLS) in this process, and real ``manage.py qcluster`` and
``manage.py stream_changes`` processes on a throwaway database. Polling is switched off
(SYNC_POLL_SECONDS one hour, no scheduler), so every change that arrives came through the stream.

Then the subscriber is killed (SIGKILL) mid-stream K times; edits made while it is down must all
arrive once it restarts from its stored replay id: nothing lost, nothing twice.
Prints the figures (and writes them as JSON with --json). Figures: docs/PERFORMANCE.md, R19.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time


def _env(handle, target: str) -> dict:
    from django.conf import settings

    from benchmarks.live import database_url

    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get(
            "DJANGO_SETTINGS_MODULE", "tasksync.settings_test"
        ),
        "TASKSYNC_IGNORE_DOTENV": "true",
        "TASKSYNC_Q_SYNC": "false",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "TOKEN_ENCRYPTION_KEYS": ",".join(settings.TOKEN_ENCRYPTION_KEYS),
        "DATABASE_URL": database_url(),
        "REDIS_URL": "",
        "Q_WORKERS": "2",
        "Q_POLL": "0.1",
        "Q_SCHEDULER": "false",
        "SYNC_POLL_SECONDS": "3600",
        "SALESFORCE_EMULATOR": "false",
        "SALESFORCE_LOGIN_URL": handle.login_url,
        "SALESFORCE_CLIENT_ID": handle.demo.client_id,
        "SALESFORCE_CLIENT_SECRET": handle.demo.client_secret,
        "SALESFORCE_CA_BUNDLE": handle.ca_bundle,
        "SALESFORCE_PUBSUB_URL": target,
        "SECURE_SSL_REDIRECT": "false",
    }


def _start(command: str, env: dict) -> subprocess.Popen:
    from benchmarks.live import ROOT

    return subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", command],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(condition, timeout: float, step: float = 0.01) -> bool:
    from django.db import close_old_connections

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
        return {"samples": 0}

    def at(q):
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000)

    return {"samples": len(ordered), "p50_ms": at(0.5), "p95_ms": at(0.95), "max_ms": at(1.0)}


@contextlib.contextmanager
def _emulator():
    from salesforce_emulator.server import EmulatorServer
    from salesforce_emulator.testing import EmulatorHandle

    with tempfile.TemporaryDirectory(prefix="sf-emulator-") as folder:
        server = EmulatorServer(folder, port=0, login_port=0, reset=True).start()
        try:
            handle = EmulatorHandle.in_process(server)
            handle.reset()
            yield server, handle
        finally:
            server.stop()


def measure(*, edits: int, kills: int, database_url: str | None) -> dict:
    from django.test import override_settings

    from benchmarks import harness
    from tasksync.models import ReminderTask, StreamHealth, StreamState, TaskLink
    from tasksync.services import tasks as services

    out: dict = {"edits": edits, "kills": kills}
    with (
        _emulator() as (server, handle),
        harness.emulator_settings(handle),
        override_settings(SALESFORCE_PUBSUB_URL=server.pubsub.target),
        harness.throwaway_database(database_url),
    ):
        connection = harness.connect_user(handle)
        user = connection.user
        harness.turn_on(user)  # the first sync runs inline here (test settings)
        task = services.task_create(user=user, name="Stream probe")
        _wait(lambda: TaskLink.objects.filter(task=task).exclude(sf_id=None).exists(), 30)
        sf_id = TaskLink.objects.get(task=task).sf_id
        org_id = connection.org.org_id
        env = _env(handle, server.pubsub.target)
        worker, stream = _start("qcluster", env), _start("stream_changes", env)
        try:

            def healthy():
                return StreamState.objects.filter(
                    org_id=org_id, health=StreamHealth.HEALTHY
                ).exists()

            started = time.perf_counter()
            if not _wait(healthy, 60, 0.1):
                raise RuntimeError("the subscriber never became healthy")
            out["subscriber_ready_s"] = round(time.perf_counter() - started, 2)
            # Warm up the worker: a first edit lands through the whole chain.
            handle.update_task(sf_id, Description="warm-up")
            _wait(lambda: ReminderTask.objects.filter(pk=task.pk, details="warm-up").exists(), 60)
            latencies = []
            for i in range(edits):
                value = f"salesforce edit {i}"
                handle.update_task(sf_id, Description=value)
                started = time.perf_counter()
                if _wait(
                    lambda v=value: ReminderTask.objects.filter(pk=task.pk, details=v).exists(), 30
                ):
                    latencies.append(time.perf_counter() - started)
                else:
                    out.setdefault("lost", []).append(value)
            out["salesforce_to_local"] = _quantiles(latencies)
            out["kill_restart"] = _kill_and_restart(handle, user, stream, env, kills, org_id)
        finally:
            _stop(stream)
            _stop(worker)
    return out


def _kill_and_restart(handle, user, stream, env, kills: int, org_id: str) -> dict:
    from tasksync.models import ReminderTask, StreamState

    names, recovery = [], []
    received = StreamState.objects.get(org_id=org_id).events_received
    for k in range(kills):
        stream.send_signal(signal.SIGKILL)
        stream.wait()
        # Edits while no subscriber runs: they wait in the event bus (72 h retention).
        batch = [f"made while down {k}-{i}" for i in range(5)]
        for name in batch:
            handle.create_task(Subject=name, user_id=user.salesforce_connection.sf_user_id)
        names += batch
        # The dead holder's lease lapses (SYNC_STREAM_LEASE_SECONDS); speed that up here.
        StreamState.objects.filter(org_id=org_id).update(lease_until=None)
        started = time.perf_counter()
        stream = _start("stream_changes", env)

        def arrived(batch=batch):
            return ReminderTask.objects.live().filter(user=user, name__in=batch).count() == len(
                batch
            )

        if _wait(arrived, 60, 0.05):
            recovery.append(time.perf_counter() - started)
    counts = {n: ReminderTask.objects.live().filter(user=user, name=n).count() for n in names}

    def all_handed_on():
        return StreamState.objects.get(org_id=org_id).events_received - received >= len(names)

    # The first event's pull may bring the whole batch: let the subscriber finish handing on.
    _wait(all_handed_on, 30, 0.05)
    _stop(stream)
    state = StreamState.objects.get(org_id=org_id)
    return {
        "edits_while_down": len(names),
        # Each restart resumed from the stored replay id: exactly the events made while down.
        "events_handed_on_after_restarts": state.events_received - received,
        "lost": sum(1 for c in counts.values() if c == 0),
        "duplicated": sum(1 for c in counts.values() if c > 1),
        "restart_to_caught_up": _quantiles(recovery),
    }


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasksync.settings_test")
    import django

    django.setup()
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream", description=__doc__)
    parser.add_argument("--edits", type=int, default=40)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--database-url", help="a throwaway database (default: a temp SQLite file)")
    parser.add_argument("--json", dest="json_path")
    args = parser.parse_args(argv)
    figures = measure(edits=args.edits, kills=args.kills, database_url=args.database_url)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json_path:
        with open(args.json_path, "w") as fh:
            fh.write(text + "\n")


if __name__ == "__main__":
    main()
