"""R14: the settings page, written for reps: plain words first, developer facts behind
"Advanced", a pause that says who and what to do, the first sync's figures, and a demo that
offers only the emulator."""

import pytest
from django.urls import reverse
from django.utils import timezone

from tasksync.models import SyncState


def _settings(client):
    return client.get(reverse("settings")).content.decode()


def _advanced(html):
    start = html.index('<details class="advanced"')
    return html[start : html.index("</details>", html.index("sf-callback-url"))]


def test_developer_facts_are_behind_the_advanced_disclosure(sf_connection, client):
    # R14: the org id and callback URL are there for whoever needs them, not in the rep's way.
    client.force_login(sf_connection.user)
    html = _settings(client)
    advanced = _advanced(html)
    assert sf_connection.org.org_id in advanced and "/settings/salesforce/callback/" in advanced
    before = html[: html.index('<details class="advanced"')]
    assert sf_connection.org.org_id not in before and "callback" not in before.lower()
    assert f"Your tasks sync with the Salesforce account <strong>{sf_connection.username}" in (
        before
    )


def test_the_demo_offers_only_the_emulator(signed_in, settings):
    # R14: in the demo every login choice led to the emulator; none is offered.
    settings.SALESFORCE_EMULATOR = True
    html = _settings(signed_in)
    assert "built-in Salesforce emulator" in html
    assert 'value="sandbox"' not in html and 'value="my_domain"' not in html
    assert "Connect Salesforce" in html


def test_a_real_deployment_still_offers_production_sandbox_and_my_domain(signed_in, settings):
    # R17
    settings.SALESFORCE_EMULATOR = False
    html = _settings(signed_in)
    assert 'value="sandbox"' in html and 'value="my_domain"' in html


def test_a_staff_pause_says_who_paused_and_what_to_do(user, signed_in):
    # R14: paused by whom, and what the rep can do; "Sync now" is not offered (it cannot lift it).
    SyncState.objects.create(
        user=user,
        enabled=True,
        phase="paused",
        pause_reason="staff",
        message="Paused by Sam while the org is migrated",
    )
    html = _settings(signed_in)
    assert "An administrator paused your sync." in html
    assert "Ask your administrator to resume it" in html
    assert "Paused by Sam while the org is migrated" in html
    assert reverse("sync_now") not in html


def test_a_pause_from_the_admin_names_the_administrator(syncing, client, admin_client):
    # R14: "a paused state says who paused it": the admin's pause action is logged with its user.
    from accounts.models import User

    User.objects.filter(username="root").update(first_name="Sam", last_name="Ops")
    state = SyncState.objects.get(user=syncing)
    admin_client.post(
        reverse("admin:tasksync_syncstate_changelist"),
        {"action": "pause", "_selected_action": [state.pk]},
    )
    state.refresh_from_db()
    assert (state.phase, state.pause_reason) == ("paused", "staff")
    client.force_login(syncing)
    html = _settings(client)
    assert "Sam Ops (administrator) paused your sync." in html
    assert "Sync is paused by Sam Ops (administrator)." in html
    command_center = client.get(reverse("command_center")).content.decode()
    assert "Sync is paused by Sam Ops (administrator)." in command_center


def test_sync_on_is_said_in_plain_words(user, signed_in):
    SyncState.objects.create(user=user, enabled=True, phase="on", last_success_at=timezone.now())
    html = _settings(signed_in)
    assert "Sync is on. What you create, edit, complete or delete here reaches Salesforce" in html


def test_the_first_sync_ends_with_how_many_tasks_it_imported(
    rep, turn_on, run, sf_emulator, client
):
    # R3, R14: "imported 23 tasks", even when the first sync's job was delivered twice.
    today = timezone.localdate().isoformat()
    sf_emulator.create_tasks([{"Subject": f"Call {i}", "ActivityDate": today} for i in range(23)])
    turn_on()
    run("first_sync")
    client.force_login(rep)
    html = _settings(client)
    assert "First sync done: imported 23 tasks from Salesforce" in html


@pytest.mark.parametrize("importing", [True, False])
def test_the_sync_panel_polls_faster_while_importing(user, signed_in, importing):
    # R3: progress moves every second during the import, every few seconds otherwise.
    SyncState.objects.create(
        user=user, enabled=True, phase="first_sync" if importing else "on", progress_total=10
    )
    html = _settings(signed_in)
    start = html.index('id="sync-status"')
    region = html[start : html.index(">", start)]
    assert ("every 1s" in region) is importing and 'hx-get="/live/sync/"' in region
