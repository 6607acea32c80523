from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tasksync.services import tasks as services


def test_sync_user_prints_one_line_of_figures(syncing, sf_emulator):
    services.task_create(user=syncing, name="Call Ana")
    out = StringIO()
    call_command("sync_user", syncing.username, stdout=out)
    line = out.getvalue().strip()
    assert line.startswith("success: pulled=0 pushed=1 deleted=0 conflicts=0 failed=0 api_calls=")
    assert len(sf_emulator.tasks()) == 1


def test_resync_runs_a_resync(syncing):
    # R14
    out = StringIO()
    call_command("resync", syncing.username, stdout=out)
    assert out.getvalue().startswith("success:")
    assert syncing.sync_runs.latest("started_at").trigger == "resync"


def test_it_says_when_nothing_ran(db):
    from tests.factories import UserFactory

    user = UserFactory()
    with pytest.raises(CommandError, match="Nothing ran"):
        call_command("sync_user", user.username)
    with pytest.raises(CommandError, match="No user"):
        call_command("sync_user", "nobody")


# -- issue 14: the commands say why nothing ran ---------------------------------------------------
def test_it_says_sync_is_off(db):
    from tests.factories import UserFactory

    user = UserFactory()
    with pytest.raises(CommandError, match="sync is off for this user"):
        call_command("sync_user", user.username)


def test_it_says_who_paused_it_and_what_to_do(syncing, admin_client):
    # R14: paused by staff; the command names the operator and the way out.
    from django.urls import reverse

    from tasksync.models import SyncState

    state = SyncState.objects.get(user=syncing)
    admin_client.post(
        reverse("admin:tasksync_syncstate_changelist"),
        {"action": "pause", "_selected_action": [state.pk]},
    )
    with pytest.raises(CommandError, match=r"paused by staff \(admin on .*\); resume it"):
        call_command("sync_user", syncing.username)
    out = StringIO()
    call_command("resync", syncing.username, stdout=out)  # staff's resync may run it
    assert out.getvalue().startswith("success:")


def test_it_says_a_run_is_already_going(syncing):
    from tasksync.sync.lease import lease_acquire

    assert lease_acquire(user_id=syncing.pk)
    with pytest.raises(CommandError, match="already running"):
        call_command("resync", syncing.username)


def test_it_says_the_user_must_reconnect(syncing):
    from tasksync.models import SyncState

    SyncState.objects.filter(user=syncing).update(
        phase="paused", pause_reason="reconnect", message="expired access/refresh token"
    )
    syncing.salesforce_connection.__class__.objects.filter(user=syncing).update(
        state="needs_reconnect"
    )
    with pytest.raises(CommandError, match="Reconnect|reconnect"):
        call_command("sync_user", syncing.username)
