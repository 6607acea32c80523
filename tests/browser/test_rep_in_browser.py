"""What a rep sees, in Debian's Chromium (R14): live lists, trouble banners, notices, overdue,
the settings page and the demo's first sync. Syncs are real runs against the emulator."""

import re

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import User
from tasksync.models import Notice
from tasksync.services import sync as sync_services
from tasksync.services import tasks as task_services
from tests.conftest import PASSWORD
from tests.fixtures_sync import link_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLL_WAIT = 10_000  # ms: a live region polls every 3 s


def sign_in(page, username):
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Command Center")).to_be_visible()
    # Set on this document only: it survives live swaps and is gone after any reload.
    page.evaluate("window.__sameDocument = true")


def still_the_same_document(page):
    return page.evaluate("window.__sameDocument === true")


def _today(user):
    return timezone.localdate(timezone=user.zone)


def test_the_command_center_shows_a_task_from_salesforce_without_a_reload(
    page, syncing, run, sf_emulator
):
    # R14: lists update without a reload when a sync changes them; an idle poll costs a 204.
    sign_in(page, syncing.username)
    expect(page.get_by_text("Nothing due today.")).to_be_visible()
    with page.expect_response(
        lambda r: "/live/command-center/" in r.url and r.status == 204, timeout=POLL_WAIT
    ):
        pass
    today = _today(syncing).isoformat()
    sf_emulator.create_task(Subject="Call from Salesforce", ActivityDate=today)
    run()
    expect(page.locator("#due-today").get_by_text("Call from Salesforce")).to_be_visible(
        timeout=POLL_WAIT
    )
    assert still_the_same_document(page)


def test_the_task_list_follows_a_staff_pause_with_a_banner_and_paused_badges(page, syncing, run):
    # R14: trouble where the rep works; badges never say "Synced" while sync is paused.
    task_services.task_create(user=syncing, name="Linked task")
    run()
    sign_in(page, syncing.username)
    page.goto("/tasks/")
    page.evaluate("window.__sameDocument = true")
    row = page.locator("li.task", has_text="Linked task")
    expect(row.locator(".badge.synced")).to_have_text("Synced")

    sync_services.sync_pause(user=syncing)
    banner = page.locator('[data-trouble="staff"]')
    expect(banner).to_contain_text("Sync is paused by an administrator.", timeout=POLL_WAIT)
    expect(banner).to_contain_text("Ask your administrator to resume it")
    expect(row.locator(".badge")).to_have_text("Sync paused", timeout=POLL_WAIT)
    expect(page.get_by_text("Synced", exact=True)).to_have_count(0)
    assert still_the_same_document(page)


def test_a_notice_names_the_task_salesforce_deleted_and_is_dismissed(
    page, syncing, run, sf_emulator
):
    # R14, R6: told by name, kept until read, dismissed in place.
    task = task_services.task_create(user=syncing, name="Demo for Globex")
    run()
    sign_in(page, syncing.username)
    sf_emulator.delete_task(link_of(task).sf_id)
    run()
    notice = page.locator(".notice", has_text="Demo for Globex")
    expect(notice).to_contain_text("was deleted in Salesforce", timeout=POLL_WAIT)
    with page.expect_request(lambda r: "/dismiss/" in r.url and r.method == "POST"):
        notice.get_by_role("button", name="Dismiss the notice about Demo for Globex").click()
    expect(notice).to_have_count(0)
    assert still_the_same_document(page)
    assert Notice.objects.get(user=syncing).read_at is not None
    page.reload()
    expect(page.get_by_text("Demo for Globex")).to_have_count(0)


def test_the_overdue_count_leads_to_the_overdue_tasks(page, user):
    # R14: "N overdue" on the Command Center, the task list filtered to them.
    yesterday = _today(user) - timezone.timedelta(days=1)
    task_services.task_create(user=user, name="Late call", due_date=yesterday)
    task_services.task_create(user=user, name="Later call", due_date=_today(user))
    sign_in(page, user.username)
    page.get_by_role("link", name="1 overdue").click()
    expect(page).to_have_url(re.compile(r"/tasks/\?show=overdue$"))
    expect(page.get_by_role("link", name="Overdue")).to_have_attribute("aria-current", "true")
    expect(page.locator("#task-list")).to_contain_text("Late call")
    expect(page.locator("#task-list")).not_to_contain_text("Later call")


