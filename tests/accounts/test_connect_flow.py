"""The "Connect Salesforce" flow end to end: Django test client + the emulator over HTTP (R17)."""

import logging
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.db import connection as db
from django.urls import reverse

from accounts.models import ConnectionState, SalesforceConnection, SalesforceOrg
from accounts.services import connection_refresh
from accounts.signals import salesforce_connected, salesforce_disconnected
from tests.fixtures_salesforce import callback_params, connect_via_emulator

pytestmark = pytest.mark.usefixtures("salesforce_settings")


@contextmanager
def captured(signal):
    calls = []

    def receiver(sender, signal, **kwargs):
        calls.append(kwargs)

    signal.connect(receiver)
    try:
        yield calls
    finally:
        signal.disconnect(receiver)


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


def _with_query(url, **changes):
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    query = {k: v for k, v in query.items() if v is not None}
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_it_connects_the_demo_user_through_the_real_flow(sf_connection, sf_emulator):
    # R17
    demo = sf_emulator.demo
    assert sf_connection.org.org_id == demo.org_id
    assert sf_connection.sf_user_id == demo.user_id
    assert sf_connection.username == demo.username
    assert sf_connection.display_name == demo.display_name
    assert sf_connection.email == demo.email
    assert sf_connection.instance_url == sf_emulator.api_url
    assert sf_connection.login_url == sf_emulator.login_url
    assert sf_connection.is_sandbox is False
    assert sf_connection.issued_at and sf_connection.connected_at
    assert sf_connection.state == ConnectionState.CONNECTED
    assert sf_connection.is_usable
    assert sf_emulator.token_is_valid(sf_connection.access_token)
    assert sf_emulator.token_is_valid(sf_connection.refresh_token)


