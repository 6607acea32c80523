"""Bad input from Salesforce (R11, R12): records with overlong strings, nulls, unknown picklist
values, malformed dates or markup never crash a sync: each is imported safely or fails alone with
a clear message, and markup is escaped on the pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from benchmarks import harness
from tasksync.models import ReminderTask, SyncEvent, TaskLink
from tests.proof.helpers import fresh_connected_user

MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BAD_RECORDS = {
    "overlong subject": {"Subject": "S" * 400},
    "overlong description": {"Subject": "Long details", "Description": "d" * 40_000},
    "null subject": {"Subject": None},
    "null status and priority": {"Subject": "Nulls", "Status": None, "Priority": None},
    "unknown picklist values": {"Subject": "Odd values", "Status": "Blocked", "Priority": "Urgent"},
    "malformed date": {"Subject": "Bad date", "ActivityDate": "2030-13-45"},
    "markup": {"Subject": MARKUP, "Description": MARKUP},
    "control characters": {"Subject": "Tab\there\x00nul\nnewline"},
}


def _create_raw(sf_emulator, sf_user_id, fields):
    """The back door skips some validation; what it refuses cannot come from Salesforce either."""
    try:
        return sf_emulator.create_task(user_id=sf_user_id, **fields)["Id"]
    except Exception:  # noqa: BLE001 - the emulator refused it: not input we can receive
        return None


@pytest.mark.django_db
def test_it_imports_or_fails_each_bad_record_alone_without_crashing(
    sf_emulator, salesforce_settings
):
    # R11: a record is imported or recorded as failed with a message; the rest goes on.
    connection = fresh_connected_user(sf_emulator)
    user = connection.user
    created = {
        label: _create_raw(sf_emulator, connection.sf_user_id, fields)
        for label, fields in BAD_RECORDS.items()
    }
    good = sf_emulator.create_task(user_id=connection.sf_user_id, Subject="A good one")["Id"]
    print({label: bool(sf_id) for label, sf_id in created.items()})
    with harness.jobs_suppressed():
        harness.turn_on(user)
        run = harness.cycle(user, "first_sync")
    linked = set(TaskLink.objects.filter(user=user).values_list("sf_id", flat=True))
    failed = {
        e.sf_id: e.message
        for e in SyncEvent.objects.filter(user=user, ok=False, action="import").exclude(sf_id="")
    }
    # A run where a record failed says so; one where none did is a success.
    assert run.outcome == ("partial" if failed else "success"), run.error
    assert good in linked
    for label, sf_id in created.items():
        if sf_id is None:
            continue
        assert (sf_id in linked) != (sf_id in failed), label
        if sf_id in failed:
            assert failed[sf_id].strip(), f"{label}: a failure needs a message"
    for task in ReminderTask.objects.filter(user=user):
        task.full_clean()  # R1: whatever was imported is a valid local task
        assert 1 <= len(task.name) <= 255 and len(task.details) <= 32_000


@pytest.mark.django_db
def test_it_escapes_markup_from_salesforce_on_the_task_list_and_command_center(
    sf_emulator, salesforce_settings
):
    # R14: a Subject is shown as text, never as markup.
    connection = fresh_connected_user(sf_emulator)
    user = connection.user
    today = sf_emulator.now().date().isoformat()
    sf_emulator.create_task(user_id=connection.sf_user_id, Subject=MARKUP, ActivityDate=today)
    with harness.jobs_suppressed():
        harness.turn_on(user)
        harness.cycle(user, "first_sync")
    assert ReminderTask.objects.filter(user=user, name=MARKUP).exists()
    client = Client()
    client.force_login(user)
    for url in (reverse("task_list"), reverse("command_center")):
        page = client.get(url).content.decode()
        assert "<script>alert" not in page and "<img src=x" not in page, url
        assert "&lt;script&gt;alert" in page, url
