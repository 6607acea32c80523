"""R14 (R8, R6, R18): the rep is told, naming the task, when their change lost or Salesforce
removed one of their tasks. Notices come from real sync runs against the emulator."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tasksync.models import Notice, NoticeKind, SyncEvent
from tasksync.services import notices as notice_services
from tasksync.services import tasks as services
from tests.fixtures_sync import link_of

pytestmark = pytest.mark.django_db


def _synced_task(user, run, **fields):
    task = services.task_create(user=user, name=fields.pop("name", "Call Ana"), **fields)
    run()
    task.refresh_from_db()
    return task


def test_it_tells_the_rep_their_edit_lost_to_a_later_salesforce_edit(syncing, run, sf_emulator):
    # R8 + R14: the notice names the task and the field.
    task = _synced_task(syncing, run, name="Send the Acme quote")
    with time_machine.travel(timezone.now() - timezone.timedelta(minutes=10), tick=False):
        services.task_update(task=task, details="Local, earlier")
    sf_emulator.update_task(link_of(task).sf_id, Description="Salesforce, later")
    run()
    notice = Notice.objects.get(user=syncing)
    assert (notice.kind, notice.task_name, notice.fields) == (
        NoticeKind.CONFLICT_LOST,
        "Send the Acme quote",
        ["details"],
    )
    assert notice.read_at is None


def test_it_says_nothing_when_the_rep_s_later_edit_won(syncing, run, sf_emulator):
    # R8: the local change stood, nothing to tell.
    task = _synced_task(syncing, run)
    sf_emulator.update_task(link_of(task).sf_id, Description="Salesforce, earlier")
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=10), tick=False):
        services.task_update(task=task, details="Local, later")
    run()
    assert not Notice.objects.exists()


def test_it_tells_the_rep_their_edit_met_a_delete_in_salesforce(syncing, run, sf_emulator):
    # R6 + R14: the delete stands; one notice says the edit was lost to it.
    task = _synced_task(syncing, run, name="Renewal call")
    sf_emulator.delete_task(link_of(task).sf_id)
    services.task_update(task=task, details="edited after the delete")
    run()
    notice = Notice.objects.get(user=syncing)
    assert (notice.kind, notice.task_name, notice.fields) == (
        NoticeKind.EDIT_MET_DELETE,
        "Renewal call",
        ["details"],
    )


def test_it_tells_the_rep_salesforce_deleted_one_of_their_tasks(syncing, run, sf_emulator):
    # R6 + R14
    task = _synced_task(syncing, run, name="Demo for Globex")
    sf_emulator.delete_task(link_of(task).sf_id)
    run()
    notice = Notice.objects.get(user=syncing)
    assert (notice.kind, notice.task_name) == (NoticeKind.DELETED, "Demo for Globex")


def test_a_quiet_cycle_records_no_notice_and_reads_nothing_for_it(
    syncing, run, django_assert_num_queries
):
    # R9: the everyday batch (pushes, imports) costs the notices no query at all.
    task = _synced_task(syncing, run)
    events = [
        SyncEvent(user_id=syncing.pk, task_id=task.pk, direction="push", action="update"),
        SyncEvent(user_id=syncing.pk, task_id=task.pk, direction="pull", action="import"),
    ]
    last = syncing.sync_runs.first()
    with django_assert_num_queries(0):
        assert notice_services.notice_record_for_events(events=events, run=last) == 0


def test_recording_the_same_batch_twice_keeps_one_notice(syncing, run, sf_emulator):
    # A job may run twice (django-q2 delivers at least once): one notice per run and task.
    task = _synced_task(syncing, run, name="Demo for Globex")
    sf_emulator.delete_task(link_of(task).sf_id)
    last = run()
    events = list(SyncEvent.objects.filter(run=last))
    notice_services.notice_record_for_events(events=events, run=last)
    assert Notice.objects.filter(user=syncing).count() == 1


def test_it_tells_the_rep_a_task_was_reassigned_to_someone_else(syncing, run, sf_emulator):
    # R18 + R14
    task = _synced_task(syncing, run, name="Hand over to Bea")
    other = sf_emulator.create_user(sf_emulator.demo.org_id, "bea@tasksync.example", "bea", "Bea")
    sf_emulator.update_task(link_of(task).sf_id, OwnerId=other["id"])
    run()
    notice = Notice.objects.get(user=syncing)
    assert (notice.kind, notice.task_name) == (NoticeKind.REASSIGNED, "Hand over to Bea")


def test_a_dismissed_notice_is_gone_and_another_user_cannot_dismiss_it(
    syncing, run, sf_emulator, client, other_user
):
    # R14: kept until read; dismissing is the rep's own.
    task = _synced_task(syncing, run, name="Demo for Globex")
    sf_emulator.delete_task(link_of(task).sf_id)
    run()
    notice = Notice.objects.get(user=syncing)
    client.force_login(other_user)
    client.post(reverse("notice_dismiss", args=[notice.pk]))
    notice.refresh_from_db()
    assert notice.read_at is None

    client.force_login(syncing)
    page = client.get(reverse("command_center")).content.decode()
    assert "Demo for Globex" in page and "was deleted in Salesforce" in page
    response = client.post(reverse("notice_dismiss", args=[notice.pk]))
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.read_at is not None
    assert "Demo for Globex" not in client.get(reverse("command_center")).content.decode()


def test_a_notice_escapes_markup_in_the_task_name(client, user):
    # Task names come from Salesforce too: a notice renders them as text.
    from tests.factories import NoticeFactory

    NoticeFactory(user=user, task_name="<script>alert(1)</script>", task=None)
    client.force_login(user)
    html = client.get(reverse("command_center")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
