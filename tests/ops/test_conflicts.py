"""R8: staff apply the value that lost a conflict; it syncs like any edit."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from tasksync.models import OutboundChange, SyncConflict
from tasksync.services import tasks as task_services
from tasksync.services.conflicts import ConflictNotApplicable, conflict_apply_other
from tests.fixtures_sync import link_of, remote
from tests.ops.conftest import make_conflict

CHANGELIST = "admin:tasksync_syncconflict_changelist"


def test_it_reapplies_the_local_value_when_salesforce_won(syncing, run, sf_emulator, admin_user):
    # R8: the loser was the local edit; applying it puts it back here and in Salesforce.
    conflict = make_conflict(syncing, run, sf_emulator, winner="salesforce")
    assert conflict.task.details == "Salesforce value"
    conflict_apply_other(conflict=conflict, by_user=admin_user)
    task = conflict.task
    task.refresh_from_db()
    assert task.details == "Local value"
    assert OutboundChange.objects.get(task=task).fields == ["details"]
    run()
    assert remote(sf_emulator, task)["Description"] == "Local value"
    conflict.refresh_from_db()
    assert conflict.resolved_at is not None
    assert "applied this app's value 'Local value'" in conflict.resolution


def test_it_takes_the_salesforce_value_when_this_app_won(syncing, run, sf_emulator, admin_user):
    # R8: the loser was Salesforce's edit; applying it is a local edit that syncs back.
    conflict = make_conflict(syncing, run, sf_emulator, winner="local")
    task = conflict.task
    assert remote(sf_emulator, task)["Description"] == "Local value"
    conflict_apply_other(conflict=conflict, by_user=admin_user)
    task.refresh_from_db()
    assert task.details == "Salesforce value"
    run()
    assert remote(sf_emulator, task)["Description"] == "Salesforce value"
    # R9: once applied, the next cycle writes nothing and records no new conflict.
    sf_emulator.reset_api_calls()
    quiet = run()
    assert (quiet.pulled, quiet.pushed, quiet.conflicts) == (0, 0, 0)
    assert SyncConflict.objects.filter(task=task).count() == 1
    conflict.refresh_from_db()
    assert "applied Salesforce's value 'Salesforce value'" in conflict.resolution


def test_it_refuses_to_apply_a_conflict_twice(syncing, run, sf_emulator, admin_user):
    conflict = make_conflict(syncing, run, sf_emulator, winner="salesforce")
    conflict_apply_other(conflict=conflict, by_user=admin_user)
    task_services.task_update(task=conflict.task, details="Edited since")
    with pytest.raises(ConflictNotApplicable):
        conflict_apply_other(conflict=conflict, by_user=admin_user)
    conflict.task.refresh_from_db()
    assert conflict.task.details == "Edited since"


def test_it_never_undoes_a_delete(syncing, run, sf_emulator, admin_user):
    # R6: delete against edit: the delete stands, even from the admin.
    task = task_services.task_create(user=syncing, name="Call Ana")
    run()
    sf_id = link_of(task).sf_id
    task_services.task_delete(task=task)
    sf_emulator.update_task(sf_id, Description="edited after the delete")
    run()
    conflict = SyncConflict.objects.get(task=task, field="deleted")
    with pytest.raises(ConflictNotApplicable):
        conflict_apply_other(conflict=conflict, by_user=admin_user)
    assert sf_emulator.get_task(sf_id)["IsDeleted"] is True


def test_it_applies_the_other_value_from_the_admin_and_logs_it(
    syncing, run, sf_emulator, admin_client
):
    # R8, R14: the action reports its count and is recorded in the admin log.
    conflict = make_conflict(syncing, run, sf_emulator, winner="salesforce")
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "apply_other_value", "_selected_action": [conflict.pk]},
        follow=True,
    )
    assert "Applied the other value of 1 conflict." in response.content.decode()
    conflict.refresh_from_db()
    assert conflict.resolved_at is not None
    entry = LogEntry.objects.get(object_id=str(conflict.pk))
    assert entry.get_change_message() == "Applied the other value."
    run()
    assert remote(sf_emulator, conflict.task)["Description"] == "Local value"


def test_it_reports_a_conflict_it_cannot_apply(syncing, run, sf_emulator, admin_client):
    task = task_services.task_create(user=syncing, name="Call Ana")
    run()
    task_services.task_delete(task=task)
    sf_emulator.update_task(link_of(task).sf_id, Description="late edit")
    run()
    conflict = SyncConflict.objects.get(task=task)
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "apply_other_value", "_selected_action": [conflict.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "Applied the other value of 0 conflicts." in html
    assert "cannot be applied" in html
    assert not LogEntry.objects.exists()


def test_it_lets_only_staff_with_the_change_permission_apply(
    syncing, run, sf_emulator, staff_with, client
):
    conflict = make_conflict(syncing, run, sf_emulator, winner="salesforce")
    data = {"action": "apply_other_value", "_selected_action": [conflict.pk]}
    viewer = staff_with("tasksync.view_syncconflict")
    assert "apply_other_value" not in viewer.get(reverse(CHANGELIST)).content.decode()
    viewer.post(reverse(CHANGELIST), data)
    assert staff_with(username="nobody").post(reverse(CHANGELIST), data).status_code == 403
    client.force_login(syncing)  # not staff
    response = client.post(reverse(CHANGELIST), data)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    conflict.refresh_from_db()
    assert conflict.resolved_at is None
    assert not LogEntry.objects.exists()
    resolver = staff_with(
        "tasksync.view_syncconflict", "tasksync.change_syncconflict", username="resolver"
    )
    resolver.post(reverse(CHANGELIST), data)
    conflict.refresh_from_db()
    assert conflict.resolved_at is not None
