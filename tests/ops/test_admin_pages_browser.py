"""The run page, a task's History, the health page and the rule book, in Chromium (issue 14)."""

import os

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tasksync.models import SyncEvent, SyncRun
from tasksync.services import tasks as task_services
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("TASKSYNC_SCREENSHOTS")  # a folder, to look at the pages


def _shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"admin-{name}.png"))


def _sign_in(page):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    return root


def test_it_pages_through_a_runs_events_and_opens_a_tasks_history(page):
    # R14, issue 16 B5: 100 events a page on the run's page; the task's History lists its own.
    root = _sign_in(page)
    task = task_services.task_create(user=root, name="Call Ana about the renewal")
    run = SyncRun.objects.create(
        user=root, trigger="first_sync", started_at=timezone.now(), outcome="success"
    )
    SyncEvent.objects.bulk_create(
        SyncEvent(
            run=run,
            user=root,
            task=task,
            sf_id=f"00T8a{i:013d}",
            direction="pull",
            action="import",
            changes={"name": [None, "Call Ana about the renewal"]},
        )
        for i in range(230)
    )
    page.goto(f"/admin/tasksync/syncrun/{run.pk}/change/")
    events = page.locator("#run-events table.sync-events tbody tr")
    expect(events).to_have_count(100)
    expect(page.locator("#run-events-pages")).to_contain_text("page 1 of 3")
    _shot(page, "run-page")
    page.get_by_role("link", name="next ›").click()
    expect(page.locator("#run-events-pages")).to_contain_text("Events 101–200, page 2 of 3")
    page.goto(f"/admin/tasksync/remindertask/{task.pk}/change/")
    page.get_by_role("link", name="History").click()
    expect(page.locator("#sync-history tbody tr")).to_have_count(50)
    expect(page.locator("#sync-history")).to_contain_text("The latest 50 events.")
    _shot(page, "task-history")
    page.get_by_role("link", name="All of this task's sync events").click()
    expect(page.locator("#result_list tbody tr")).to_have_count(100)  # the list's own paging


def test_it_links_the_health_page_and_the_rule_book(page):
    _sign_in(page)
    page.goto("/admin/")
    _shot(page, "index")
    page.get_by_role("link", name="Sync health").click()
    expect(page.locator("#runs-chart text.hour")).to_have_count(24)
    _shot(page, "health")
    page.get_by_role("link", name="R13").click()
    expect(page.locator("#r13-api-budget")).to_be_visible()
    expect(page).to_have_url(page.url.split("#")[0] + "#r13-api-budget")
    _shot(page, "rule-book")
