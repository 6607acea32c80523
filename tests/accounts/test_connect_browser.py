"""Connect Salesforce in a real browser: Chromium, the live server and the emulator (R17)."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import ConnectionState, SalesforceConnection
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def site(salesforce_settings, live_server, sf_emulator):
    salesforce_settings.SITE_URL = live_server.url
    sf_emulator.add_callback_url(live_server.url + reverse("salesforce_callback"))
    return live_server


def sign_in_and_open_settings(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/settings/")


def authorize_on_salesforce(page, emulator, decision):
    expect(page.get_by_role("heading", name="Log in to Salesforce")).to_be_visible()
    page.get_by_label("Username").fill(emulator.demo.username)
    page.get_by_label("Password").fill(emulator.demo.password)
    page.get_by_role("button", name="Log In").click()
    expect(page.get_by_role("heading", name="Allow Access?")).to_be_visible()
    page.get_by_role("button", name=decision).click()


def test_it_connects_salesforce_from_the_settings_page(page, site, sf_emulator):
    # R17: the whole flow, as a person clicks through it.
    user = UserFactory(username="ana")
    sign_in_and_open_settings(page, "ana")
    expect(page.locator("#sf-callback-url")).to_have_text(
        site.url + "/settings/salesforce/callback/"
    )

    page.get_by_role("button", name="Connect Salesforce").click()
    authorize_on_salesforce(page, sf_emulator, "Allow")

    expect(page).to_have_url(re.compile(r"/settings/"))
    expect(
        page.get_by_text(f"Salesforce is connected as {sf_emulator.demo.username}.")
    ).to_be_visible()
    expect(page.locator("#sf-state")).to_have_text("Connected")
    expect(page.locator("#sf-org")).to_have_text(sf_emulator.demo.org_id)
    expect(page.get_by_role("button", name="Disconnect")).to_be_visible()
    connection = SalesforceConnection.objects.get(user=user)
    assert connection.state == ConnectionState.CONNECTED and connection.is_usable


def test_it_says_cancelled_when_the_user_denies_access(page, site, sf_emulator):
    user = UserFactory(username="ana")
    sign_in_and_open_settings(page, "ana")

    page.get_by_role("button", name="Connect Salesforce").click()
    authorize_on_salesforce(page, sf_emulator, "Deny")

    expect(
        page.get_by_text("Connecting Salesforce was cancelled. Nothing was changed.")
    ).to_be_visible()
    expect(page.locator("#sf-state")).to_have_text("No Salesforce account is connected.")
    assert not SalesforceConnection.objects.filter(user=user).exists()


def test_it_disconnects_from_the_settings_page(page, site, sf_emulator):
    user = UserFactory(username="ana")
    sign_in_and_open_settings(page, "ana")
    page.get_by_role("button", name="Connect Salesforce").click()
    authorize_on_salesforce(page, sf_emulator, "Allow")
    refresh_token = SalesforceConnection.objects.get(user=user).refresh_token

    page.get_by_role("button", name="Disconnect").click()

    expect(
        page.get_by_text("Salesforce is disconnected and its tokens are deleted.", exact=False)
    ).to_be_visible()
    assert sf_emulator.token_is_revoked(refresh_token)
    assert SalesforceConnection.objects.get(user=user).state == ConnectionState.DISCONNECTED
