"""R14: the settings page tells the user the state of their sync, with the reason for a pause."""

import pytest
from django.urls import reverse

from tasksync.models import SyncState


def _status(client):
    html = client.get(reverse("settings")).content.decode()
    start = html.index('id="sync-status"')
    return html[start : html.index("</dl>", start)], html


def test_it_says_off_when_the_user_never_turned_sync_on(signed_in):
    block, _ = _status(signed_in)
    assert '<strong id="sync-phase">Off</strong>' in block
    assert "sync-reason" not in block and "Never" in block


def test_it_shows_import_progress_during_the_first_sync(user, signed_in):
    # R3: "importing… 120 of 350" until the first sync ends.
    SyncState.objects.create(
        user=user, enabled=True, phase="first_sync", progress_done=120, progress_total=350
    )
    block, html = _status(signed_in)
    assert '<strong id="sync-phase">Importing</strong>' in block
    assert "Importing… 120 of 350" in html and "width: 34%" in html


def test_it_says_on_after_the_first_sync(syncing, client):
    client.force_login(syncing)
    block, _ = _status(client)
    assert '<strong id="sync-phase">On</strong>' in block
    assert "Never" not in block


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("reconnect", "Reconnect Salesforce"),
        ("over_limit", "Salesforce API limit reached"),
        ("staff", "Paused by staff"),
    ],
)
def test_it_gives_the_reason_for_a_pause(reason, text, user, signed_in):
    # R12, R14: paused, with why.
    SyncState.objects.create(
        user=user, enabled=True, phase="paused", pause_reason=reason, message="Token revoked"
    )
    block, _ = _status(signed_in)
    assert '<strong id="sync-phase">Paused</strong>' in block
    assert f'<span id="sync-reason">{text}</span>' in block
    assert "Token revoked" in block


def test_it_says_reconnect_when_salesforce_revoked_the_token(syncing, run, sf_emulator, client):
    # R12: a revoked refresh token stops the sync and the page says to reconnect.
    from tasksync.sync.engine import sync_user

    sf_emulator.revoke_refresh_tokens()
    sf_emulator.expire_access_tokens()
    sync_user(user_id=syncing.pk, trigger="poll")
    client.force_login(syncing)
    block, _ = _status(client)
    assert '<span id="sync-reason">Reconnect Salesforce</span>' in block
