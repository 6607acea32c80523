"""R14 in a browser: a task imported from Salesforce shows what it is about ("Ana Ruiz · Acme
Corp") on the task list, and "Open in Salesforce" opens the task's record page (the emulator
sends its Lightning URL to its own task page). Debian's Chromium, the live server on a free port."""

import pytest
from playwright.sync_api import expect

from tasksync.services.sync import sync_enable
from tasksync.sync.engine import sync_user
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_task_list_shows_who_and_what_and_opens_the_task_in_salesforce(
    browser, live_server, sf_connection, sf_emulator
):
    user = sf_connection.user
    ana = sf_emulator.create_contact(name="Ana Ruiz")
    acme = sf_emulator.create_account(name="Acme <Corp>")
    sf_id = sf_emulator.create_task(Subject="Renewal call", WhoId=ana, WhatId=acme)["Id"]
    sync_enable(user=user)
    assert sync_user(user_id=user.pk, trigger="first_sync").outcome == "success"

    # The emulator's instance is HTTPS with its own certificate authority.
    context = browser.new_context(base_url=live_server.url, ignore_https_errors=True)
    page = context.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/tasks/")
    row = page.locator("li.task", has_text="Renewal call")
    expect(row.locator(".about")).to_have_text("Ana Ruiz · Acme <Corp>")  # text, not markup
    link = row.get_by_role("link", name="Open Renewal call in Salesforce")
    expect(link).to_have_attribute(
        "href", f"{sf_connection.instance_url.rstrip('/')}/lightning/r/Task/{sf_id}/view"
    )
    with context.expect_page() as opened:
        link.click()
    salesforce = opened.value
    salesforce.get_by_label("Username").fill(sf_emulator.demo.username)
    salesforce.get_by_label("Password").fill(sf_emulator.demo.password)
    salesforce.get_by_role("button", name="Log In").click()
    expect(salesforce.get_by_label("Subject")).to_have_value("Renewal call")
    context.close()
