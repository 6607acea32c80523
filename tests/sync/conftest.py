"""Helpers for sync tests: every test runs the production engine and client against the
Salesforce emulator over real HTTPS."""

from datetime import UTC, datetime, timedelta

import pytest

from tasksync.models import SyncState, TaskLink
from tasksync.sync.engine import sync_user
from tasksync.sync.services import sync_enable


def sf_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@pytest.fixture
def rep(sf_connection):
    """A sales rep connected to the emulator's demo org, sync not yet on."""
    return sf_connection.user


@pytest.fixture
def run(rep):
    def _run(trigger="poll", user=None):
        result = sync_user(user_id=(user or rep).pk, trigger=trigger)
        assert result is not None, "the sync run was skipped"
        assert result.outcome in ("success", "partial"), result.error
        return result

    return _run


@pytest.fixture
def turn_on(rep, run):
    """Tick the checkbox and let the first sync run (R3, R4)."""

    def _turn_on(user=None):
        user = user or rep
        sync_enable(user=user)
        return run("first_sync", user=user)

    return _turn_on


@pytest.fixture
def syncing(rep, turn_on, sf_emulator):
    """A rep with sync on and the first sync done, API counters at zero."""
    turn_on()
    sf_emulator.reset_api_calls()
    return rep


def link_of(task):
    return TaskLink.objects.get(task=task)


def remote(sf_emulator, task):
    return sf_emulator.get_task(link_of(task).sf_id)


def state_of(user):
    return SyncState.objects.get(user=user)


def ago(**kwargs):
    return datetime.now(UTC) - timedelta(**kwargs)
