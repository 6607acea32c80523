"""User data is escaped everywhere it is shown, and secrets are shown nowhere (R14, R17)."""

import pytest
from django.contrib import admin
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from accounts.models import SalesforceConnection
from tasksync.models import OutboundChange, SyncConflict, SyncRun, SyncState
from tasksync.services import tasks as task_services

PAYLOAD = '<script>alert("x")</script>'


def _admin_pages():
    """Every changelist and the change page of every object in it, the index and Sync health."""
    pages = [reverse("admin:index"), reverse("admin:tasksync_sync_health")]
    for model in admin.site._registry:
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        pages += [
            reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[pk])
            for pk in model._default_manager.values_list("pk", flat=True)[:20]
        ]
    return pages


@pytest.fixture
def hostile(syncing, run, sf_emulator):
    """HTML in task names and details, in Salesforce's messages, in conflicts and run errors."""
    sf_emulator.reject_records(field="Subject", contains="forbidden", message=f"No {PAYLOAD}")
    task = task_services.task_create(user=syncing, name=f"{PAYLOAD} call", details=PAYLOAD)
    task_services.task_create(user=syncing, name=f"forbidden {PAYLOAD}", details=PAYLOAD)
    run("push", allow_partial=True)  # the forbidden task is rejected
    assert OutboundChange.objects.get(state="failed").last_error.endswith(PAYLOAD)
    SyncConflict.objects.create(
        user=syncing,
        task=task,
        field="details",
        local_value=PAYLOAD,
        remote_value=f"remote {PAYLOAD}",
        local_changed_at=timezone.now(),
        remote_changed_at=timezone.now(),
        winner="salesforce",
    )
    SyncRun.objects.filter(user=syncing).update(error=f"Boom {PAYLOAD}")
    SyncState.objects.filter(user=syncing).update(message=PAYLOAD)
    return syncing


def test_it_escapes_user_data_on_every_admin_page(hostile, admin_client):
    # R14: names, details and Salesforce's messages are text, never markup.
    seen = 0
    for url in _admin_pages():
        response = admin_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert PAYLOAD not in html, url
        seen += "&lt;script&gt;alert(" in html
    assert seen >= 10  # the payloads are shown, escaped


def test_it_escapes_user_data_on_the_users_pages(hostile, client):
    # R14: the task list badge carries Salesforce's message in a title, escaped.
    client.force_login(hostile)
    for url in (reverse("task_list"), reverse("settings"), reverse("command_center")):
        html = client.get(url).content.decode()
        assert PAYLOAD not in html, url
    task_list = client.get(reverse("task_list")).content.decode()
    assert 'title="No &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"' in task_list


def _ciphertexts(pk):
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM accounts_salesforceconnection WHERE id = %s",
            [pk],
        )
        return [value for value in cursor.fetchone() if value]


def test_it_never_shows_a_token_or_its_ciphertext_on_any_admin_page(
    history, admin_client, sf_connection
):
    # R17: tokens are never shown, not even encrypted, on any admin page.
    connection = SalesforceConnection.objects.get(pk=sf_connection.pk)
    secrets = [connection.access_token, connection.refresh_token, *_ciphertexts(connection.pk)]
    assert len(secrets) == 4 and all(secrets)
    for url in _admin_pages():
        html = admin_client.get(url).content.decode()
        for secret in secrets:
            assert secret not in html, url
        assert "gAAAA" not in html, url
