"""Fixtures for the operations side: staff clients and a user whose sync has a history."""

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from tasksync.models import SyncConflict
from tasksync.services import tasks as task_services
from tests.factories import UserFactory
from tests.fixtures_sync import link_of


@pytest.fixture
def admin_client(db):
    """A superuser's client (all model permissions)."""
    client = Client()
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def staff_with(db):
    """A staff user's client with exactly the given permissions ("app.codename")."""

    def _staff_with(*perms, username="operator"):
        user = UserFactory(username=username, is_staff=True)
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        client = Client()
        client.force_login(user)
        return client

    return _staff_with


def make_conflict(user, run_sync, sf_emulator, *, winner, name="Call Ana"):
    """R8: the same field (details) edited on both sides; ``winner`` says which edit is later."""
    task = task_services.task_create(user=user, name=name)
    run_sync()
    task.refresh_from_db()
    sf_id = link_of(task).sf_id
    if winner == "salesforce":
        with time_machine.travel(timezone.now() - timezone.timedelta(minutes=10), tick=False):
            task_services.task_update(task=task, details="Local value")
        sf_emulator.update_task(sf_id, Description="Salesforce value")
    else:
        sf_emulator.update_task(sf_id, Description="Salesforce value")
        with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10), tick=False):
            task_services.task_update(task=task, details="Local value")
    run_sync()
    task.refresh_from_db()
    return SyncConflict.objects.get(task=task)


@pytest.fixture
def history(syncing, run, sf_emulator):
    """A synced user with one of everything the admin shows: a synced task, a task Salesforce
    rejected (failed outbox row), a conflict, runs and events, and django-q2 rows."""
    make_conflict(syncing, run, sf_emulator, winner="salesforce")
    sf_emulator.reject_records(field="Subject", contains="forbidden", message="No forbidden")
    task_services.task_create(user=syncing, name="A forbidden task")
    run("push", allow_partial=True)  # the forbidden task is rejected: a partial run
    _other_rows()
    return syncing


def _other_rows():
    from django.contrib.auth.models import Group
    from django_q.models import Task
    from django_q.tasks import async_task

    Group.objects.create(name="Sync operators")

    now = timezone.now()
    for success in (True, False):
        Task.objects.create(
            id=f"task-{success}",
            name=f"sync-poll-{success}",
            func="tasksync.jobs.sync_user",
            args=(1, "poll"),
            started=now,
            stopped=now,
            success=success,
            result="pulled=0" if success else "Traceback: boom",
        )
    async_task("tasksync.jobs.dispatch_polls", sync=False)  # a queued row (OrmQ)
