"""connection_refresh, connection_mark_needs_reconnect and connection_disconnect against the
emulator (R12, R17)."""

import logging
import threading
from datetime import timedelta

import pytest
import requests
from django.db import close_old_connections
from django.db import connection as db
from django.utils import timezone

from accounts import services
from accounts.models import ConnectionState, SalesforceConnection
from accounts.salesforce.errors import NeedsReconnect, Transient
from accounts.services import (
    connection_disconnect,
    connection_mark_needs_reconnect,
    connection_refresh,
)


@pytest.fixture
def token_calls(monkeypatch):
    """Every POST our code makes to a token endpoint (the emulator does not count OAuth calls)."""
    calls = []
    real_request = requests.request

    def spy(method, url, *args, **kwargs):
        if method == "POST" and url.endswith("/services/oauth2/token"):
            calls.append(kwargs.get("data", {}).get("grant_type"))
        return real_request(method, url, *args, **kwargs)

    monkeypatch.setattr(requests, "request", spy)
    return calls


def test_it_gets_a_new_access_token_when_the_old_one_expired(sf_connection, sf_emulator):
    # R12: access token expired → refresh with the refresh token, store atomically.
    old_access, old_version = sf_connection.access_token, sf_connection.token_version
    sf_emulator.expire_access_tokens()
    assert not sf_emulator.token_is_valid(old_access)

    connection = connection_refresh(connection=sf_connection)

    assert connection.access_token != old_access
    assert sf_emulator.token_is_valid(connection.access_token)
    assert connection.token_version == old_version + 1
    assert connection.last_refreshed_at is not None
    stored = SalesforceConnection.objects.get(pk=connection.pk)
    assert stored.access_token == connection.access_token
    assert stored.refresh_token == sf_connection.refresh_token  # no rotation: kept


def test_it_stores_a_rotated_refresh_token(sf_connection, sf_emulator):
    # R12: with refresh token rotation the new refresh token replaces the old one.
    sf_emulator.set_refresh_rotation(True)
    old_refresh = sf_connection.refresh_token

    connection = connection_refresh(connection=sf_connection)

    stored = SalesforceConnection.objects.get(pk=connection.pk)
    assert stored.refresh_token != old_refresh
    assert sf_emulator.token_is_revoked(old_refresh)
    assert sf_emulator.token_is_valid(stored.refresh_token)
    # And the rotated one works for the next refresh.
    assert connection_refresh(connection=stored).is_usable


def test_it_marks_needs_reconnect_after_exactly_one_attempt_when_the_grant_is_revoked(
    sf_connection, sf_emulator, token_calls
):
    # R12: invalid_grant → "reconnect Salesforce", no retry storm.
    sf_emulator.revoke_refresh_tokens()

    with pytest.raises(NeedsReconnect) as excinfo:
        connection_refresh(connection=sf_connection)

    assert token_calls == ["refresh_token"]
    assert excinfo.value.code == "invalid_grant"
    stored = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert stored.state == ConnectionState.NEEDS_RECONNECT
    assert stored.state_reason == "expired access/refresh token"
    assert stored.state_changed_at is not None
    assert not stored.is_usable
    assert stored.refresh_token not in stored.last_error


def test_it_makes_no_call_for_a_connection_that_needs_reconnect(sf_connection, token_calls):
    # R12: a connection already marked is not retried.
    connection_mark_needs_reconnect(connection=sf_connection, reason="revoked by an admin")
    with pytest.raises(NeedsReconnect):
        connection_refresh(connection=sf_connection)
    assert token_calls == []


def test_it_makes_no_call_for_a_disconnected_connection(sf_connection, token_calls):
    connection_disconnect(connection=sf_connection)
    with pytest.raises(NeedsReconnect):
        connection_refresh(connection=sf_connection)
    assert token_calls == []


def test_it_uses_the_tokens_another_worker_already_stored_without_asking_salesforce(
    sf_connection, sf_emulator, token_calls
):
    # R12: a stale worker (holding the rotated-away refresh token) takes the stored ones.
    sf_emulator.set_refresh_rotation(True)
    stale = SalesforceConnection.objects.get(pk=sf_connection.pk)
    winner = connection_refresh(connection=sf_connection)

    result = connection_refresh(connection=stale)

    assert token_calls == ["refresh_token"]
    assert result.state == ConnectionState.CONNECTED
    assert (result.access_token, result.refresh_token) == (
        winner.access_token,
        winner.refresh_token,
    )
    assert sf_emulator.token_is_valid(result.refresh_token)


def test_it_takes_invalid_grant_for_a_rotation_when_the_row_moved_on_meanwhile(
    sf_connection, sf_emulator, monkeypatch
):
    # R12: invalid_grant, but another worker stored new tokens while we asked: not a revocation.
    sf_emulator.set_refresh_rotation(True)
    real_token_request = services.oauth.token_request

    def another_worker_refreshes_first(**kwargs):
        other = SalesforceConnection.objects.get(pk=sf_connection.pk)
        body = real_token_request(**kwargs)  # rotates: our refresh token is now dead
        SalesforceConnection.objects.filter(pk=other.pk).update(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            token_version=other.token_version + 1,
        )
        return real_token_request(**kwargs)  # our own attempt: invalid_grant

    monkeypatch.setattr(services.oauth, "token_request", another_worker_refreshes_first)
    result = connection_refresh(connection=sf_connection)

    assert result.state == ConnectionState.CONNECTED and result.is_usable
    assert sf_emulator.token_is_valid(result.refresh_token)


