"""The holes an outside review found (issue 12), each with the window made real: the emulator holds
a response after committing, and a second thread with its own database connection acts in it.
Production engine and client, the emulator over HTTPS; nothing of ours is mocked."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tasksync.models import OutboundChange, ReminderTask, SyncConflict, SyncEvent, TaskLink
from tasksync.services import tasks as services
from tasksync.services.sync import sync_enable
from tasksync.sync.engine import sync_user
from tests.concurrency import Background, lock_waiter_appears
from tests.factories import UserFactory
from tests.fixtures_salesforce import connect_via_emulator
from tests.fixtures_sync import link_of

pytestmark = pytest.mark.django_db(transaction=True)


def _poll(user, trigger="poll"):
    return sync_user(user_id=user.pk, trigger=trigger)


# --- hole 1: a local delete saved while a push is on the wire (R6, R11) ---------------------


def test_a_delete_saved_while_the_create_is_on_the_wire_still_reaches_salesforce(
    syncing, sf_emulator
):
    # R6: "a delete is never absorbed by the settling of an earlier change".
    hold = sf_emulator.hold_response(method="POST", path="composite/sobjects")["id"]
    # The create's push runs in the background (the job queued when the task is saved).
    creating = Background(lambda: services.task_create(user=syncing, name="Call Ana"))
    creating.start()
    assert sf_emulator.wait_until_held(hold, timeout=30)
    [created] = sf_emulator.tasks(include_deleted=False)  # committed in Salesforce
    task = ReminderTask.objects.get(user=syncing)
    services.task_delete(task=task)  # the rep deletes it while the answer is held
    sf_emulator.release(hold)
    creating.value()
    _poll(syncing, "push")
    assert sf_emulator.get_task(created["Id"])["IsDeleted"] is True
    assert sf_emulator.tasks(include_deleted=False) == []
    assert link_of(task).state == "local_deleted"
    assert not OutboundChange.objects.filter(task=task).exists()


def test_a_delete_saved_while_an_edit_is_on_the_wire_still_reaches_salesforce(syncing, sf_emulator):
    # R6, R11: the edit lands, the delete saved meanwhile is sent after it.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    hold = sf_emulator.hold_response(method="PATCH", path="composite/sobjects")["id"]
    editing = Background(
        lambda: services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="new")
    )
    editing.start()
    assert sf_emulator.wait_until_held(hold, timeout=30)
    assert sf_emulator.get_task(sf_id)["Description"] == "new"
    services.task_delete(task=ReminderTask.objects.get(pk=task.pk))
    sf_emulator.release(hold)
    editing.value()
    _poll(syncing, "push")
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True
    assert link_of(task).state == "local_deleted"
    assert not OutboundChange.objects.filter(task=task).exists()


def test_an_edit_saved_while_an_edit_is_on_the_wire_is_sent_after_it(syncing, sf_emulator):
    # R11: the newer edit stays queued and lands; nothing is lost.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    hold = sf_emulator.hold_response(method="PATCH", path="composite/sobjects")["id"]
    editing = Background(
        lambda: services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="one")
    )
    editing.start()
    assert sf_emulator.wait_until_held(hold, timeout=30)
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="two")
    sf_emulator.release(hold)
    editing.value()
    _poll(syncing, "push")
    assert sf_emulator.get_task(sf_id)["Description"] == "two"
    assert not OutboundChange.objects.filter(task=task).exists()


# --- hole 2: several users in one org (R18) ---------------------------------------------------


def _colleague(sf_emulator, username="bea"):
    """A second tasksync user of the same org, connected as their own Salesforce user."""
    sf_user = sf_emulator.create_user(
        sf_emulator.demo.org_id, f"{username}@tasksync.example", "pw-" + username, username.title()
    )
    user = UserFactory(username=username)
    client = Client()
    client.force_login(user)
    response = connect_via_emulator(
        client, sf_emulator, username=f"{username}@tasksync.example", password="pw-" + username
    )
    assert response.status_code == 302
    sync_enable(user=user)
    _poll(user, "first_sync")
    return user, sf_user["id"]


def test_a_task_reassigned_to_a_colleague_moves_to_their_list_and_never_writes_mine(
    syncing, sf_emulator
):
    # R18: one run touches only its user's tasks; the task leaves A's list, joins B's.
    task = services.task_create(user=syncing, name="Call Ana", details="A's notes")
    sf_id = link_of(task).sf_id
    bea, bea_sf_id = _colleague(sf_emulator)
    sf_emulator.update_task(sf_id, OwnerId=bea_sf_id)
    _poll(bea)
    sf_emulator.update_task(sf_id, Description="B's notes")
    _poll(bea)
    task.refresh_from_db()
    assert task.details == "A's notes"  # never written by B's run
    theirs = ReminderTask.objects.live().get(user=bea)
    assert theirs.details == "B's notes"
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is not None  # gone from A's lists, kept as a tombstone
    assert link_of(task).state == "reassigned"
    assert SyncEvent.objects.filter(user=syncing, task=task, action="reassigned").exists()
    # One live local copy of the Salesforce task, B's.
    assert [t.user_id for t in ReminderTask.objects.live()] == [bea.pk]
    # A's later edit of the tombstone is not pushed (and the service refuses nothing here).
    services.task_update(task=task, details="A again")
    _poll(syncing, "push")
    assert sf_emulator.get_task(sf_id)["Description"] == "B's notes"


def test_the_previous_owners_run_is_asked_to_go_when_a_colleague_imports_their_task(
    syncing, sf_emulator
):
    # R18: B's poll imports a task reassigned from A; A's run is asked to go at once (a push
    # job, run inline by the test's django-q2), so the task leaves A's list without waiting for
    # A's next poll. Nothing of A's is written by B's run: A's own run does it.
    from tasksync.models import SyncRun

    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    bea, bea_sf_id = _colleague(sf_emulator)
    sf_emulator.update_task(sf_id, OwnerId=bea_sf_id)
    runs_before = SyncRun.objects.filter(user=syncing).count()
    _poll(bea)
    assert ReminderTask.objects.live().get(user=bea).name == "Call Ana"
    task.refresh_from_db()
    assert task.deleted_at is not None  # A's run went, asked by B's import
    assert link_of(task).state == "reassigned"
    asked = SyncRun.objects.filter(user=syncing).order_by("pk")[runs_before:]
    assert [run.trigger for run in asked] == ["push"]


def test_a_task_reassigned_to_an_outsider_leaves_my_list_and_my_edits_stay_here(
    syncing, sf_emulator
):
    # R18: the new owner does not use tasksync: A's copy goes, A's edits never overwrite theirs.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    outsider = sf_emulator.create_user(sf_emulator.demo.org_id, "out@tasksync.example", "pw")
    sf_emulator.update_task(sf_id, OwnerId=outsider["id"], Description="theirs")
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="mine")
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is not None
    assert link_of(task).state == "reassigned"
    assert sf_emulator.get_task(sf_id)["Description"] == "theirs"
    assert not OutboundChange.objects.filter(task=task).exists()


def test_a_task_reassigned_back_returns_like_a_restore(syncing, sf_emulator):
    # R18: back to the user: their task again, synced, with Salesforce's values.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    outsider = sf_emulator.create_user(sf_emulator.demo.org_id, "out@tasksync.example", "pw")
    sf_emulator.update_task(sf_id, OwnerId=outsider["id"])
    _poll(syncing)
    sf_emulator.update_task(
        sf_id, OwnerId=syncing.salesforce_connection.sf_user_id, Priority="High"
    )
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is None and task.priority == "high"
    assert link_of(task).state == "synced"
    assert ReminderTask.objects.live().filter(user=syncing).count() == 1
    assert _poll(syncing).pulled == 0  # quiet afterwards (R9)


def test_a_deletion_in_the_log_touches_only_the_runs_own_links(syncing, sf_emulator):
    # R18: the delete-log path looks up links by user too: Ana's run, given the id of a task
    # that is now Bea's, never tombstones Bea's copy.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    bea, bea_sf_id = _colleague(sf_emulator)
    sf_emulator.update_task(sf_id, OwnerId=bea_sf_id)
    _poll(bea)
    theirs = ReminderTask.objects.live().get(user=bea)
    sf_emulator.delete_task(sf_id)
    from tasksync.sync import pull

    with _run_context(syncing) as ctx:
        pull.apply_deleted_ids(ctx, [sf_id])
    theirs.refresh_from_db()
    assert theirs.deleted_at is None
    _poll(bea)
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None


class _run_context:
    """A real RunContext of the engine's for one user (the engine's own builder)."""

    def __init__(self, user):
        self.user = user

    def __enter__(self):
        from accounts.salesforce.client import SalesforceClient
        from tasksync.models import SyncRun, SyncState
        from tasksync.sync import engine
        from tasksync.sync.context import RunContext
        from tasksync.sync.lease import lease_acquire
        from tasksync.sync.picklist import statuses_for

        state = SyncState.objects.select_related("user").get(user=self.user)
        connection = engine._connection(state)
        self.owner = lease_acquire(user_id=self.user.pk)
        return RunContext(
            user=state.user,
            state=state,
            run=SyncRun.objects.create(user=state.user, trigger="poll", started_at=timezone.now()),
            client=SalesforceClient(connection),
            connection=connection,
            statuses=statuses_for(state),
            lease_owner=self.owner,
        )

    def __exit__(self, *exc):
        from tasksync.sync.lease import lease_release

        lease_release(user_id=self.user.pk, owner=self.owner)


# --- hole 3: a restore from the recycle bin (R6, R9) -----------------------------------------


def test_a_restored_task_is_synced_again_quiet_and_a_second_delete_applies(syncing, sf_emulator):
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    _poll(syncing)
    sf_emulator.undelete_task(sf_id)
    restored = _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is None and restored.pulled == 1
    assert link_of(task).state == "synced"
    # R9: the polls inside the overlap record nothing more.
    for _ in range(3):
        quiet = _poll(syncing)
        assert quiet.pulled == 0
    assert SyncEvent.objects.filter(task=task, action="undelete").count() == 1
    # R6: a second delete is applied like the first.
    sf_emulator.delete_task(sf_id)
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is not None


def test_a_restore_takes_salesforces_values_and_a_later_edit_does_not_resurrect(
    syncing, sf_emulator
):
    # R6: the rename that lost to the delete stays a recorded conflict; after the restore both
    # sides agree, and a local delete then stays deleted whatever Salesforce edits later.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    sf_emulator.delete_task(sf_id)
    # The rename is pushed at once and meets the deletion (404 ENTITY_IS_DELETED).
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), name="Call Ana today")
    _poll(syncing)
    assert SyncConflict.objects.filter(task=task, field="name", winner="salesforce").exists()
    sf_emulator.undelete_task(sf_id)
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is None
    assert task.name == "Call Ana" == sf_emulator.get_task(sf_id)["Subject"]
    services.task_delete(task=task)
    _poll(syncing, "push")
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True
    _poll(syncing)
    task.refresh_from_db()
    assert task.deleted_at is not None


# --- hole 5: clock skew (R16) -------------------------------------------------------------------


@pytest.fixture(params=[timedelta(minutes=5), timedelta(minutes=-5)], ids=["ahead", "behind"])
def skewed(request, rep, turn_on, sf_emulator):
    """A rep whose app clock runs five minutes ahead of (or behind) Salesforce's, from the start."""
    sf_emulator.set_now(timezone.now() - request.param)  # Salesforce's clock keeps running
    turn_on()
    return rep


