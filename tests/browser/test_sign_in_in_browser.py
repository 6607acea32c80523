"""The front door in Debian's Chromium (R17): a locked sign-in says so; a rep changes their
password; GET /logout/ offers the Sign out button."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _try(page, username, password):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_repeated_wrong_passwords_lock_the_sign_in_and_the_page_says_so(page):
    # R17: throttled after repeated failures, with a message that says so.
    UserFactory(username="ana", time_zone="UTC")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _try(page, "ana", "not my password")
        expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    _try(page, "ana", "not my password")
    expect(page.locator("#signin-locked")).to_contain_text("Too many failed sign-ins")
    expect(page.locator("#signin-locked")).to_contain_text("locked for 15 minutes")
    _try(page, "ana", PASSWORD)  # the right password, too soon
    expect(page.locator("#signin-locked")).to_be_visible()
    expect(page.get_by_role("heading", name="Command Center")).to_have_count(0)


def test_a_rep_changes_their_password_from_settings(page):
    UserFactory(username="ana", time_zone="UTC")
    _try(page, "ana", PASSWORD)
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()
    page.goto("/settings/")
    page.get_by_role("link", name="Change your password").click()
    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a much longer new secret 42")
    page.get_by_label("New password confirmation").fill("a much longer new secret 42")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    page.goto("/logout/")  # typed or bookmarked: a page with the button, not a blank 405
    page.get_by_role("button", name="Sign out").last.click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    _try(page, "ana", "a much longer new secret 42")
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()
