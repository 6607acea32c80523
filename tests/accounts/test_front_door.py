"""The front door of the Salesforce connection (R17): connect and cancel only by POST with CSRF,
token responses that point outside Salesforce refused (connect and refresh), the previous grant
revoked when a different Salesforce user is connected. Django test client + the emulator."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ConnectionState, SalesforceConnection
from accounts.salesforce import oauth
from accounts.salesforce.errors import NeedsReconnect
from accounts.services import connection_refresh
from tests.fixtures_salesforce import connect_via_emulator

pytestmark = pytest.mark.usefixtures("salesforce_settings")


def _messages(response):
    return [str(m) for m in response.wsgi_request._messages]


# -- R17: starting and cancelling a connect are POSTs with CSRF ------------------------------------
def test_a_get_of_the_connect_url_starts_nothing(signed_in):
    # R17: a cross-site GET (an <img>, a link) must not start a silent re-connect.
    response = signed_in.get(reverse("salesforce_connect"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("settings"))
    assert "salesforce_oauth" not in signed_in.session


def test_a_get_does_not_replace_a_connect_in_progress(signed_in):
    # R17: a cross-site GET used to overwrite the state, so the rep's real callback then failed.
    signed_in.post(reverse("salesforce_connect"))
    flow = dict(signed_in.session["salesforce_oauth"])
    signed_in.get(reverse("salesforce_connect"))
    signed_in.get(reverse("salesforce_connect_cancel"))
    assert signed_in.session["salesforce_oauth"] == flow


def test_starting_a_connect_needs_the_csrf_token(user):
    # R17: a cross-site POST carries no CSRF token and is refused.
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(reverse("salesforce_connect")).status_code == 403
    assert client.post(reverse("salesforce_connect_cancel")).status_code == 403
    assert "salesforce_oauth" not in client.session


def test_cancelling_forgets_the_connect_in_progress(signed_in, user, sf_emulator):
    # R17: after Cancel, Salesforce's callback for that attempt stores nothing.
    callbacks = []

    def cancel_first(url):
        callbacks.append(url)
        response = signed_in.post(reverse("salesforce_connect_cancel"))
        assert any("cancelled" in m for m in _messages(response))
        return url

    response = connect_via_emulator(signed_in, sf_emulator, before_callback=cancel_first)
    assert response.status_code == 403
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_the_confirm_page_cancels_with_a_post(sf_connection, client):
    client.force_login(sf_connection.user)
    html = client.post(
        reverse("salesforce_connect"), {"intent": "switch", "environment": "production"}
    ).content.decode()
    assert f'action="{reverse("salesforce_connect_cancel")}"' in html
    assert 'method="post"' in html


# -- R17: instance and identity URLs only on Salesforce's domains ----------------------------------
@pytest.mark.parametrize(
    "url",
    [
        "https://na1.salesforce.com",
        "https://acme.my.salesforce.com/",
        "https://acme--uat.sandbox.my.salesforce.com",
        "https://login.salesforce.com/id/00D000000000001AAA/005000000000001AAA",
        "https://acme.lightning.force.com",
        "https://acme.my.salesforce.mil",
    ],
)
def test_it_trusts_salesforce_hosts(url, settings):
    settings.SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
    assert oauth.trusted_salesforce_url(url, what="URL") == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "https://evil.example.com",
        "https://salesforce.com.evil.example",
        "https://evilsalesforce.com",
        "http://na1.salesforce.com",
        "https://na1.salesforce.com:8443",
        "https://attacker@na1.salesforce.com",
        "javascript:alert(1)//.salesforce.com",
        "https://na1.salesforce.com/#@evil.example",
        "//na1.salesforce.com",
        "https://127.0.0.1",
    ],
)
def test_it_refuses_anything_else(url, settings):
    settings.SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
    with pytest.raises(oauth.OAuthError):
        oauth.trusted_salesforce_url(url, what="URL")
    assert oauth.safe_link(url) == ""


def test_it_trusts_the_configured_login_hosts_family(settings):
    # A Government Cloud or other configured login host: its domain family is Salesforce's.
    settings.SALESFORCE_LOGIN_URL = "https://login.example-gov.us"
    assert oauth.trusted_salesforce_url("https://acme.my.example-gov.us", what="URL")
    with pytest.raises(oauth.OAuthError):
        oauth.trusted_salesforce_url("https://acme.my.example.us", what="URL")


def _fake_token_answer(sf_emulator, **changes):
    """A real grant of the demo user (from the emulator's back door) with some URLs changed,
    served by the token endpoint in place of its own answer."""
    tokens = dict(sf_emulator.tokens())
    tokens.update(changes)
    sf_emulator.inject_fault(method="POST", path="/services/oauth2/token", status=200, body=tokens)
    return tokens


@pytest.mark.parametrize(
    "changes",
    [
        {"instance_url": "https://evil.example.com"},
        {"instance_url": "http://na1.salesforce.com"},
        {"instance_url": ""},
        # Unsigned (the signature covers the id when it is sent).
        {
            "id": "https://evil.example.com/id/00D8aDEMO000001EPA/0058aDEMO000001APA",
            "signature": "",
        },
    ],
)
def test_a_connect_whose_answer_points_outside_salesforce_is_refused(
    changes, signed_in, user, sf_emulator
):
    # R17: nothing is stored, the grant is revoked, and the rep is told why.
    answers = []

    def serve_tampered_answer(url):
        answers.append(_fake_token_answer(sf_emulator, **changes))
        return url

    response = connect_via_emulator(signed_in, sf_emulator, before_callback=serve_tampered_answer)
    assert any("outside Salesforce" in m for m in _messages(response)), _messages(response)
    assert not SalesforceConnection.objects.filter(user=user).exists()
    assert sf_emulator.token_is_revoked(answers[0]["refresh_token"])


def test_a_refresh_whose_answer_points_outside_salesforce_is_not_stored(sf_connection, sf_emulator):
    # R17: the refresh's instance_url is checked like the connect's; the connection stops.
    old_access, old_instance = sf_connection.access_token, sf_connection.instance_url
    sf_emulator.inject_fault(
        method="POST",
        path="/services/oauth2/token",
        status=200,
        body={
            "access_token": "00Dfake!stolen",
            "instance_url": "https://evil.example.com",
            "issued_at": "1700000000000",
            "token_type": "Bearer",
        },
    )
    with pytest.raises(NeedsReconnect):
        connection_refresh(connection=sf_connection)
    stored = SalesforceConnection.objects.get(pk=sf_connection.pk)
    assert stored.instance_url == old_instance
    assert stored.access_token == old_access
    assert stored.state == ConnectionState.NEEDS_RECONNECT


def test_a_refresh_on_salesforces_hosts_is_stored(sf_connection, sf_emulator):
    refreshed = connection_refresh(connection=sf_connection)
    assert refreshed.instance_url == sf_emulator.api_url
    assert refreshed.is_usable


# -- R17: connecting a different Salesforce user revokes the previous grant --------------------
def test_switching_to_another_salesforce_user_revokes_the_previous_grant(
    sf_connection, client, sf_emulator
):
    org = sf_emulator.create_org("Globex")
    other = sf_emulator.create_user(org["id"], "rita@globex.example", password="pw-rita")
    old_refresh, old_access = sf_connection.refresh_token, sf_connection.access_token
    client.force_login(sf_connection.user)
    connect_via_emulator(
        client,
        sf_emulator,
        username=other["username"],
        password="pw-rita",
        data={"intent": "switch", "confirm_switch": "1", "environment": "production"},
    )
    connection = SalesforceConnection.objects.get(user=sf_connection.user)
    assert connection.sf_user_id == other["id"]
    assert sf_emulator.token_is_revoked(old_refresh)
    assert not sf_emulator.token_is_valid(old_access)
    assert sf_emulator.token_is_valid(connection.refresh_token)


def test_reconnecting_the_same_salesforce_user_keeps_working(sf_connection, client, sf_emulator):
    client.force_login(sf_connection.user)
    connect_via_emulator(client, sf_emulator, data={"environment": "current"})
    connection = SalesforceConnection.objects.get(user=sf_connection.user)
    assert sf_emulator.token_is_valid(connection.refresh_token)
    assert connection.is_usable


# -- R17: nothing unvalidated is rendered as a link ------------------------------------------------
def test_the_connection_admin_links_only_a_trusted_instance(sf_connection, admin_client):
    from accounts.models import SalesforceOrg

    pages = [
        reverse("admin:accounts_salesforceconnection_change", args=[sf_connection.pk]),
        reverse("admin:accounts_salesforceorg_change", args=[sf_connection.org.pk]),
        reverse("admin:accounts_salesforceorg_changelist"),
    ]
    for page in pages:
        assert f'href="{sf_connection.instance_url}"' in admin_client.get(page).content.decode()
    # Stored before instance URLs were checked, or written behind the app's back:
    SalesforceConnection.objects.filter(pk=sf_connection.pk).update(
        instance_url="https://evil.example.com", login_url="https://evil.example.com"
    )
    SalesforceOrg.objects.filter(pk=sf_connection.org.pk).update(
        instance_url="https://evil.example.com"
    )
    for page in pages:
        html = admin_client.get(page).content.decode()
        assert "https://evil.example.com" in html  # shown, as text
        assert 'href="https://evil.example.com' not in html
