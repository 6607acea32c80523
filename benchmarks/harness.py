"""What a benchmark (or a proof test) needs around the sync engine, with no browser and no worker:
an in-process Salesforce emulator on free ports, a throwaway database, Django settings pointed
at the emulator, and users connected to their own emulated Salesforce users.

Nothing here changes how the engine works: sync cycles are driven by calling
``tasksync.sync.engine.sync_user`` directly, exactly as a django-q2 worker would.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import environ
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

_counter = itertools.count(1)


EMULATOR_MODES = ("process", "thread")


@contextlib.contextmanager
def emulator(data_dir: str | Path | None = None, *, mode: str = "thread"):
    """Start the Salesforce emulator on free ports (HTTPS API host, HTTP login host); yield its
    ``EmulatorHandle``.

    ``mode="thread"``: in background threads of this process, as
    ``salesforce_emulator.pytest_plugin`` does. ``mode="process"``: in a process of its own
    (``python -m salesforce_emulator``), driven over its HTTP control API. Salesforce is another
    machine: its work never takes our process's interpreter lock, and a benchmark of how well
    the engine overlaps its local work with the calls needs the emulator out of the way too.
    The handle's ``pid`` is the emulator's process (this one in thread mode)."""
    from salesforce_emulator.server import EmulatorServer
    from salesforce_emulator.testing import EmulatorHandle

    if mode not in EMULATOR_MODES:
        raise ValueError(f"mode is one of {EMULATOR_MODES}, not {mode!r}")
    with contextlib.ExitStack() as stack:
        if data_dir is None:
            data_dir = stack.enter_context(tempfile.TemporaryDirectory(prefix="sf-emulator-"))
        if mode == "process":
            handle = stack.enter_context(_emulator_process(Path(data_dir)))
        else:
            server = EmulatorServer(data_dir, port=0, login_port=0, reset=True)
            server.start()
            stack.callback(server.stop)
            handle = EmulatorHandle.in_process(server)
            handle.pid = os.getpid()
        handle.reset()
        yield handle


@contextlib.contextmanager
def _emulator_process(data_dir: Path):
    """``python -m salesforce_emulator`` on free ports; its banner says where it listens."""
    from salesforce_emulator.testing import EmulatorHandle

    command = [sys.executable, "-m", "salesforce_emulator", "--port", "0", "--login-port", "0"]
    command += ["--data-dir", str(data_dir), "--reset"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        banner = _read_banner(proc)
        handle = EmulatorHandle.remote(banner["Login host (HTTP)"], banner["Certificate to trust"])
        handle.pid = proc.pid
        yield handle
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        proc.stdout.close()


def _read_banner(proc) -> dict[str, str]:
    """The emulator's banner lines ``  Name:   value`` up to its data directory (the last one
    it prints before it serves)."""
    banner: dict[str, str] = {}
    while "Data directory" not in banner:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the emulator process exited ({proc.wait()}) before it listened")
        name, sep, value = line.strip().partition(":")
        if sep and value.strip():
            banner[name.strip()] = value.strip()
    return banner


def emulator_settings(handle):
    """Django settings that point the app at the emulator (as ``salesforce_settings`` does)."""
    return override_settings(
        SALESFORCE_LOGIN_URL=handle.login_url,
        SALESFORCE_CLIENT_ID=handle.demo.client_id,
        SALESFORCE_CLIENT_SECRET=handle.demo.client_secret,
        SALESFORCE_CA_BUNDLE=handle.ca_bundle,
        # Pages are measured with Django's test client on a throwaway host.
        ALLOWED_HOSTS=["*"],
        SECURE_SSL_REDIRECT=False,
    )


@contextlib.contextmanager
def throwaway_database(url: str | None = None):
    """Swap the ``default`` database for a throwaway one while the block runs, and migrate it.

    ``url`` is a DATABASE_URL (it must name a database you are happy to fill and leave behind);
    without it a temporary SQLite file is created, and deleted afterwards. The user's own
    database is never opened.
    """
    alias = "default"
    with contextlib.ExitStack() as stack:
        if url is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="tasksync-bench-"))
            url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        config = environ.Env.db_url_config(url)
        if config["ENGINE"] == "django.db.backends.sqlite3":
            config.setdefault("OPTIONS", {}).update(
                {
                    "timeout": 30,
                    "transaction_mode": "IMMEDIATE",
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                }
            )
        new_settings = connections.configure_settings({alias: config})[alias]
        old_settings = connections.settings[alias]
        old_connection = connections[alias]
        connections.settings[alias] = new_settings
        del connections[alias]
        try:
            call_command("migrate", verbosity=0, interactive=False)
            yield new_settings
        finally:
            connections[alias].close()
            connections.settings[alias] = old_settings
            connections[alias] = old_connection


@contextlib.contextmanager
def jobs_suppressed():
    """The caller drives every sync cycle itself: jobs that services would queue (django-q2,
    which runs them inline under the test settings) are not sent, so one measurement is one
    cycle."""
    noop = mock.Mock(return_value=None)
    with (
        mock.patch("tasksync.sync.jobs_api.enqueue_sync", noop),
        mock.patch("tasksync.sync.jobs_api.enqueue_syncs", noop),
    ):
        yield noop


def connect_user(
    handle,
    *,
    username: str | None = None,
    sf_user_id: str | None = None,
    org_id: str | None = None,
):
    """A local user connected to a Salesforce user of the emulator's demo org, or of ``org_id``
    (a new user unless ``sf_user_id`` is given), through ``connection_store`` with back-door
    tokens."""
    org_id = org_id or handle.demo.org_id
    from accounts.models import User
    from accounts.services import connection_store

    n = next(_counter)
    username = username or f"bench-{n}-{time.monotonic_ns()}"
    if sf_user_id is None:
        sf_user = handle.call(
            "create_user",
            org_id=org_id,
            username=f"{username}@bench.example",
            password="password",
        )
        sf_user_id, sf_username = sf_user["id"], sf_user["username"]
    else:
        sf_username = handle.demo.username
    user = User.objects.create_user(username=username, password=None, time_zone="UTC")
    tokens = handle.tokens(user_id=sf_user_id, scope="api id refresh_token")
    identity = {
        "organization_id": org_id,
        "user_id": sf_user_id,
        "username": sf_username,
        "display_name": username,
        "email": f"{username}@bench.example",
    }
    connection = connection_store(
        user=user, token_response=tokens, identity=identity, login_url=handle.login_url
    )
    return connection


def turn_on(user):
    """Tick "Sync my tasks with Salesforce" (R3). The first cycle is left to the caller."""
    from tasksync.services.sync import sync_enable

    return sync_enable(user=user)


def cycle(user, trigger: str = "poll"):
    """One sync cycle of ``user`` (what a worker runs); raises if it was skipped."""
    from tasksync.sync.engine import sync_user

    run = sync_user(user_id=user.pk, trigger=trigger)
    if run is None:
        raise RuntimeError("the sync run was skipped")
    return run


def sf_task_rows(n: int, *, prefix: str = "Task") -> list[dict]:
    """``n`` plausible Salesforce Task bodies for the emulator back door."""
    statuses = ("Not Started", "Completed", "In Progress")
    priorities = ("Normal", "High", "Low")
    return [
        {
            "Subject": f"{prefix} {i}",
            "Status": statuses[i % 3],
            "Priority": priorities[i % 3],
            "ActivityDate": f"2030-{1 + i % 12:02d}-{1 + i % 28:02d}" if i % 4 else None,
            "Description": f"Details of {prefix.lower()} {i}" if i % 2 else None,
        }
        for i in range(n)
    ]


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def database_server_cpu() -> float | None:
    """CPU seconds the database server's process for this connection has used so far:
    PostgreSQL on this machine (its backend's /proc entry), else None (SQLite works in this
    process, whose CPU ``time.process_time`` already counts). On a shared machine it moves far
    less than wall time: what a change saves in PostgreSQL's own work (a foreign key checked a
    row, an index written) shows here when the wall times cannot tell it from the noise."""
    connection = connections["default"]
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # a server on another machine, or a /proc this user cannot read
        return None
    # utime and stime, fields 14 and 15 of proc(5); the text after ")" starts at field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settings_summary() -> dict:
    db = connections["default"].settings_dict
    return {
        "database": db["ENGINE"].rsplit(".", 1)[-1],
        "api_version": settings.SALESFORCE_API_VERSION,
    }


def analyze() -> bool:
    """PostgreSQL: refresh the planner's statistics before pages are timed, as autovacuum does
    within a minute of a bulk import; right after B1's 10,000 rows the planner still believes
    the user has one task and joins all of them before sorting (the task list's p95 58 ms
    instead of 38). SQLite keeps no statistics unless asked, and Django never asks."""
    if connections["default"].vendor != "postgresql":
        return False
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")
    return True
