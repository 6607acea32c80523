"""Run the whole product on one machine: web server, django-q2 worker and Salesforce emulator.

Each process runs in a process group of its own (a new session), so the terminal's Ctrl-C
reaches only this command, and stopping a process means stopping its whole group: a qcluster's
sentinel and workers are its children, ignore SIGINT and finish their current job before
leaving, so signalling the qcluster process alone (and killing it when it did not exit in time)
left its workers running and polling. On Ctrl-C, SIGTERM, SIGHUP, or when one process ends, every
group gets SIGTERM, and after ``GRACE_SECONDS`` SIGKILL, which also takes any straggler. A job
killed that way is safe: a sync holds a lease that expires, and django-q2 re-delivers (R10).

A process is one line of ``processes()``: add a line there to run another one (a change-feed
subscriber, say).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand

GRACE_SECONDS = 5.0


class _Stop(Exception):
    pass


def _raise_stop(signum, frame):
    raise _Stop(signal.Signals(signum).name)


def processes(*, addr: str, emulator: bool, emulator_port: int) -> dict[str, list[str]]:
    """What ``make run`` starts: name → arguments of manage.py."""
    login_port = urlsplit(settings.SALESFORCE_LOGIN_URL).port or 8444
    commands = {
        "web": ["runserver", addr, "--noreload"],
        "worker": ["qcluster"],
        # R19: the change stream; the emulator's Pub/Sub API listens two ports above its API.
        "stream": [
            "stream_changes",
            *(["--pubsub-url", f"127.0.0.1:{emulator_port + 2}"] * emulator),
        ],
    }
    if emulator:
        commands["emulator"] = [
            "run_salesforce_emulator",
            "--port",
            str(emulator_port),
            "--login-port",
            str(login_port),
            "--data-dir",
            str(settings.EMULATOR_DATA_DIR),
        ]
    return commands


def _signal_group(child: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone already
        os.killpg(child.pid, signum)


def stop_all(children: dict[str, subprocess.Popen], grace: float = GRACE_SECONDS) -> None:
    """SIGTERM every group, wait up to ``grace`` for the leaders, then SIGKILL every group."""
    for child in children.values():
        _signal_group(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))
    for child in children.values():
        _signal_group(child, signal.SIGKILL)  # members that outlived their leader, too
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=5)


class Command(BaseCommand):
    help = "Start the web server, a qcluster worker and (in demo mode) the Salesforce emulator."

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")
        parser.add_argument("--no-emulator", action="store_true")
        parser.add_argument(
            "--emulator-port",
            type=int,
            default=8443,
            help="the emulator's HTTPS API port (its login port comes from SALESFORCE_LOGIN_URL)",
        )

    def handle(self, *args, addr, no_emulator, emulator_port, **options):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        with_emulator = settings.SALESFORCE_EMULATOR and not no_emulator
        commands = processes(addr=addr, emulator=with_emulator, emulator_port=emulator_port)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, _raise_stop)
        children: dict[str, subprocess.Popen] = {}
        try:
            for name, arguments in commands.items():
                children[name] = subprocess.Popen(
                    [*manage, *arguments], env=os.environ.copy(), start_new_session=True
                )
            self.stdout.write(self.style.SUCCESS(f"tasksync is starting: open http://{addr}/"))
            if with_emulator:
                self.stdout.write(
                    f"Salesforce emulator UI: {settings.SALESFORCE_LOGIN_URL.rstrip('/')}/ui/ "
                    "(demo@tasksync.example / demo)"
                )
            self.stdout.write("Press Ctrl-C to stop everything.")
            self._watch(children)
        except _Stop:
            self.stdout.write("Stopping every process…")
        finally:
            # A second Ctrl-C while stopping must not leave the rest running.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            stop_all(children)
        self.stdout.write("Stopped.")

    def _watch(self, children: dict[str, subprocess.Popen]) -> None:
        while True:
            for name, child in children.items():
                if child.poll() is not None:
                    self.stderr.write(
                        f"{name} stopped (exit {child.returncode}); stopping the rest."
                    )
                    return
            time.sleep(0.5)
