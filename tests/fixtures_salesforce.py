"""Salesforce fixtures for the whole suite (registered as a plugin by tests/conftest.py).

- ``salesforce_settings``: Django settings pointed at the emulator (login host, Connected App
  credentials, CA bundle) with SITE_URL = the test client's host and its callback URL registered.
- ``sf_connection``: a user with a real SalesforceConnection, obtained through the real "Connect
  Salesforce" flow against the emulator (Django test client + the emulator's authorize page).
- ``connect_via_emulator(client, emulator, …)``: that flow as a function, for tests that need
  another user, a Deny, a different Salesforce user, or to tamper with a step.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

TEST_SITE_URL = "http://testserver"


class _FormParser(HTMLParser):
    """The first form's action and its input values, as a browser would submit them."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}
        self._in_form = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and self.action is None:
            self.action, self._in_form = attrs.get("action") or "", True
        elif (
            tag == "input"
            and self._in_form
            and attrs.get("name")
            and attrs.get("type") in ("hidden", "text", "password", None)
        ):
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self._in_form = False


def _form(response: requests.Response) -> tuple[str, dict[str, str]]:
    parser = _FormParser()
    parser.feed(response.text)
    assert parser.action is not None, f"no form on {response.url}: {response.text[:500]}"
    return urljoin(response.url, parser.action), parser.fields


def authorize_in_emulator(
    authorize_url: str, *, username: str, password: str, decision: str = "allow"
) -> str:
    """Sign in on the emulator's authorize page and click Allow or Deny, like a person would.
    Returns the callback URL the emulator redirects to (with ``code`` or ``error`` and ``state``).
    """
    browser = requests.Session()
    browser.trust_env = False  # the login host is plain http on 127.0.0.1
    page = browser.get(authorize_url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    action, fields = _form(page)
    fields.update(username=username, password=password)
    consent = browser.post(action, data=fields, timeout=30)
    assert consent.status_code == 200 and "Allow" in consent.text, consent.text[:500]
    action, fields = _form(consent)
    fields["action"] = decision
    answer = browser.post(action, data=fields, allow_redirects=False, timeout=30)
    assert answer.status_code in (301, 302, 303), answer.text[:500]
    return answer.headers["Location"]


def callback_params(callback_url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}


def connect_via_emulator(
    client: Client,
    emulator,
    *,
    username: str | None = None,
    password: str | None = None,
    decision: str = "allow",
    data: dict | None = None,
    before_authorize=None,
    before_callback=None,
):
    """Run "Connect Salesforce" end to end for the client's signed-in user.

    ``data`` are the connect form's fields (default: none, a plain connect); the form is
    POSTed, as the settings page does (R17: a GET starts nothing). ``before_authorize``
    (authorize_url → authorize_url) and ``before_callback`` (callback_url → callback_url) may
    tamper with a redirect before it is followed.
    Returns the Django response to the callback.
    """
    url = reverse("salesforce_connect")
    start = client.post(url, data or {})
    assert start.status_code == 302, start.content[:500]
    authorize_url = start["Location"]
    if before_authorize is not None:
        authorize_url = before_authorize(authorize_url)
    callback = authorize_in_emulator(
        authorize_url,
        username=username or emulator.demo.username,
        password=password or emulator.demo.password,
        decision=decision,
    )
    if before_callback is not None:
        callback = before_callback(callback)
    parts = urlsplit(callback)
    assert parts.path == reverse("salesforce_callback"), callback
    return client.get(f"{parts.path}?{parts.query}")


@pytest.fixture
def salesforce_settings(settings, sf_emulator):
    settings.SALESFORCE_LOGIN_URL = sf_emulator.login_url
    settings.SALESFORCE_CLIENT_ID = sf_emulator.demo.client_id
    settings.SALESFORCE_CLIENT_SECRET = sf_emulator.demo.client_secret
    settings.SALESFORCE_CA_BUNDLE = sf_emulator.ca_bundle
    settings.SITE_URL = TEST_SITE_URL
    sf_emulator.add_callback_url(TEST_SITE_URL + reverse("salesforce_callback"))
    return settings


@pytest.fixture
def sf_connection(db, salesforce_settings, sf_emulator):
    """A SalesforceConnection for a fresh user (``sf_connection.user``), connected as the
    emulator's demo user through the real OAuth flow."""
    from accounts.models import SalesforceConnection

    user = UserFactory()
    client = Client()
    client.force_login(user)
    response = connect_via_emulator(client, sf_emulator)
    assert response.status_code == 302, response.content[:500]
    return SalesforceConnection.objects.select_related("org", "user").get(user=user)
