"""An operator's path through the admin, in Debian's Chromium driven by Playwright (R14)."""

import pytest
from playwright.sync_api import expect

from tasksync.models import SyncRun
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_resyncs_a_user_from_the_admin_and_shows_the_new_run(page, syncing):
    # R14: "resync" queues a run through django-q2 (inline here) that appears in the runs list.
    UserFactory(username="root", is_staff=True, is_superuser=True)
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Sync states").click()

    row = page.locator("#result_list tbody tr", has_text=syncing.username)
    row.get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Resync (repair the last 15 days)")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_text("Queued 1 user for resync.")).to_be_visible()

    page.goto("/admin/tasksync/syncrun/?trigger__exact=resync")
    runs = page.locator("#result_list tbody tr")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text(syncing.username)
    expect(runs.first).to_contain_text("Success")
    assert SyncRun.objects.filter(user=syncing, trigger="resync", outcome="success").exists()
