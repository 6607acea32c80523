"""R7 turning sync off and on again, R14 resync, R17 disconnect and another identity, R3 the
checkbox."""

from datetime import timedelta

from django.urls import reverse

from tasksync.models import ReminderTask, SyncState, TaskLink
from tasksync.services import tasks as services
from tasksync.services.sync import sync_disable, sync_enable, sync_resync
from tasksync.sync.engine import sync_user
from tests.fixtures_sync import ago, link_of, remote, sf_time, state_of


def _synced_task(user, run, name="Call Ana"):
    task = services.task_create(user=user, name=name)
    run()
    task.refresh_from_db()
    return task


def test_while_sync_is_off_nothing_moves(syncing, run, sf_emulator):
    # R7
    task = _synced_task(syncing, run)
    sync_disable(user=syncing)
    services.task_update(task=task, details="while off")
    sf_emulator.create_task(Subject="Created in Salesforce while off")
    sf_emulator.reset_api_calls()
    assert sync_user(user_id=syncing.pk, trigger="poll") is None
    assert sf_emulator.api_call_total() == 0
    assert ReminderTask.objects.filter(user=syncing).count() == 1
    assert TaskLink.objects.filter(user=syncing).count() == 1  # links are kept


def test_turning_sync_on_again_catches_up_both_ways(syncing, run, sf_emulator):
    # R7: Salesforce edits and deletions since the last sync come in; local edits go out; local
    # tasks created while off stay local.
    edited_here = _synced_task(syncing, run, "Edited here")
    edited_there = _synced_task(syncing, run, "Edited there")
    deleted_there = _synced_task(syncing, run, "Deleted there")
    sync_disable(user=syncing)
    services.task_update(task=edited_here, details="local edit while off")
    sf_emulator.update_task(link_of(edited_there).sf_id, Description="Salesforce edit while off")
    sf_emulator.delete_task(link_of(deleted_there).sf_id)
    stays_local = services.task_create(user=syncing, name="Created while off")

    sync_enable(user=syncing)
    run(state_of(syncing).phase == "first_sync" and "first_sync" or "manual")

    assert remote(sf_emulator, edited_here)["Description"] == "local edit while off"
    edited_there.refresh_from_db()
    assert edited_there.details == "Salesforce edit while off"
    assert not ReminderTask.objects.live().filter(pk=deleted_there.pk).exists()
    assert not TaskLink.objects.filter(task=stays_local).exists()
    assert "Created while off" not in [t["Subject"] for t in sf_emulator.tasks()]


def test_deletions_of_the_last_15_days_apply_after_a_long_break(syncing, run, sf_emulator):
    # R7: after more than 15 days off, the pull behaves as a first sync (24-hour window) and
    # Salesforce deletions of linked tasks made in the last 15 days still apply.
    task = _synced_task(syncing, run, "Deleted 10 days ago")
    kept = _synced_task(syncing, run, "Untouched")
    sync_disable(user=syncing)
    SyncState.objects.filter(user=syncing).update(
        last_success_at=ago(days=20), watermark=ago(days=20), deleted_watermark=ago(days=20)
    )
    sf_emulator.delete_task(link_of(task).sf_id, when=sf_time(ago(days=10)))
    sf_emulator.create_task(
        Subject="Old Salesforce task",
        CreatedDate=sf_time(ago(days=3)),
        LastModifiedDate=sf_time(ago(days=3)),
        SystemModstamp=sf_time(ago(days=3)),
    )

    sync_enable(user=syncing)
    assert state_of(syncing).phase == "first_sync"
    run("first_sync")

    assert not ReminderTask.objects.live().filter(pk=task.pk).exists()
    assert ReminderTask.objects.live().filter(pk=kept.pk).exists()
    assert not ReminderTask.objects.filter(name="Old Salesforce task").exists()


def test_resync_repairs_divergence_without_duplicates(syncing, run, sf_emulator):
    # R14
    task = _synced_task(syncing, run)
    # Divergence nobody recorded: Salesforce changed behind the sync's back, as if a change
    # had been lost.
    link = link_of(task)
    TaskLink.objects.filter(pk=link.pk).update(
        synced_remote={**link.synced_remote, "Priority": "High"}
    )
    sf_emulator.update_task(link.sf_id, Priority="High")
    TaskLink.objects.filter(pk=link.pk).update(
        synced_remote={**link.synced_remote, "Priority": "High"}
    )
    before = len(sf_emulator.tasks())
    assert sync_resync(user=syncing) is True
    result = run("resync")
    assert remote(sf_emulator, task)["Priority"] == "Normal"
    assert len(sf_emulator.tasks()) == before
    assert ReminderTask.objects.filter(user=syncing).count() == 1
    assert result.trigger == "resync"


def test_disconnecting_turns_sync_off_and_keeps_links(syncing, run, sf_emulator):
    # R17
    from accounts.services import connection_disconnect

    task = _synced_task(syncing, run)
    connection_disconnect(connection=syncing.salesforce_connection)
    state = state_of(syncing)
    assert (state.enabled, state.phase) == (False, "off")
    assert link_of(task).state == "synced"


def test_connecting_another_salesforce_user_starts_fresh(syncing, run, sf_emulator):
    # R17: nothing is pushed into another org's tasks from the old one.
    from accounts.signals import salesforce_connected

    task = _synced_task(syncing, run)
    salesforce_connected.send(
        sender=None,
        connection=syncing.salesforce_connection,
        is_new_identity=True,
        previous_org_id="00Dold",
        previous_sf_user_id="005old",
    )
    assert link_of(task).state == "retired"
    state = state_of(syncing)
    assert state.enabled is False and state.watermark is None


def test_saving_the_checkbox_on_starts_the_first_sync_at_once(
    rep, client, sf_emulator, django_capture_on_commit_callbacks
):
    # R3: queued immediately, not at the next poll.
    sf_emulator.create_task(Subject="Due soon", ActivityDate=str(ago(days=0).date()))
    client.force_login(rep)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("settings"),
            {"form": "sync", "sync_enabled": "on", "subject_template": "{{activity_subject}}"},
        )
    assert response.status_code == 302
    assert ReminderTask.objects.filter(user=rep, name="Due soon").exists()
    assert state_of(rep).phase == "on"
    page = client.get(reverse("settings")).content.decode()
    assert "Last successful sync" in page


def test_the_status_endpoint_reports_progress(rep, client):
    # R3
    SyncState.objects.create(
        user=rep, enabled=True, phase="first_sync", progress_done=120, progress_total=350
    )
    client.force_login(rep)
    data = client.get(reverse("sync_status")).json()
    assert (data["phase"], data["progress_done"], data["progress_total"]) == (
        "first_sync",
        120,
        350,
    )
    assert "Importing… 120 of 350" in client.get(reverse("settings")).content.decode()


def test_the_checkbox_turns_sync_off(syncing, client):
    client.force_login(syncing)
    client.post(reverse("settings"), {"form": "sync", "subject_template": "{{activity_subject}}"})
    assert state_of(syncing).enabled is False


def test_reenabling_within_15_days_is_not_a_first_sync(syncing, run):
    # R7
    sync_disable(user=syncing)
    SyncState.objects.filter(user=syncing).update(last_success_at=ago(days=14))
    sync_enable(user=syncing)
    assert state_of(syncing).phase == "on"
    assert ago(days=14) - state_of(syncing).last_success_at < timedelta(minutes=1)
