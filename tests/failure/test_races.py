"""Issue 12's races with two real processes on PostgreSQL: a ``qcluster`` worker runs the sync,
the test process acts as the web app in the window the emulator holds open (R6, R8, R11).

The emulator runs in the test process, so the test decides when a held answer goes out; the
worker is an unmodified ``manage.py qcluster`` on the same database."""

import threading
import time

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django_q.conf import Conf
from django_q.tasks import async_task

from tasksync.models import OutboundChange, ReminderTask, SyncConflict, SyncRun, TaskLink
from tasksync.services import tasks as services
from tests.concurrency import lock_waiter_appears
from tests.failure.test_workers import _start_workers, _stop, _wait_until

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_a_web_delete_during_a_workers_create_call_reaches_salesforce(
    syncing, sf_emulator, monkeypatch
):
    # R6: the worker's create is committed in Salesforce, its answer held; the rep deletes the
    # task on the web meanwhile. The delete is not absorbed by the settling of the create.
    monkeypatch.setattr(Conf, "SYNC", False)  # jobs go to the queue, for the worker process
    hold = sf_emulator.hold_response(method="POST", path="composite/sobjects", safety_seconds=90)
    task = services.task_create(user=syncing, name="Call Ana")
    workers = _start_workers(sf_emulator, count=1)
    try:
        assert sf_emulator.wait_until_held(hold["id"], timeout=90), "the worker never pushed"
        [created] = sf_emulator.tasks(include_deleted=False)
        web = Client()
        web.force_login(syncing)
        response = web.post(reverse("task_delete", args=[task.pk]))
        assert response.status_code == 302
        sf_emulator.release(hold["id"])
        assert _wait_until(
            lambda: (
                sf_emulator.get_task(created["Id"])["IsDeleted"]
                and not OutboundChange.objects.filter(task=task).exists()
                and not SyncRun.objects.filter(user=syncing, outcome="running").exists()
            ),
            timeout=90,
        ), "the delete never reached Salesforce"
    finally:
        sf_emulator.release(hold["id"])
        _stop(workers)
    assert TaskLink.objects.get(task=task).state == "local_deleted"


def test_a_web_edit_committed_while_a_workers_pull_applies_is_not_overwritten(
    syncing, sf_emulator, monkeypatch
):
    # R8: the web's edit holds the task's row while the worker's pull applies its page; the
    # pull waits for it, sees it, and records the conflict; the later change (the web's) wins.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = TaskLink.objects.get(task=task).sf_id
    monkeypatch.setattr(Conf, "SYNC", False)
    sf_emulator.update_task(sf_id, Description="from Salesforce")
    # R16: Salesforce's times have whole seconds and its clock is measured to half a second, so
    # "later" means more than a second later: a web edit within the same second may lose.
    time.sleep(1.2)
    editing, may_commit = threading.Event(), threading.Event()

    def web_edit():
        try:
            with transaction.atomic():
                services.task_update(
                    task=ReminderTask.objects.get(pk=task.pk), details="edited on the web"
                )
                editing.set()
                may_commit.wait(90)
        finally:
            connection.close()

    web = threading.Thread(target=web_edit, daemon=True)
    web.start()
    assert editing.wait(30)
    async_task("tasksync.jobs.sync_user", syncing.pk, "poll", sync=False)
    workers = _start_workers(sf_emulator, count=1)
    try:
        assert lock_waiter_appears(timeout=90), "the worker's pull never met the row lock"
        may_commit.set()
        web.join(30)
        assert _wait_until(
            lambda: (
                SyncRun.objects.filter(user=syncing, trigger="poll")
                .exclude(outcome="running")
                .exists()
                and not OutboundChange.objects.filter(task=task).exists()
            ),
            timeout=90,
        )
    finally:
        may_commit.set()
        _stop(workers)
    task.refresh_from_db()
    conflict = SyncConflict.objects.get(task=task, field="details")
    assert conflict.winner == "local"
    assert task.details == "edited on the web"
    assert sf_emulator.get_task(sf_id)["Description"] == "edited on the web"
