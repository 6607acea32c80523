"""R19: staff connect an org's integration user in the admin through the usual OAuth flow (PKCE,
state used once, encrypted tokens); its permissions are checked at once, with a clear message;
disconnecting revokes the grant at Salesforce and the reps poll on their own again."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import SalesforceConnection
from tasksync.models import FeedHealth, OrgFeed
from tasksync.sync.org_pull import feed_covering
from tests.factories import UserFactory
from tests.fixtures_salesforce import authorize_in_emulator

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(db):
    client = Client()
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def _connect(client, sf_emulator, feed, *, username, password):
    start = client.post(reverse("admin:tasksync_orgfeed_connect", args=[feed.pk]))
    assert start.status_code == 302, start.content[:300]
    callback = authorize_in_emulator(start["Location"], username=username, password=password)
    parts = urlsplit(callback)
    back = client.get(f"{parts.path}?{parts.query}")
    assert back.status_code == 302
    assert back["Location"] == reverse("admin:tasksync_orgfeed_check_after", args=[feed.pk])
    checked = client.get(back["Location"], follow=True)
    assert checked.status_code == 200
    return checked


def test_staff_connect_the_integration_user_and_it_is_checked(
    staff_client, stream_settings, sf_emulator
):
    org_id = sf_emulator.demo.org_id
    feed = OrgFeed.objects.create(org_id=org_id)
    sf_emulator.create_user(org_id, "integration@tasksync.example", "pw-int", "Integration")
    page = _connect(
        staff_client, sf_emulator, feed, username="integration@tasksync.example", password="pw-int"
    )
    assert "one pull serves the org" in page.content.decode()
    feed.refresh_from_db()
    connection = SalesforceConnection.objects.get(user=feed.integration_user)
    assert connection.username == "integration@tasksync.example"
    assert not feed.integration_user.has_usable_password()  # it never signs in
    assert (feed.can_read_all, feed.can_subscribe, feed.health) == (True, True, "waiting")
    assert feed_covering(org_id) == feed
    # The staff member's own account was not connected by this.
    assert not SalesforceConnection.objects.filter(user__username="admin").exists()
    # Tokens never appear on the admin page (R17).
    change = staff_client.get(reverse("admin:tasksync_orgfeed_change", args=[feed.pk]))
    assert connection.access_token not in change.content.decode()
    assert connection.refresh_token not in change.content.decode()


def test_missing_permissions_are_named_and_the_reps_keep_their_own_polls(
    staff_client, stream_settings, pubsub_server, sf_emulator
):
    org_id = sf_emulator.demo.org_id
    feed = OrgFeed.objects.create(org_id=org_id)
    user = sf_emulator.create_user(org_id, "integration@tasksync.example", "pw-int", "Integration")
    pubsub_server.faults.denied_users.add(user["id"])
    page = _connect(
        staff_client, sf_emulator, feed, username="integration@tasksync.example", password="pw-int"
    )
    feed.refresh_from_db()
    assert (feed.can_read_all, feed.can_subscribe) == (True, False)
    assert "may not subscribe to Task change events" in feed.message
    assert "may not subscribe to Task change events" in page.content.decode()
    # Change Data Capture off for Task in the org's Setup: said so, in Setup's words.
    pubsub_server.faults.denied_users.clear()
    pubsub_server.faults.cdc_disabled_orgs.add(org_id)
    staff_client.post(reverse("admin:tasksync_orgfeed_check", args=[feed.pk]))
    feed.refresh_from_db()
    assert "Change Data Capture is not enabled for Task" in feed.message
    # Signed in to another org: refused, and the feed does not cover the org.
    feed.org_id = "00D000000000OTHER"
    feed.save(update_fields=["org_id"])
    staff_client.post(reverse("admin:tasksync_orgfeed_check", args=[feed.pk]))
    feed.refresh_from_db()
    assert feed.health == FeedHealth.REFUSED and "signed in to org" in feed.message
    assert feed_covering("00D000000000OTHER") is None


def test_disconnecting_revokes_the_grant_and_the_reps_poll_again(
    staff_client, stream_settings, sf_emulator
):
    org_id = sf_emulator.demo.org_id
    feed = OrgFeed.objects.create(org_id=org_id)
    sf_emulator.create_user(org_id, "integration@tasksync.example", "pw-int", "Integration")
    _connect(
        staff_client, sf_emulator, feed, username="integration@tasksync.example", password="pw-int"
    )
    feed.refresh_from_db()
    token = SalesforceConnection.objects.get(user=feed.integration_user).refresh_token
    response = staff_client.post(reverse("admin:tasksync_orgfeed_disconnect", args=[feed.pk]))
    assert response.status_code == 302
    assert sf_emulator.token_is_revoked(token)
    assert feed_covering(org_id) is None
    assert OrgFeed.objects.get(pk=feed.pk).health == FeedHealth.WAITING


def test_the_connect_and_check_buttons_are_posts_and_not_for_reps(sf_emulator, salesforce_settings):
    feed = OrgFeed.objects.create(org_id=sf_emulator.demo.org_id)
    rep = Client()
    rep.force_login(UserFactory(username="rep"))
    refused = rep.post(reverse("admin:tasksync_orgfeed_connect", args=[feed.pk]))
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]
    staff = Client()
    staff.force_login(UserFactory(username="boss", is_staff=True, is_superuser=True))
    assert staff.get(reverse("admin:tasksync_orgfeed_connect", args=[feed.pk])).status_code == 403


def test_with_the_feed_a_change_event_brings_one_org_pull_under_the_integration_user(
    subscriber, syncing, sf_emulator
):
    # R19: the stream subscribes with the integration user and each event queues the org's one
    # pull (not a run per owner); the change reaches the rep within the event's handling.
    from benchmarks import harness
    from tasksync.models import ReminderTask, SyncRun
    from tasksync.services import tasks as services
    from tests.fixtures_sync import link_of

    integration = harness.connect_user(sf_emulator)
    OrgFeed.objects.create(
        org_id=sf_emulator.demo.org_id,
        integration_user=integration.user,
        can_read_all=True,
        can_subscribe=True,
    )
    task = services.task_create(user=syncing, name="Call Ana")
    assert harness.cycle(syncing, "push").pushed == 1
    subscriber.open()
    assert subscriber.connection.user_id == integration.user.pk
    sf_emulator.update_task(link_of(task).sf_id, Description="from Salesforce")
    subscriber.process(
        until=lambda: ReminderTask.objects.get(pk=task.pk).details == "from Salesforce",
        timeout=10,
    )
    assert SyncRun.objects.filter(user=syncing, trigger="org_pull").exists()
    assert not SyncRun.objects.filter(user=syncing, trigger="stream").exists()
