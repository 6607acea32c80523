"""Who lifts a pause, in Debian's Chromium (R14): Reconnect → Allow resumes sync with nothing else
to click; a staff pause holds whatever the rep clicks, until staff resume it."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tasksync.services import tasks as task_services
from tasksync.services.sync import sync_enable
from tasksync.sync.engine import sync_user
from tests.conftest import PASSWORD
from tests.factories import UserFactory
from tests.fixtures_sync import state_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def syncing_rep(salesforce_settings, live_server, sf_emulator, sf_connection):
    """A rep connected to the emulator's demo user, sync on, the first sync done; the live
    server's callback URL registered (jobs run inline, as the test settings say)."""
    salesforce_settings.SITE_URL = live_server.url
    sf_emulator.add_callback_url(live_server.url + reverse("salesforce_callback"))
    rep = sf_connection.user
    sync_enable(user=rep)
    assert sync_user(user_id=rep.pk, trigger="first_sync").outcome == "success"
    return rep


def _sign_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()


def _subjects(sf_emulator):
    return [t["Subject"] for t in sf_emulator.tasks(include_deleted=False)]


def test_reconnect_then_allow_resumes_the_sync_and_sends_what_waited(
    page, syncing_rep, sf_emulator
):
    # R14: "Reconnecting Salesforce after a reconnect pause resumes sync at once, with nothing
    # else to click."
    sf_emulator.expire_access_tokens()
    sf_emulator.revoke_refresh_tokens()
    sync_user(user_id=syncing_rep.pk, trigger="poll")
    assert (state_of(syncing_rep).phase, state_of(syncing_rep).pause_reason) == (
        "paused",
        "reconnect",
    )
    task_services.task_create(user=syncing_rep, name="Waited for the reconnect")

    _sign_in(page, syncing_rep.username)
    page.goto("/settings/")
    expect(page.locator("#sf-needs-reconnect")).to_be_visible()
    page.get_by_role("button", name="Reconnect", exact=True).click()
    expect(page.get_by_role("heading", name="Log in to Salesforce")).to_be_visible()
    page.get_by_label("Username").fill(sf_emulator.demo.username)
    page.get_by_label("Password").fill(sf_emulator.demo.password)
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("button", name="Allow").click()

    expect(page).to_have_url(re.compile(r"/settings/"))
    expect(page.locator("#sf-state")).to_have_text("Connected")
    expect(page.locator("#sf-needs-reconnect")).to_have_count(0)
    expect(page.locator("#sync-phase")).to_have_text("On")
    assert "Waited for the reconnect" in _subjects(sf_emulator)
    assert (state_of(syncing_rep).phase, state_of(syncing_rep).pause_reason) == ("on", "")


def test_a_staff_pause_holds_whatever_the_rep_clicks_until_staff_resume(
    page, browser, live_server, syncing_rep, sf_emulator
):
    # R14: "A rep's Sync now never lifts a pause that staff set."
    UserFactory(username="root", is_staff=True, is_superuser=True)
    staff = browser.new_context(base_url=live_server.url).new_page()
    _sign_in(staff, "root")

    def staff_action(name):
        staff.goto("/admin/tasksync/syncstate/")
        staff.locator("input[name=_selected_action]").first.check()
        staff.locator("select[name=action]").select_option(name)
        staff.get_by_role("button", name="Go").click()

    staff_action("pause")
    expect(staff.get_by_text("Paused 1 user.")).to_be_visible()

    task_services.task_create(user=syncing_rep, name="Waits for staff")
    _sign_in(page, syncing_rep.username)
    page.goto("/settings/")
    expect(page.locator("#sync-plain")).to_contain_text("paused your sync")
    expect(page.get_by_role("button", name="Sync now")).to_have_count(0)
    # The rep's "Sync now" by hand (an old tab, a bookmark of the form) lifts nothing either.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    page.request.post(
        "/settings/sync/now/",
        headers={"X-CSRFToken": token, "Referer": live_server.url + "/settings/"},
    )
    assert (state_of(syncing_rep).phase, state_of(syncing_rep).pause_reason) == (
        "paused",
        "staff",
    )
    assert "Waits for staff" not in _subjects(sf_emulator)

    staff_action("resume")
    expect(staff.get_by_text("Resumed 1 user.")).to_be_visible()
    page.goto("/settings/")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-phase")).to_have_text("On")
    assert "Waits for staff" in _subjects(sf_emulator)