def test_the_settings_page_keeps_developer_facts_behind_advanced(page, sf_connection):
    # R14: connection in plain words; org id and callback URL behind a disclosure.
    user = sf_connection.user
    sign_in(page, user.username)
    page.goto("/settings/")
    expect(page.get_by_text("Your tasks sync with the Salesforce account")).to_be_visible()
    org = page.locator("#sf-org")
    expect(org).to_be_hidden()
    page.get_by_text("Advanced", exact=True).click()
    expect(org).to_be_visible()
    expect(org).to_have_text(sf_connection.org.org_id)
    expect(page.locator("#sf-callback-url")).to_be_visible()


def test_the_first_visit_takes_the_browsers_time_zone(browser, live_server):
    # R16: the rep's zone defaults to the browser's; "today" then follows it.
    User.objects.create_user("zoe", password=PASSWORD)
    context = browser.new_context(base_url=live_server.url, timezone_id="Pacific/Auckland")
    page = context.new_page()
    try:
        with page.expect_response(lambda r: "/time-zone/detected/" in r.url) as answer:
            sign_in(page, "zoe")
        assert answer.value.status == 204
        assert User.objects.get(username="zoe").time_zone == "Pacific/Auckland"
        page.goto("/settings/")
        expect(page.get_by_label("Time zone")).to_have_value("Pacific/Auckland")
    finally:
        context.close()


@pytest.fixture
def site(salesforce_settings, live_server, sf_emulator):
    salesforce_settings.SITE_URL = live_server.url
    sf_emulator.add_callback_url(live_server.url + reverse("salesforce_callback"))
    return live_server


def test_the_demo_connects_to_the_emulator_and_its_first_sync_imports_23_tasks(
    page, site, settings, sf_emulator, sf_emulator_server, worker_thread
):
    # R3, R4, R14: the demo offers only the emulator, and the first sync shows its progress and
    # ends with what it imported.
    settings.SALESFORCE_EMULATOR = True
    settings.EMULATOR_DATA_DIR = sf_emulator_server.data_dir
    call_command("setup_demo")
    # The first sync is one Composite call (issue 16), a later poll a plain queryAll.
    sf_emulator.set_latency(1.0, path="query|composite$")
    User.objects.create_user("rep-demo", password=PASSWORD)
    sign_in(page, "rep-demo")
    page.goto("/settings/")
    expect(page.get_by_label("Sandbox (test.salesforce.com)")).to_have_count(0)
    page.get_by_role("button", name="Connect Salesforce").click()
    expect(page.get_by_role("heading", name="Log in to Salesforce")).to_be_visible()
    page.get_by_label("Username").fill(sf_emulator.demo.username)
    page.get_by_label("Password").fill(sf_emulator.demo.password)
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("button", name="Allow").click()
    page.evaluate("window.__sameDocument = true")

    page.get_by_label("Sync my tasks with Salesforce").check()
    page.get_by_role("button", name="Save sync settings").click()
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#sync-progress")).to_contain_text("Importing", timeout=10_000)
    expect(page.locator("#sync-summary")).to_contain_text(
        "First sync done: imported 23 tasks from Salesforce", timeout=30_000
    )
    expect(page.locator("#sync-phase")).to_have_text("On")
    assert still_the_same_document(page)


def test_a_page_whose_session_ended_goes_to_sign_in_at_the_next_poll(page, user):
    # Live regions never swap the sign-in form into a list: the whole page goes to sign in.
    from django.contrib.sessions.models import Session

    sign_in(page, user.username)
    # Signed out elsewhere, or the session expired. The test database is SQLite in memory with a
    # shared cache, where a write meeting a poll's read fails at once instead of waiting.
    for _attempt in range(50):
        try:
            Session.objects.all().delete()
            break
        except OperationalError:
            page.wait_for_timeout(50)
    expect(page).to_have_url(re.compile(r"/login/\?next="), timeout=POLL_WAIT)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
