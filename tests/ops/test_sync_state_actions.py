"""R14: the staff actions on a user's sync call one service each, report how many they affected
and are written to the admin log; only staff with the permission can run them."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tasksync.models import OutboundChange, SyncRun, SyncState
from tasksync.services import tasks as task_services
from tests.fixtures_sync import remote, state_of

CHANGELIST = reverse("admin:tasksync_syncstate_changelist")


def _act(client, action, *users):
    states = SyncState.objects.filter(user__in=users)
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [s.pk for s in states]},
        follow=True,
    )


def _logged(state):
    return [e.get_change_message() for e in LogEntry.objects.filter(object_id=str(state.pk))]


@pytest.mark.parametrize(
    ("action", "trigger", "message"),
    [
        ("sync_now", "manual", "Queued 1 user for a sync."),
        ("resync", "resync", "Queued 1 user for resync."),
    ],
)
def test_it_queues_a_run_for_the_selected_users(
    action, trigger, message, syncing, admin_client, django_capture_on_commit_callbacks
):
    # R14: "sync now" and "resync" queue a run through django-q2 (inline in tests).
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(admin_client, action, syncing)
    assert message in response.content.decode()
    run = SyncRun.objects.filter(user=syncing).latest("started_at")
    assert (run.trigger, run.outcome) == (trigger, "success")
    assert _logged(state_of(syncing)) == [f"{'Sync now' if action == 'sync_now' else 'Resync'}."]


def test_it_resyncs_a_task_that_diverged_without_duplicates(
    syncing, run, sf_emulator, admin_client, django_capture_on_commit_callbacks
):
    # R14: resync repairs divergence and never creates duplicates.
    task = task_services.task_create(user=syncing, name="Call Ana")
    run()
    record = remote(sf_emulator, task)
    sf_emulator.update_task(record["Id"], Description="Edited in Salesforce")
    with django_capture_on_commit_callbacks(execute=True):
        _act(admin_client, "resync", syncing)
    task.refresh_from_db()
    assert task.details == "Edited in Salesforce"
    assert syncing.tasks.count() == 1


def test_it_counts_only_the_users_it_affected(syncing, admin_client, user):
    # A user whose sync is off is not queued, and says so in the count.
    SyncState.objects.create(user=user, enabled=False)
    response = _act(admin_client, "sync_now", syncing, user)
    assert "Queued 1 user for a sync." in response.content.decode()
    assert _logged(state_of(user)) == []


def test_it_pauses_and_resumes_a_users_sync(syncing, run, admin_client):
    # R14: paused by staff, nothing moves; resume lets the next poll run.
    response = _act(admin_client, "pause", syncing)
    assert "Paused 1 user." in response.content.decode()
    state = state_of(syncing)
    assert (state.phase, state.pause_reason) == ("paused", "staff")
    task_services.task_create(user=syncing, name="Waits for resume")
    from tasksync.sync.engine import sync_user

    assert sync_user(user_id=syncing.pk, trigger="poll") is None
    response = _act(admin_client, "resume", syncing)
    assert "Resumed 1 user." in response.content.decode()
    state = state_of(syncing)
    assert (state.phase, state.pause_reason, state.next_poll_at) == ("on", "", None)
    assert run().pushed == 1
    assert _logged(state) == ["Resumed.", "Paused."]


def test_it_retries_failed_items_after_a_fix(
    syncing, run, sf_emulator, admin_client, django_capture_on_commit_callbacks
):
    # R11: a record Salesforce rejected is retried from the admin once the rule is fixed.
    sf_emulator.reject_records(field="Subject", contains="forbidden", message="No forbidden")
    task = task_services.task_create(user=syncing, name="A forbidden task")
    run("push", allow_partial=True)
    assert OutboundChange.objects.get(task=task).state == "failed"
    sf_emulator.clear_faults()  # the Salesforce admin fixed the validation rule
    with django_capture_on_commit_callbacks(execute=True):
        response = _act(admin_client, "retry_failed", syncing)
    assert "Queued 1 failed item for retry." in response.content.decode()
    assert not OutboundChange.objects.filter(task=task).exists()
    assert remote(sf_emulator, task)["Subject"] == "A forbidden task"
    assert _logged(state_of(syncing)) == ["Retried 1 failed items."]


@pytest.mark.parametrize("action", ["sync_now", "resync", "pause", "resume", "retry_failed"])
def test_it_refuses_the_action_to_staff_without_the_permission(action, syncing, staff_with, client):
    # Staff who may only view see no actions, and a forged POST changes nothing.
    viewer = staff_with("tasksync.view_syncstate")
    assert f'value="{action}"' not in viewer.get(CHANGELIST).content.decode()
    _act(viewer, action, syncing)
    # Staff without any permission on sync states get 403.
    assert _act(staff_with(username="nobody"), action, syncing).status_code == 403
    # Non-staff are sent to the admin login.
    client.force_login(syncing)
    response = client.post(CHANGELIST, {"action": action, "_selected_action": [1]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    state = state_of(syncing)
    assert (state.phase, state.pause_reason) == ("on", "")
    assert not LogEntry.objects.exists()
    assert SyncRun.objects.filter(user=syncing).count() == 1  # only the first sync


def test_it_lets_staff_with_the_change_permission_run_the_actions(syncing, staff_with):
    operator = staff_with("tasksync.view_syncstate", "tasksync.change_syncstate")
    assert 'value="pause"' in operator.get(CHANGELIST).content.decode()
    assert "Paused 1 user." in _act(operator, "pause", syncing).content.decode()
    assert state_of(syncing).pause_reason == "staff"
