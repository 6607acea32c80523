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
