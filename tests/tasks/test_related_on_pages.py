"""What a task is about, on the rep's pages (R14): the Who and What names under the task's name
and "Open in Salesforce" for every synced task, built only from a trusted instance URL (R17).
Tasks imported by the production engine from the emulator over HTTPS."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from accounts.models import SalesforceConnection
from tasksync.models import ReminderTask
from tasksync.selectors import user_today
from tasksync.services import tasks as services
from tasksync.templatetags.salesforce_links import salesforce_task_url_for
from tests.fixtures_sync import link_of


def _page(user, name="task_list"):
    client = Client()
    client.force_login(user)
    response = client.get(reverse(name))
    assert response.status_code == 200
    return response.content.decode()


def _import_about(rep, turn_on, sf_emulator, *, who="Ana Ruiz", what="Acme Corp"):
    ana = sf_emulator.create_contact(name=who)
    acme = sf_emulator.create_account(name=what)
    today = user_today(user=rep).isoformat()
    sf_emulator.create_task(Subject="Call Ana", WhoId=ana, WhatId=acme, ActivityDate=today)
    turn_on()
    return ReminderTask.objects.get(user=rep, name="Call Ana")


def test_the_task_list_and_command_center_show_the_names_and_the_link(rep, turn_on, sf_emulator):
    # R14: "Ana Ruiz · Acme Corp" under the name; the Lightning record page of the task.
    task = _import_about(rep, turn_on, sf_emulator)
    instance = SalesforceConnection.objects.get(user=rep).instance_url.rstrip("/")
    url = f"{instance}/lightning/r/Task/{link_of(task).sf_id}/view"
    for page in ("task_list", "command_center"):
        html = _page(rep, page)
        assert "Ana Ruiz · Acme Corp" in html, page
        assert f'href="{url}"' in html, page
        assert "Open in Salesforce" in html


def test_a_local_task_not_yet_in_salesforce_has_no_link(rep, turn_on, sf_emulator):
    turn_on()
    services.task_create(user=rep, name="Only here")  # pending: no Salesforce id yet
    assert "Open in Salesforce" not in _page(rep)


def test_an_untrusted_instance_url_is_never_rendered_as_a_link(rep, turn_on, sf_emulator):
    # R17: a stored instance URL that is not Salesforce's (here written behind the app's back)
    # gives no link at all; the names still show.
    _import_about(rep, turn_on, sf_emulator)
    SalesforceConnection.objects.filter(user=rep).update(instance_url="https://evil.example")
    html = _page(rep)
    assert "Ana Ruiz · Acme Corp" in html
    assert "Open in Salesforce" not in html and "evil.example" not in html


def test_the_url_is_built_only_from_a_base_and_a_record_id():
    # R17: no base (untrusted) or an id that is not a Salesforce id: no link.
    base = "https://acme.my.salesforce.com"
    assert salesforce_task_url_for(base, "00T8a00000ABCDEFGH") == (
        f"{base}/lightning/r/Task/00T8a00000ABCDEFGH/view"
    )
    assert salesforce_task_url_for("", "00T8a00000ABCDEFGH") == ""
    assert salesforce_task_url_for(base, "00T/../../x") == ""
    assert salesforce_task_url_for(base, None) == ""


def test_names_with_markup_render_as_text(rep, turn_on, sf_emulator):
    _import_about(rep, turn_on, sf_emulator, who="<script>alert(1)</script>", what="A & <b>B</b>")
    html = _page(rep)
    assert "<script>alert(1)</script>" not in html and "<b>B</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; · A &amp; &lt;b&gt;B&lt;/b&gt;" in html


def test_the_names_are_read_only_in_the_admin_and_the_task_form(
    rep, turn_on, sf_emulator, admin_client
):
    # R14: read-only everywhere: neither the admin nor the rep's form can edit them.
    task = _import_about(rep, turn_on, sf_emulator)
    html = admin_client.get(reverse("admin:tasksync_remindertask_change", args=[task.pk]))
    assert "Ana Ruiz" in html.content.decode()
    assert 'name="related_who"' not in html.content.decode()
    client = Client()
    client.force_login(rep)
    form = client.get(reverse("task_edit", args=[task.pk])).content.decode()
    assert 'name="related_who"' not in form and 'name="related_what"' not in form