def test_it_starts_the_flow_with_pkce_state_and_the_scopes(signed_in, sf_emulator):
    # R17: web-server flow, PKCE S256, one-time state, scopes "api refresh_token".
    response = signed_in.post(reverse("salesforce_connect"))
    location = urlsplit(response["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}" == sf_emulator.login_url
    assert location.path == "/services/oauth2/authorize"
    assert query["scope"] == "api refresh_token"
    assert query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://testserver/settings/salesforce/callback/"
    flow = signed_in.session["salesforce_oauth"]
    assert query["state"] == flow["state"]
    assert flow["verifier"] not in response["Location"]


def test_it_shows_the_connection_on_the_settings_page(sf_connection, client):
    client.force_login(sf_connection.user)
    html = client.get(reverse("settings")).content.decode()
    assert sf_connection.username in html
    assert sf_connection.org.org_id in html
    assert "Production" in html and "Connected since" in html
    assert "http://testserver/settings/salesforce/callback/" in html
    assert "Reconnect" in html and "Disconnect" in html
    assert sf_connection.access_token not in html and sf_connection.refresh_token not in html


def test_it_tells_the_user_the_connection_was_cancelled_when_they_deny(
    signed_in, user, sf_emulator
):
    response = connect_via_emulator(signed_in, sf_emulator, decision="deny")
    assert response.status_code == 302
    assert any("cancelled" in m for m in _messages(response))
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_refuses_a_callback_with_a_wrong_state_and_stores_nothing(signed_in, user, sf_emulator):
    # R17: state is checked (CSRF on the callback).
    response = connect_via_emulator(
        signed_in, sf_emulator, before_callback=lambda url: _with_query(url, state="forged")
    )
    assert response.status_code == 403
    assert not SalesforceConnection.objects.filter(user=user).exists()
    assert not SalesforceOrg.objects.exists()


def test_it_refuses_a_callback_without_state(signed_in, user, sf_emulator):
    response = connect_via_emulator(
        signed_in, sf_emulator, before_callback=lambda url: _with_query(url, state=None)
    )
    assert response.status_code == 403
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_uses_the_state_only_once(signed_in, user, sf_emulator):
    replay = []
    response = connect_via_emulator(
        signed_in, sf_emulator, before_callback=lambda url: replay.append(url) or url
    )
    assert response.status_code == 302
    parts = urlsplit(replay[0])
    again = signed_in.get(f"{parts.path}?{parts.query}")
    assert again.status_code == 403


def test_it_refuses_a_callback_that_was_not_started_from_this_session(client, user, sf_emulator):
    client.force_login(user)
    response = client.get(reverse("salesforce_callback"), {"code": "aPrx123", "state": "abc"})
    assert response.status_code == 403


def test_it_stores_nothing_when_the_pkce_verifier_does_not_match(signed_in, user, sf_emulator):
    # R17: the emulator checks the verifier against the challenge.
    def tamper(url):
        session = signed_in.session
        flow = session["salesforce_oauth"]
        flow["verifier"] = "x" * 86
        session["salesforce_oauth"] = flow
        session.save()
        return url

    response = connect_via_emulator(signed_in, sf_emulator, before_callback=tamper)
    assert response.status_code == 302
    messages = _messages(response)
    assert any("did not accept the sign-in" in m and "verifier" in m for m in messages)
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_shows_an_error_from_the_token_endpoint_and_stores_nothing(signed_in, user, sf_emulator):
    def break_token_endpoint(url):
        sf_emulator.inject_fault(
            method="POST",
            path="/services/oauth2/token",
            status=400,
            error_code="invalid_grant",
            message="authentication failure",
        )
        return url

    response = connect_via_emulator(signed_in, sf_emulator, before_callback=break_token_endpoint)
    messages = _messages(response)
    assert any("did not accept the sign-in" in m for m in messages), messages
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_explains_the_missing_scope_when_salesforce_gives_no_refresh_token(
    signed_in, user, sf_emulator
):
    # The Connected App lacks "Perform requests at any time": no refresh token in the grant.
    callbacks = []
    response = connect_via_emulator(
        signed_in,
        sf_emulator,
        before_authorize=lambda url: _with_query(url, scope="api"),
        before_callback=lambda url: callbacks.append(url) or url,
    )
    messages = _messages(response)
    assert any(
        "Perform requests at any time (refresh_token, offline_access)" in m for m in messages
    )
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_stores_nothing_when_the_identity_call_fails(signed_in, user, sf_emulator):
    def break_identity(url):
        sf_emulator.inject_fault(method="GET", path="/id/.*", status=503, message="down")
        return url

    response = connect_via_emulator(signed_in, sf_emulator, before_callback=break_identity)
    messages = _messages(response)
    assert any("did not tell us who you are" in m for m in messages), messages
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_rejects_a_my_domain_url_outside_salesforce(signed_in, user):
    response = signed_in.post(
        reverse("salesforce_connect"),
        {"environment": "my_domain", "my_domain": "https://evil.example.com"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("settings"))
    assert any("my.salesforce.com" in m for m in _messages(response))
    assert "salesforce_oauth" not in signed_in.session


def test_it_sends_a_sandbox_user_to_test_salesforce_com(signed_in):
    response = signed_in.post(reverse("salesforce_connect"), {"environment": "sandbox"})
    assert response["Location"].startswith("https://test.salesforce.com/services/oauth2/authorize?")
    assert signed_in.session["salesforce_oauth"]["is_sandbox"] is True


def test_it_sends_a_my_domain_user_to_their_domain(signed_in):
    response = signed_in.post(
        reverse("salesforce_connect"),
        {"environment": "my_domain", "my_domain": "acme--uat.sandbox.my.salesforce.com"},
    )
    assert response["Location"].startswith(
        "https://acme--uat.sandbox.my.salesforce.com/services/oauth2/authorize?"
    )
    assert signed_in.session["salesforce_oauth"]["is_sandbox"] is True


def test_it_resumes_the_same_row_when_the_same_salesforce_user_reconnects(
    sf_connection, client, sf_emulator
):
    # R17: reconnecting the same Salesforce user resumes.
    client.force_login(sf_connection.user)
    old_access = sf_connection.access_token
    with captured(salesforce_connected) as calls:
        response = connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    assert response.status_code == 302
    connection = SalesforceConnection.objects.get(user=sf_connection.user)
    assert connection.pk == sf_connection.pk
    assert connection.token_version == sf_connection.token_version + 1
    assert connection.access_token != old_access
    assert calls == [
        {
            "connection": calls[0]["connection"],
            "is_new_identity": False,
            "previous_org_id": sf_emulator.demo.org_id,
            "previous_sf_user_id": sf_emulator.demo.user_id,
        }
    ]


def test_it_recovers_a_connection_that_needed_reconnect(sf_connection, client, sf_emulator):
    # R12: "reconnect Salesforce" state, then the user reconnects.
    sf_emulator.revoke_refresh_tokens()
    with pytest.raises(Exception):  # noqa: B017 - NeedsReconnect, checked in test_connect_refresh
        connection_refresh(connection=sf_connection)
    client.force_login(sf_connection.user)
    html = client.get(reverse("settings")).content.decode()
    assert "Reconnect Salesforce." in html and "expired access/refresh token" in html
    connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    sf_connection.refresh_from_db()
    assert sf_connection.state == ConnectionState.CONNECTED and sf_connection.is_usable


def _other_salesforce_user(sf_emulator):
    org = sf_emulator.create_org("Globex")
    return sf_emulator.create_user(org["id"], "rita@globex.example", password="pw-rita")


def test_it_warns_before_connecting_a_different_account(sf_connection, client):
    client.force_login(sf_connection.user)
    response = client.post(
        reverse("salesforce_connect"), {"intent": "switch", "environment": "production"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f"You are connected as {sf_connection.username} in org {sf_connection.org.org_id}" in html
    )
    assert "starts fresh" in html
    assert 'name="confirm_switch" value="1"' in html
    assert "salesforce_oauth" not in client.session


def test_it_does_not_switch_accounts_without_the_confirm_step(sf_connection, client, sf_emulator):
    other = _other_salesforce_user(sf_emulator)
    client.force_login(sf_connection.user)
    callbacks = []
    response = connect_via_emulator(
        client,
        sf_emulator,
        username=other["username"],
        password="pw-rita",
        before_callback=lambda url: callbacks.append(url) or url,
    )
    assert any("Nothing was changed" in m for m in _messages(response))
    connection = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert connection.sf_user_id == sf_emulator.demo.user_id
    assert connection.access_token == sf_connection.access_token


def test_it_switches_to_another_org_after_the_confirm_step(sf_connection, client, sf_emulator):
    # R17: a different Salesforce user or org starts fresh.
    other = _other_salesforce_user(sf_emulator)
    client.force_login(sf_connection.user)
    with captured(salesforce_connected) as calls:
        connect_via_emulator(
            client,
            sf_emulator,
            username=other["username"],
            password="pw-rita",
            data={"intent": "switch", "confirm_switch": "1", "environment": "production"},
        )
    connection = SalesforceConnection.objects.get(user=sf_connection.user)
    assert connection.pk == sf_connection.pk
    assert (connection.org.org_id, connection.sf_user_id) == (other["org_id"], other["id"])
    assert len(calls) == 1
    assert calls[0]["is_new_identity"] is True
    assert calls[0]["previous_org_id"] == sf_emulator.demo.org_id
    assert calls[0]["previous_sf_user_id"] == sf_emulator.demo.user_id


def test_it_revokes_the_token_and_forgets_it_on_disconnect(sf_connection, client, sf_emulator):
    # R17: disconnecting revokes at Salesforce and deletes the stored tokens; the identity stays.
    refresh, access = sf_connection.refresh_token, sf_connection.access_token
    client.force_login(sf_connection.user)
    with captured(salesforce_disconnected) as calls:
        response = client.post(reverse("salesforce_disconnect"))
    assert response.status_code == 302
    assert sf_emulator.token_is_revoked(refresh)
    assert not sf_emulator.token_is_valid(access)
    connection = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert connection.access_token is None and connection.refresh_token is None
    assert connection.state == ConnectionState.DISCONNECTED and not connection.is_usable
    assert connection.sf_user_id == sf_emulator.demo.user_id  # kept, so a reconnect resumes
    assert [c["connection"].pk for c in calls] == [connection.pk]
    html = client.get(reverse("settings")).content.decode()
    assert "Disconnected." in html


def test_it_refuses_to_disconnect_with_a_get(sf_connection, client):
    client.force_login(sf_connection.user)
    assert client.get(reverse("salesforce_disconnect")).status_code == 405
    sf_connection.refresh_from_db()
    assert sf_connection.is_usable


def test_it_keeps_tokens_out_of_the_database_and_the_logs(signed_in, user, sf_emulator, caplog):
    # R17: tokens are encrypted at rest and never logged; codes and verifiers never logged.
    caplog.set_level(logging.DEBUG)
    seen = {}

    def remember(url):
        seen["code"] = callback_params(url)["code"]
        seen["verifier"] = signed_in.session["salesforce_oauth"]["verifier"]
        return url

    connect_via_emulator(signed_in, sf_emulator, before_callback=remember)
    sf_emulator.set_refresh_rotation(True)
    first = SalesforceConnection.objects.get(user=user)
    secrets = [first.access_token, first.refresh_token, seen["code"], seen["verifier"]]
    refreshed = connection_refresh(connection=first)
    secrets += [refreshed.access_token, refreshed.refresh_token]

    dump = _dump_every_table()
    logs = caplog.text + "".join(str(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in dump
        assert secret not in logs


def _dump_every_table() -> str:
    chunks = []
    with db.cursor() as cursor:
        for table in db.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {db.ops.quote_name(table)}")  # noqa: S608
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


def test_it_shows_the_connection_in_spanish(sf_connection, client):
    sf_connection.user.language = "es"
    sf_connection.user.save(update_fields=["language"])
    client.force_login(sf_connection.user)
    html = client.get(reverse("settings")).content.decode()
    assert "Conectado desde" in html and "Desconectar" in html and "Volver a conectar" in html
    assert "URL de retorno (callback) para la Connected App" in html
    assert "Connected since" not in html


def test_it_resumes_after_a_disconnect_when_the_same_user_connects_again(
    sf_connection, client, sf_emulator
):
    # R17: links are kept, so reconnecting the same Salesforce user resumes the same row.
    client.force_login(sf_connection.user)
    client.post(reverse("salesforce_disconnect"))
    with captured(salesforce_connected) as calls:
        connect_via_emulator(client, sf_emulator, data={"intent": "connect"})
    connection = SalesforceConnection.objects.get(user=sf_connection.user)
    assert connection.pk == sf_connection.pk and connection.is_usable
    assert calls[0]["is_new_identity"] is False