def test_a_skewed_app_clock_loses_no_salesforce_edit(skewed, sf_emulator):
    # R16: the pull cursor is on Salesforce's clock.
    task = services.task_create(user=skewed, name="Call Ana")
    sf_id = link_of(task).sf_id
    _poll(skewed)
    sf_emulator.update_task(sf_id, Description="edited in Salesforce")
    _poll(skewed)
    task.refresh_from_db()
    assert task.details == "edited in Salesforce"
    created = sf_emulator.create_task(Subject="Typed in Salesforce")
    _poll(skewed)
    assert ReminderTask.objects.live().filter(user=skewed, name=created["Subject"]).exists()


def test_a_skewed_app_clock_duplicates_no_lost_create(skewed, sf_emulator):
    # R10 + R16: the in-doubt window uses Salesforce's clock.
    sf_emulator.drop_response(method="POST", path="composite/sobjects")
    services.task_create(user=skewed, name="Call Ana")
    _poll(skewed)
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["Call Ana"]
    assert TaskLink.objects.get(user=skewed).sf_id == sf_emulator.tasks()[0]["Id"]


def test_a_conflict_is_decided_on_salesforces_clock(skewed, sf_emulator):
    # R8 + R16: the later change wins, with the local time translated by the measured skew.
    task = services.task_create(user=skewed, name="Call Ana")
    sf_id = link_of(task).sf_id
    # The rep's edit half a minute before the Salesforce edit (on any one clock).
    with time_machine.travel(timezone.now() - timedelta(seconds=30), tick=True):
        services_update_without_push(task, details="local, earlier")
    sf_emulator.update_task(sf_id, Description="Salesforce, later")
    _poll(skewed)
    task.refresh_from_db()
    assert task.details == "Salesforce, later"
    conflict = SyncConflict.objects.get(task=task, field="details")
    assert conflict.winner == "salesforce"


