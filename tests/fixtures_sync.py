"""Sync fixtures for the whole suite (registered as a plugin by tests/conftest.py): every test
runs the production engine and client against the Salesforce emulator over real HTTPS.

- ``rep``: a sales rep connected to the emulator's demo org, sync not yet on.
- ``run(trigger="poll", user=None, *, allow_partial=False)``: one real sync run; it must end
  "success" (a run where a record failed fails the test) unless the test says that records are
  meant to fail with ``allow_partial=True``.
- ``turn_on(user=None)``: tick the checkbox and let the first sync run (R3, R4).
- ``syncing``: a rep with sync on and the first sync done, API counters at zero.
- ``worker_thread``: queued syncs run in a background thread, as a qcluster worker would, so a
  page returns at once (browser tests of the import's progress).

Plain helpers (``link_of``, ``remote``, ``state_of``, ``sf_time``, ``ago``) live here too.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import close_old_connections

from tasksync.models import RunOutcome, SyncState, TaskLink
from tasksync.services.sync import sync_enable
from tasksync.sync import jobs_api
from tasksync.sync.engine import sync_user


def sf_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def link_of(task):
    return TaskLink.objects.get(task=task)


def remote(sf_emulator, task):
    return sf_emulator.get_task(link_of(task).sf_id)


def state_of(user):
    return SyncState.objects.get(user=user)


def ago(**kwargs):
    return datetime.now(UTC) - timedelta(**kwargs)


@pytest.fixture
def rep(sf_connection):
    """A sales rep connected to the emulator's demo org, sync not yet on."""
    return sf_connection.user


@pytest.fixture
def run(rep):
    def _run(trigger="poll", user=None, *, allow_partial=False):
        result = sync_user(user_id=(user or rep).pk, trigger=trigger)
        assert result is not None, "the sync run was skipped"
        allowed = (
            {RunOutcome.SUCCESS, RunOutcome.PARTIAL} if allow_partial else {RunOutcome.SUCCESS}
        )
        assert result.outcome in allowed, (result.outcome, result.error)
        return result

    return _run


@pytest.fixture
def turn_on(rep, run):
    """Tick the checkbox and let the first sync run (R3, R4)."""

    def _turn_on(user=None, *, allow_partial=False):
        user = user or rep
        sync_enable(user=user)
        return run("first_sync", user=user, allow_partial=allow_partial)

    return _turn_on


@pytest.fixture
def syncing(rep, turn_on, sf_emulator):
    """A rep with sync on and the first sync done, API counters at zero."""
    turn_on()
    sf_emulator.reset_api_calls()
    return rep


@pytest.fixture
def worker_thread(monkeypatch):
    """Queued syncs run in a background thread, as a qcluster worker would: every caller queues
    through tasksync.sync.jobs_api, so its one name is replaced."""
    threads = []

    def enqueue(*, user_id, trigger):
        def work():
            try:
                sync_user(user_id=user_id, trigger=trigger)
            finally:
                close_old_connections()

        thread = threading.Thread(target=work, daemon=True)
        threads.append(thread)
        thread.start()

    monkeypatch.setattr(jobs_api, "enqueue_sync", enqueue)
    yield
    for thread in threads:
        thread.join(timeout=60)
