"""R3/R4 in a browser: tick the checkbox, watch the import's progress, see today's tasks."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ticking_the_checkbox_imports_with_progress_and_fills_the_command_center(
    page, sf_connection, sf_emulator, worker_thread
):
    user = sf_connection.user
    today = timezone.localdate(timezone=user.zone).isoformat()
    sf_emulator.create_tasks(
        [{"Subject": f"Imported {i}", "ActivityDate": today} for i in range(450)]
        + [{"Subject": "Due today from Salesforce", "ActivityDate": today, "Priority": "High"}]
    )
    # Slow pages so the import is still running when the page comes back.
    # The first sync is one Composite call (issue 16), a later poll a plain queryAll.
    sf_emulator.set_latency(1.0, path="query|composite$")

    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/settings/")
    page.get_by_label("Sync my tasks with Salesforce").check()
    page.get_by_role("button", name="Save sync settings").click()

    expect(page.locator("#sync-progress")).to_contain_text("Importing", timeout=10_000)
    # The page follows the import by itself and shows "On" when it ends.
    expect(page.locator("#sync-phase")).to_have_text("On", timeout=30_000)

    page.goto("/")
    today_list = page.locator("#due-today")
    expect(today_list.get_by_text("Due today from Salesforce")).to_be_visible()
    expect(today_list.locator("li.task")).to_have_count(451)
