"""What a task is about (R14, issue 14 item 13): the Who and What names read in the pull's own
queries, kept on the local task for display only (never pushed, never a conflict: R1 is
unchanged). Production engine against the emulator over HTTPS; API calls counted exactly."""

from __future__ import annotations

from tasksync.models import OutboundChange, ReminderTask, SyncConflict
from tasksync.services import tasks as services
from tests.fixtures_sync import link_of, remote


def _imported(rep, subject):
    return ReminderTask.objects.get(user=rep, name=subject)


def test_an_import_shows_who_and_what_in_the_same_one_call(rep, turn_on, sf_emulator):
    # R14: the names come nested in the import's own query: one Composite call, as before.
    ana = sf_emulator.create_contact(name="Ana Ruiz")
    acme = sf_emulator.create_account(name="Acme Corp")
    sf_emulator.create_task(Subject="Call Ana", WhoId=ana, WhatId=acme)
    sf_emulator.create_task(Subject="Only an account", WhatId=acme)
    sf_emulator.create_task(Subject="About nothing")
    sf_emulator.reset_api_calls()
    run = turn_on()
    assert sf_emulator.api_calls() == {"composite": 1}
    assert run.api_calls == 1
    call = _imported(rep, "Call Ana")
    assert (call.related_who, call.related_what) == ("Ana Ruiz", "Acme Corp")
    only = _imported(rep, "Only an account")
    assert (only.related_who, only.related_what) == ("", "Acme Corp")
    bare = _imported(rep, "About nothing")
    assert (bare.related_who, bare.related_what) == ("", "")


def test_a_salesforce_change_of_who_and_what_only_updates_the_display(syncing, run, sf_emulator):
    # R14, R1: a new Who/What in Salesforce reaches the display on the next poll; it is not an
    # R1 field, so it is no pull of a change, no conflict with a pending local edit, no push.
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    sf_id = link_of(task).sf_id
    bea = sf_emulator.create_contact(name="Bea Lind")
    globex = sf_emulator.create_account(name="Globex")
    sf_emulator.update_task(sf_id, WhoId=bea, WhatId=globex)
    services.task_update(task=ReminderTask.objects.get(pk=task.pk), details="agenda")
    result = run()
    task.refresh_from_db()
    assert (task.related_who, task.related_what) == ("Bea Lind", "Globex")
    assert not SyncConflict.objects.filter(task=task).exists()
    assert result.conflicts == 0 and result.pulled == 0
    after = remote(sf_emulator, task)
    assert after["Description"] == "agenda"  # the local edit went through
    assert (after["WhoId"], after["WhatId"]) == (bea, globex)  # names never pushed back
    modified = task.modified_at
    sf_emulator.reset_api_calls()
    result = run()
    task.refresh_from_db()
    assert result.pushed == 0 and task.modified_at == modified
    assert not OutboundChange.objects.filter(task=task).exists()


def test_an_account_renamed_in_salesforce_reaches_the_display_without_push(
    syncing, run, sf_emulator
):
    # R14: a rename of the Account is read the next time the task is read. Salesforce does not
    # move a task's SystemModstamp when its Account is renamed, so the next read is the next
    # change of the task (here an automation's touch) or a resync.
    acme = sf_emulator.create_account(name="Acme Corp")
    sf_id = sf_emulator.create_task(Subject="Renewal", WhatId=acme)["Id"]
    run()
    task = _imported(syncing, "Renewal")
    assert task.related_what == "Acme Corp"
    modified = task.modified_at
    sf_emulator.rename_record(record_id=acme, name="Acme Holdings")
    sf_emulator.automation_touch(sf_id)
    result = run()
    task.refresh_from_db()
    assert task.related_what == "Acme Holdings"
    assert result.pushed == 0 and result.conflicts == 0
    assert task.modified_at == modified  # not a task edit: nothing stamped, nothing queued
    assert not OutboundChange.objects.filter(task=task).exists()
    sf_emulator.rename_record(record_id=acme, name="Acme Group")
    run("resync")
    task.refresh_from_db()
    assert task.related_what == "Acme Group"
