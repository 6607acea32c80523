"""R17: nothing unvalidated is ever rendered as a link: the admin links a record to Salesforce
only through a trusted instance URL."""

from django.urls import reverse

from accounts.models import SalesforceConnection
from tasksync.services import tasks as task_services
from tests.fixtures_sync import link_of

LINKS = reverse("admin:tasksync_tasklink_changelist")


def test_the_admin_links_a_record_to_its_salesforce_instance(syncing, run, admin_client):
    task = task_services.task_create(user=syncing, name="Call Ana")
    run("push")
    sf_id = link_of(task).sf_id
    instance = SalesforceConnection.objects.get(user=syncing).instance_url
    html = admin_client.get(LINKS).content.decode()
    assert f'href="{instance}/{sf_id}"' in html


def test_an_untrusted_instance_url_is_never_a_link(syncing, run, admin_client):
    # A row stored before instance URLs were checked, or written behind the app's back.
    task = task_services.task_create(user=syncing, name="Call Ana")
    run("push")
    sf_id = link_of(task).sf_id
    SalesforceConnection.objects.filter(user=syncing).update(
        instance_url="https://evil.example.com"
    )
    html = admin_client.get(LINKS).content.decode()
    assert sf_id in html
    assert "evil.example.com" not in html