def services_update_without_push(task, **changes):
    """A local edit saved while another worker holds the user (its push waits for that run)."""
    from tasksync.sync.lease import lease_acquire, lease_release

    owner = lease_acquire(user_id=task.user_id)
    try:
        services.task_update(task=ReminderTask.objects.get(pk=task.pk), **changes)
    finally:
        lease_release(user_id=task.user_id, owner=owner)


# --- hole 6: switching Salesforce account while a push is in flight (R17, R12) ---------------


def test_switching_account_while_a_push_is_on_the_wire_writes_nothing_under_the_new_one(
    syncing, sf_emulator
):
    hold = sf_emulator.hold_response(method="POST", path="composite/sobjects")["id"]
    creating = Background(lambda: services.task_create(user=syncing, name="Call Ana"))
    creating.start()
    assert sf_emulator.wait_until_held(hold, timeout=30)
    task = ReminderTask.objects.get(user=syncing)
    from tasksync.services.sync import sync_identity_changed

    sync_identity_changed(user=syncing)  # what connecting another Salesforce user does
    sf_emulator.release(hold)
    creating.value()
    link = TaskLink.objects.get(task=task)
    assert link.state == "retired"  # never brought back by the run that was in flight
    task.refresh_from_db()
    assert task.deleted_at is None


