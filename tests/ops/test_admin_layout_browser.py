"""The sync log's lists fit a 1280-pixel-wide screen (issue 14), in Debian's Chromium."""

import os

import pytest
from django.utils import timezone

from tasksync.models import SyncConflict, SyncEvent, SyncRun
from tasksync.services import tasks as task_services
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = os.environ.get("TASKSYNC_SCREENSHOTS")  # a folder, to look at the pages


def _wide_log(user):
    """Rows as wide as real ones get: long names, messages and values, 18-character ids."""
    run = SyncRun.objects.create(
        user=user, trigger="poll", started_at=timezone.now(), outcome="partial", failed=1
    )
    for i in range(20):
        task = task_services.task_create(
            user=user, name=f"Follow up with the procurement committee about renewal {i} " * 3
        )
        SyncEvent.objects.create(
            run=run,
            user=user,
            task=task,
            sf_id=f"00T8a00000{i:08d}",
            direction="push",
            action="update",
            changes={
                "details": ["A long comment written in Salesforce " * 5, "Another long one " * 8],
                "name": ["Old subject", "New subject " * 6],
            },
            ok=i % 2 == 0,
            message="REQUIRED_FIELD_MISSING: Required fields are missing: [Subject] " * 3,
        )
        SyncConflict.objects.create(
            user=user,
            task=task,
            run=run,
            sf_id=f"00T8a00000{i:08d}",
            field="details",
            local_value="Written here, at length " * 6,
            remote_value="Written in Salesforce, at length " * 6,
            local_changed_at=timezone.now(),
            remote_changed_at=timezone.now(),
            winner="salesforce",
        )


@pytest.mark.parametrize("path", ["syncevent", "syncconflict", "syncrun"])
def test_it_fits_the_log_lists_in_1280_pixels(page, path):
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    _wide_log(root)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"/admin/tasksync/{path}/")
    assert page.locator("#result_list tbody tr").count() >= 1
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, f"admin-{path}-1280.png"))
    widths = page.evaluate(
        "() => ({page: document.documentElement.scrollWidth,"
        " results: document.querySelector('.results').scrollWidth,"
        " box: document.querySelector('.results').clientWidth})"
    )
    assert widths["page"] <= 1280, widths
    assert widths["results"] <= widths["box"], widths