def test_it_asks_the_caller_to_retry_while_another_worker_is_refreshing(sf_connection, token_calls):
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(
        refresh_claimed_at=timezone.now()
    )
    with pytest.raises(Transient):
        connection_refresh(connection=sf_connection)
    assert token_calls == []
    sf_connection.refresh_from_db()
    assert sf_connection.state == ConnectionState.CONNECTED


def test_it_takes_over_the_claim_of_a_worker_that_died_mid_refresh(sf_connection, token_calls):
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(
        refresh_claimed_at=timezone.now() - timedelta(hours=1)
    )
    connection = connection_refresh(connection=sf_connection)
    assert token_calls == ["refresh_token"]
    assert connection.refresh_claimed_at is None and connection.is_usable


def test_it_keeps_the_newer_token_when_another_worker_refreshed_first(sf_connection, sf_emulator):
    # Without rotation both refreshes succeed; the slower one must not overwrite the newer row.
    stale = SalesforceConnection.objects.get(pk=sf_connection.pk)
    winner = connection_refresh(connection=sf_connection)

    result = connection_refresh(connection=stale)

    assert result.token_version == winner.token_version
    assert result.access_token == winner.access_token


def test_it_reports_a_transient_error_and_stays_connected_when_salesforce_fails(
    sf_connection, sf_emulator, token_calls
):
    sf_emulator.inject_fault(method="POST", path="/services/oauth2/token", status=503)
    with pytest.raises(Transient):
        connection_refresh(connection=sf_connection)
    assert token_calls == ["refresh_token"]
    stored = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert stored.state == ConnectionState.CONNECTED and stored.is_usable
    assert stored.last_error


def test_it_ignores_an_already_revoked_token_on_disconnect(sf_connection, sf_emulator):
    sf_emulator.revoke_token(sf_connection.refresh_token)
    connection = connection_disconnect(connection=sf_connection)
    assert connection.state == ConnectionState.DISCONNECTED
    assert connection.refresh_token is None


def test_it_still_forgets_the_tokens_when_salesforce_cannot_be_reached(sf_connection, caplog):
    refresh = sf_connection.refresh_token
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(login_url="http://127.0.0.1:9")
    sf_connection.refresh_from_db()
    caplog.set_level(logging.DEBUG)

    connection = connection_disconnect(connection=sf_connection)

    assert connection.access_token is None and connection.refresh_token is None
    assert connection.state == ConnectionState.DISCONNECTED
    assert "Could not reach Salesforce to revoke" in caplog.text
    assert refresh not in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_loses_no_rotated_token_when_workers_refresh_at_once(
    salesforce_settings, sf_emulator, token_calls
):
    # R12: "stores the new token(s) atomically" — concurrent refreshes on real row locks.
    if db.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serialises every writer")
    from django.test import Client

    from tests.factories import UserFactory
    from tests.fixtures_salesforce import connect_via_emulator

    user = UserFactory()
    client = Client()
    client.force_login(user)
    connect_via_emulator(client, sf_emulator)
    token_calls.clear()
    sf_emulator.set_refresh_rotation(True)
    version = SalesforceConnection.objects.get(user=user).token_version
    start = threading.Barrier(4)
    results, errors = [], []

    def worker():
        try:
            connection = SalesforceConnection.objects.get(user=user)
            start.wait()
            results.append(connection_refresh(connection=connection))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    # Losers either use the winner's tokens or are told to retry; nobody is sent to reconnect.
    assert token_calls == ["refresh_token"]  # one worker asked Salesforce
    assert all(isinstance(exc, Transient) for exc in errors), errors
    stored = SalesforceConnection.objects.get(user=user)
    assert stored.state == ConnectionState.CONNECTED
    assert stored.token_version == version + 1
    assert sf_emulator.token_is_valid(stored.refresh_token)
    assert sf_emulator.token_is_valid(stored.access_token)
    assert [r.refresh_token for r in results] == [stored.refresh_token] * len(results)
    # The stored refresh token still works: nothing was lost.
    assert connection_refresh(connection=stored).is_usable


def test_its_refresh_service_is_keyword_only():
    with pytest.raises(TypeError):
        services.connection_refresh(None)  # type: ignore[misc]


def test_a_revoke_error_is_read_in_the_form_salesforce_answers_it(sf_connection, sf_emulator):
    # R17: the revoke endpoint answers errors form-encoded (error=invalid_token&…), not in JSON.
    from accounts.salesforce import oauth

    sf_emulator.revoke_token(sf_connection.refresh_token)
    with pytest.raises(oauth.OAuthError) as refused:
        oauth.revoke(login_url=sf_connection.login_url, token=sf_connection.refresh_token)
    assert refused.value.error == "invalid_token"
    assert refused.value.status == 400