def test_an_unknown_id_is_a_rejection_not_a_deletion(syncing, sf_emulator):
    # R12: INVALID_CROSS_REFERENCE_KEY marks the record failed; the local task stays.
    task = services.task_create(user=syncing, name="Call Ana")
    sf_emulator.reject_records(
        field=None,
        error_code="INVALID_CROSS_REFERENCE_KEY",
        message="invalid cross reference id",
        operations=["update"],
    )
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="edit")
    _poll(syncing, "push")
    task.refresh_from_db()
    assert task.deleted_at is None
    row = OutboundChange.objects.get(task=task)
    assert row.state == "failed" and row.last_error_code == "INVALID_CROSS_REFERENCE_KEY"


# --- hole 9: with a key field, in-doubt creates match by key only (R10) -----------------------


def test_with_a_key_field_a_task_typed_in_salesforce_is_never_taken_for_a_lost_create(
    syncing, sf_emulator, settings
):
    settings.SALESFORCE_TASK_EXTERNAL_ID_FIELD = "TasksyncId__c"  # the emulator's Activity field
    # The create never reaches Salesforce (a 503 before it commits); the rep types the same
    # task in Salesforce before the next poll.
    sf_emulator.inject_fault(method="POST", path="composite/sobjects", status=503, times=1)
    task = services.task_create(user=syncing, name="Call Ana")
    typed = sf_emulator.create_task(Subject="Call Ana", Status="Not Started", Priority="Normal")
    with time_machine.travel(timezone.now() + timedelta(minutes=2), tick=True):  # the back-off
        _poll(syncing)
    mine = ReminderTask.objects.filter(user=syncing, deleted_at__isnull=True)
    assert mine.count() == 2  # the typed one imported, ours sent on its own
    assert link_of(task).sf_id != typed["Id"]
    assert len(sf_emulator.tasks(include_deleted=False)) == 2


# --- hole 4: a local edit committed while a pull applies the same task (R8) -------------------


@pytest.mark.usefixtures("postgres_only")
def test_a_local_edit_committed_while_a_pull_applies_is_never_overwritten_unseen(
    syncing, sf_emulator
):
    task = services.task_create(user=syncing, name="Call Ana")
    sf_id = link_of(task).sf_id
    sf_emulator.update_task(sf_id, Description="from Salesforce")
    editing, pulling = threading.Event(), threading.Event()

    def web_edit():
        with transaction.atomic():
            services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="local edit")
            editing.set()
            assert pulling.wait(30), "the pull never reached the task"

    web = Background(web_edit)
    web.start()
    assert editing.wait(30)
    poll = Background(lambda: _poll(syncing))
    poll.start()
    # The pull has its page and waits on the task's row lock: the window is open.
    assert lock_waiter_appears(timeout=30), "no connection waited on a row lock"
    pulling.set()
    web.value()
    poll.value()
    _poll(syncing, "push")
    task.refresh_from_db()
    conflict = SyncConflict.objects.filter(task=task, field="details").first()
    # R8: the later change (the local edit) wins, and the conflict is on record.
    assert conflict is not None and conflict.winner == "local"
    assert task.details == "local edit"
    assert sf_emulator.get_task(sf_id)["Description"] == "local edit"
