"""Screenshots of the rep's pages for docs/screenshots/ (R14). Skipped unless SCREENSHOTS names
the folder: ``SCREENSHOTS=docs/screenshots .venv/bin/pytest tests/browser/test_screenshots.py``.
"""

import os
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tasksync.demo import demo_seed_salesforce
from tasksync.models import OutboundChange
from tasksync.services import sync as sync_services
from tasksync.services import tasks as task_services
from tests.conftest import PASSWORD
from tests.fixtures_sync import link_of

FOLDER = os.environ.get("SCREENSHOTS", "")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not FOLDER, reason="set SCREENSHOTS=<folder> to take screenshots"),
]


def test_take_screenshots_of_the_rep_pages(
    page, rep, turn_on, run, sf_emulator, sf_emulator_server
):
    out = Path(FOLDER)
    out.mkdir(parents=True, exist_ok=True)
    demo_seed_salesforce(data_dir=sf_emulator_server.data_dir)
    turn_on()
    task = task_services.task_create(user=rep, name="Send the pricing sheet to Initech")
    gone = task_services.task_create(user=rep, name="Lunch with the Globex team")
    run()
    sf_emulator.delete_task(link_of(gone).sf_id)
    run()
    OutboundChange.objects.create(
        task=task_services.task_create(user=rep, name="A task Salesforce refused"),
        user=rep,
        operation="create",
        state="failed",
        last_error="FIELD_CUSTOM_VALIDATION_EXCEPTION: Subject may not contain 'refused'",
    )
    assert task.pk
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/login/")
    page.get_by_label("Username").fill(rep.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()
    page.screenshot(path=out / "command-center.png", full_page=True)
    page.goto("/tasks/?show=overdue")
    page.screenshot(path=out / "tasks-overdue.png", full_page=True)
    page.goto("/tasks/")
    page.screenshot(path=out / "tasks.png", full_page=True)
    page.goto("/settings/")
    expect(page.locator("#sync-summary")).to_be_visible()
    page.screenshot(path=out / "settings.png", full_page=True)
    page.get_by_text("Advanced", exact=True).click()
    page.screenshot(path=out / "settings-advanced.png", full_page=True)
    sync_services.sync_pause(user=rep)
    page.goto("/")
    expect(page.locator('[data-trouble="staff"]')).to_be_visible()
    page.screenshot(path=out / "command-center-paused.png", full_page=True)
    assert timezone.now()
