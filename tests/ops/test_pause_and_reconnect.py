"""Who may lift a pause (R14): a rep's "Sync now" never lifts a staff pause; reconnecting after a
"reconnect" pause resumes the sync at once, with nothing else to click (R12, R14)."""

import pytest
from django.urls import reverse

from tasksync.models import SyncRun, TaskLink
from tasksync.services import sync as sync_services
from tasksync.services import tasks as task_services
from tasksync.sync.engine import sync_user
from tests.fixtures_salesforce import connect_via_emulator
from tests.fixtures_sync import remote, state_of


def _paused_by_staff(user):
    assert sync_services.sync_pause(user=user)
    state = state_of(user)
    assert (state.phase, state.pause_reason) == ("paused", "staff")


def test_a_reps_sync_now_does_not_lift_a_staff_pause(
    syncing, client, django_capture_on_commit_callbacks
):
    # R14: a rep's "Sync now" never lifts a pause that staff set.
    _paused_by_staff(syncing)
    task = task_services.task_create(user=syncing, name="Waits for staff")
    client.force_login(syncing)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("sync_now"))
    state = state_of(syncing)
    assert (state.phase, state.pause_reason) == ("paused", "staff")
    assert not SyncRun.objects.filter(user=syncing, trigger="manual").exists()
    assert not TaskLink.objects.filter(task=task, sf_id__isnull=False).exists()


def test_a_manual_run_already_queued_does_not_lift_a_staff_pause(syncing, sf_emulator):
    # R14: even a "Sync now" queued before staff paused finds the pause and moves nothing.
    _paused_by_staff(syncing)
    task_services.task_create(user=syncing, name="Waits for staff")
    sf_emulator.reset_api_calls()
    assert sync_user(user_id=syncing.pk, trigger="manual") is None
    assert sf_emulator.api_call_total() == 0
    assert (state_of(syncing).phase, state_of(syncing).pause_reason) == ("paused", "staff")


def test_staff_resync_lifts_a_staff_pause(syncing, sf_emulator):
    # R14: staff actions may run a paused user; resync repairs and resumes.
    _paused_by_staff(syncing)
    task = task_services.task_create(user=syncing, name="Pushed by the resync")
    run = sync_user(user_id=syncing.pk, trigger="resync")
    assert run is not None and run.outcome == "success", run and run.error
    assert remote(sf_emulator, task)["Subject"] == "Pushed by the resync"
    assert state_of(syncing).phase == "on"


@pytest.fixture
def needs_reconnect(syncing, sf_emulator):
    """The rep's grant was revoked: the next run pauses their sync for a reconnect (R12)."""
    sf_emulator.expire_access_tokens()
    sf_emulator.revoke_refresh_tokens()
    sync_user(user_id=syncing.pk, trigger="poll")
    state = state_of(syncing)
    assert (state.phase, state.pause_reason) == ("paused", "reconnect")
    return syncing


def test_reconnecting_resumes_the_sync_at_once(
    needs_reconnect, client, sf_emulator, django_capture_on_commit_callbacks
):
    # R14: Reconnect → Allow resumes sync at once, with nothing else to click; the edit that
    # waited reaches Salesforce.
    task = task_services.task_create(user=needs_reconnect, name="Waited for the reconnect")
    client.force_login(needs_reconnect)
    with django_capture_on_commit_callbacks(execute=True):
        response = connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    assert response.status_code == 302
    state = state_of(needs_reconnect)
    assert (state.phase, state.pause_reason) == ("on", "")
    assert remote(sf_emulator, task)["Subject"] == "Waited for the reconnect"


def test_reconnecting_does_not_lift_a_staff_pause(
    needs_reconnect, client, sf_emulator, django_capture_on_commit_callbacks
):
    # R14: only the reconnect pause is lifted by a reconnect.
    sync_services.sync_resume(user=needs_reconnect)
    state = state_of(needs_reconnect)
    state.phase, state.pause_reason = "paused", "staff"
    state.save(update_fields=["phase", "pause_reason"])
    client.force_login(needs_reconnect)
    with django_capture_on_commit_callbacks(execute=True):
        connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    state = state_of(needs_reconnect)
    assert (state.phase, state.pause_reason) == ("paused", "staff")


def test_reconnecting_during_an_interrupted_first_sync_starts_the_first_sync_again(
    rep, client, sf_emulator, django_capture_on_commit_callbacks
):
    # R4 + R14: the grant died before the first import finished; Allow imports at once.
    from tasksync.services.sync import sync_enable

    sf_emulator.create_task(Subject="Imported after the reconnect")
    sf_emulator.expire_access_tokens()
    sf_emulator.revoke_refresh_tokens()
    sync_enable(user=rep)
    sync_user(user_id=rep.pk, trigger="first_sync")
    state = state_of(rep)
    assert (state.phase, state.pause_reason, state.last_success_at) == (
        "paused",
        "reconnect",
        None,
    )
    client.force_login(rep)
    with django_capture_on_commit_callbacks(execute=True):
        connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    state = state_of(rep)
    assert (state.phase, state.pause_reason) == ("on", "")
    assert state.last_success_at is not None
    assert rep.tasks.filter(name="Imported after the reconnect").exists()
