"""R1, R2, R5, R9, R16: changes on either side reach the other, field by field, without echoes."""

from datetime import date

import pytest

from tasksync.models import ReminderTask, TaskLink
from tasksync.services import tasks as services
from tests.factories import UserFactory
from tests.fixtures_sync import link_of, remote


def test_a_local_task_created_while_sync_is_on_reaches_salesforce(syncing, run, sf_emulator):
    # R5
    task = services.task_create(
        user=syncing, name="Call Ana", priority="high", due_date=date(2026, 12, 1), details="Hi"
    )
    result = run("push")
    record = remote(sf_emulator, task)
    assert (record["Subject"], record["Priority"], record["ActivityDate"]) == (
        "Call Ana",
        "High",
        "2026-12-01",
    )
    assert (record["Status"], record["Description"]) == ("Not Started", "Hi")
    assert record["OwnerId"] == sf_emulator.demo.user_id
    assert result.pushed == 1


def test_a_salesforce_task_created_while_sync_is_on_arrives_on_the_next_poll(
    syncing, run, sf_emulator
):
    # R5
    sf_emulator.create_task(Subject="Created in Salesforce", Priority="High")
    run()
    task = ReminderTask.objects.get(user=syncing)
    assert (task.name, task.priority) == ("Created in Salesforce", "high")


def test_edits_complete_and_reopen_travel_both_ways(syncing, run, sf_emulator):
    # R1, R5
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    services.task_complete(task=task)
    run()
    assert remote(sf_emulator, task)["Status"] == "Completed"

    sf_emulator.update_task(link_of(task).sf_id, Status="Not Started", Description="Again")
    run()
    task.refresh_from_db()
    assert (task.status, task.details) == ("open", "Again")


def test_an_unmapped_status_survives_a_local_rename(syncing, run, sf_emulator):
    # R1: a push sends only the fields that changed locally.
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    sf_emulator.update_task(link_of(task).sf_id, Status="In Progress")
    run()
    task.refresh_from_db()
    assert task.status == "open"  # In Progress is not synced
    services.task_update(task=task, name="Call Ana back")
    run()
    record = remote(sf_emulator, task)
    assert (record["Subject"], record["Status"]) == ("Call Ana back", "In Progress")


def test_low_priority_in_salesforce_changes_nothing(syncing, run, sf_emulator):
    # R1
    task = services.task_create(user=syncing, name="Call Ana", priority="high")
    run()
    sf_emulator.update_task(link_of(task).sf_id, Priority="Low")
    run()
    task.refresh_from_db()
    assert task.priority == "high"


def test_the_subject_template_renders_and_renames_travel_with_the_placeholder(
    syncing, run, sf_emulator
):
    # R2
    syncing.subject_template = "[tasksync] {{activity_subject}}"
    syncing.save()
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    assert remote(sf_emulator, task)["Subject"] == "[tasksync] Call Ana"
    services.task_update(task=task, name="Call Ana today")
    run()
    assert remote(sf_emulator, task)["Subject"] == "[tasksync] Call Ana today"


def test_without_the_placeholder_the_subject_is_written_once(syncing, run, sf_emulator):
    # R2
    syncing.subject_template = "Follow-up from tasksync"
    syncing.save()
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    services.task_update(task=task, name="Call Ana today", priority="high")
    run()
    record = remote(sf_emulator, task)
    assert (record["Subject"], record["Priority"]) == ("Follow-up from tasksync", "High")


def test_a_subject_edited_in_salesforce_never_renames_the_local_task(syncing, run, sf_emulator):
    # R2
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    sf_emulator.update_task(link_of(task).sf_id, Subject="Renamed in Salesforce")
    run()
    task.refresh_from_db()
    assert task.name == "Call Ana"


@pytest.mark.parametrize("zone", ["Pacific/Honolulu", "Pacific/Tongatapu"])
def test_a_due_date_stays_the_same_calendar_date_in_any_time_zone(syncing, run, sf_emulator, zone):
    # R1, R16: UTC−10 and UTC+13; ActivityDate is never shifted.
    syncing.time_zone = zone
    syncing.save()
    task = services.task_create(user=syncing, name="Renewal", due_date=date(2026, 12, 31))
    run()
    assert remote(sf_emulator, task)["ActivityDate"] == "2026-12-31"
    sf_emulator.update_task(link_of(task).sf_id, ActivityDate="2027-01-01")
    run()
    task.refresh_from_db()
    assert task.due_date == date(2027, 1, 1)


def test_after_a_round_trip_the_next_cycle_writes_nothing(syncing, run, sf_emulator):
    # R9: no echoes, no ping-pong. An idle cycle costs at most 2 calls.
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    sf_emulator.update_task(link_of(task).sf_id, Description="From Salesforce")
    run()
    sf_emulator.reset_api_calls()
    before = remote(sf_emulator, task)["SystemModstamp"]
    result = run()
    calls = sf_emulator.api_calls()
    assert result.api_calls <= 2 and sf_emulator.api_call_total() <= 2, calls
    assert not any(k.startswith("composite") or "PATCH" in k for k in calls), calls
    assert remote(sf_emulator, task)["SystemModstamp"] == before
    assert (result.pulled, result.pushed) == (0, 0)


def test_an_automation_that_only_bumps_systemmodstamp_causes_no_write(syncing, run, sf_emulator):
    # R9: echoes are recognised by content, not by who made the change.
    task = services.task_create(user=syncing, name="Call Ana")
    run()
    sf_emulator.automation_touch(link_of(task).sf_id)
    modified = task.modified_at
    sf_emulator.reset_api_calls()
    result = run()
    task.refresh_from_db()
    assert task.modified_at == modified
    assert result.pushed == 0 and result.pulled == 0
    assert sf_emulator.api_call_total() <= 2


def test_a_push_of_450_new_tasks_takes_one_composite_call(syncing, run, sf_emulator):
    # R13 (issue 16): pushes write up to 200 records a collection, five collections a call.
    for i in range(450):
        services.task_create(user=syncing, name=f"Task {i}")
    sf_emulator.reset_api_calls()
    run("push")
    calls = sf_emulator.api_calls()
    assert calls == {"queryAll": 1, "composite": 1}, calls
    assert TaskLink.objects.filter(user=syncing, sf_id__isnull=False).count() == 450
    assert len(sf_emulator.tasks()) == 450


def test_each_user_sees_only_their_own_org(syncing, run, sf_emulator):
    other = UserFactory()
    services.task_create(user=other, name="Not synced: other user has no sync")
    run()
    assert sf_emulator.tasks() == []


def test_an_idle_cycle_costs_the_same_with_thousands_of_tasks(rep, turn_on, run, sf_emulator):
    # R9/R13: after a quiet period an idle cycle makes its minimum reads, whatever the task count.
    from tests.fixtures_sync import ago, sf_time

    quiet = sf_time(ago(minutes=10))
    sf_emulator.create_tasks(
        [
            {"Subject": f"Task {i}", "LastModifiedDate": quiet, "SystemModstamp": quiet}
            for i in range(2500)
        ]
    )
    turn_on()
    run()  # the first poll after the import also checks the deletion log
    sf_emulator.reset_api_calls()
    result = run()
    calls = sf_emulator.api_calls()
    assert result.api_calls == sf_emulator.api_call_total() == 1, calls
    assert calls == {"queryAll": 1}
