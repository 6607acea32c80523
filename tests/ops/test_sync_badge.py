"""R14: each task in the task list shows its sync state; the page costs a constant number of
queries however many tasks there are."""

import pytest
from django.urls import reverse

from tasksync.models import OutboundChange, TaskLink
from tasksync.services import tasks as task_services
from tests.factories import ReminderTaskFactory, UserFactory


def _row(html, name):
    start = html.index(name)
    return html[start : html.index("</li>", start)]


def test_it_shows_synced_pending_and_failed_against_salesforce(syncing, run, sf_emulator, client):
    # R11, R14: the badge follows the real sync; a failure carries Salesforce's message.
    sf_emulator.reject_records(field="Subject", contains="forbidden", message="Subject refused")
    task_services.task_create(user=syncing, name="Synced task")
    task_services.task_create(user=syncing, name="A forbidden task")
    run("push", allow_partial=True)
    task_services.task_create(user=syncing, name="Pending task")
    with_sync_off = ReminderTaskFactory(user=syncing, name="Never synced")
    client.force_login(syncing)
    html = client.get(reverse("task_list")).content.decode()
    assert 'class="badge synced"' in _row(html, "Synced task")
    assert 'class="badge pending"' in _row(html, "Pending task")
    failed = _row(html, "A forbidden task")
    assert 'class="badge failed" title="Subject refused"' in failed
    assert "Not synced<span" in failed and ": Subject refused</span>" in failed
    assert "badge" not in _row(html, with_sync_off.name)


def test_it_shows_nothing_for_a_task_whose_link_was_retired(user, signed_in):
    # R17: links to another Salesforce account no longer count as synced.
    task = ReminderTaskFactory(user=user, name="Old org task")
    TaskLink.objects.create(task=task, user=user, org_id="00D1", sf_user_id="0051", state="retired")
    html = signed_in.get(reverse("task_list")).content.decode()
    assert "badge" not in _row(html, "Old org task")


@pytest.mark.parametrize("count", [1, 50])
def test_it_renders_the_task_list_in_a_constant_number_of_queries(
    count, user, signed_in, django_assert_max_num_queries
):
    # R14: the badge reads link and outbox row from the list's own query (no N+1).
    for i in range(count):
        task = ReminderTaskFactory(user=user, name=f"Task {i}")
        if i % 3 == 0:
            TaskLink.objects.create(
                task=task, user=user, org_id="00D1", sf_user_id="0051", sf_id=f"00T{i:015d}"
            )
        if i % 3 == 1:
            OutboundChange.objects.create(
                task=task, user=user, operation="update", state="failed", last_error="No"
            )
    with django_assert_max_num_queries(8):
        html = signed_in.get(reverse("task_list")).content.decode()
    assert html.count('class="badge ') == len(range(0, count, 3)) + len(range(1, count, 3))


def test_it_speaks_spanish_to_a_spanish_speaking_user(client, db):
    user = UserFactory(language="es")
    task = ReminderTaskFactory(user=user, name="Llamar a Ana")
    TaskLink.objects.create(task=task, user=user, org_id="00D1", sf_user_id="0051", sf_id="00T1")
    client.force_login(user)
    html = client.get(reverse("task_list")).content.decode()
    assert 'title="Sincronizada con Salesforce">Sincronizada</span>' in html
