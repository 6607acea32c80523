"""A person's path through the product, in Debian's Chromium driven by Playwright."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def sign_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()


def test_a_task_due_today_shows_on_the_command_center_until_completed(page):
    UserFactory(username="ana", time_zone="UTC")
    sign_in(page, "ana")

    page.get_by_role("link", name="New task").first.click()
    page.get_by_label("Name").fill("Call Ana about the renewal")
    page.get_by_label("Due date").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Save").click()

    today = page.locator("#due-today")
    expect(today.get_by_text("Call Ana about the renewal")).to_be_visible()
    page.get_by_role("button", name="Complete Call Ana about the renewal").click()
    expect(page.get_by_text("Nothing due today.")).to_be_visible()
    expect(page.locator("#due-today")).to_have_count(0)


def test_an_overlong_name_shows_the_error_and_keeps_the_other_fields(page):
    UserFactory(username="ana", time_zone="UTC")
    sign_in(page, "ana")
    page.goto("/tasks/new/")
    page.get_by_label("Name").fill("n" * 256)
    page.get_by_label("Due date").fill("2026-12-24")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Details").fill("Bring the contract")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Keep the name to 255 characters (it has 256).")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("n" * 256)
    expect(page.get_by_label("Due date")).to_have_value("2026-12-24")
    expect(page.get_by_label("Priority")).to_have_value("high")
    expect(page.get_by_label("Details")).to_have_value("Bring the contract")
