import importlib.util
import os
import shutil

import pytest

from tests.factories import UserFactory

# Playwright runs an event loop in the test thread; Django's async-safety check would then refuse
# ORM calls made by the test body itself (Django, "Asynchronous support", Async safety:
# https://docs.djangoproject.com/en/5.2/topics/async/#async-safety). Only tests are affected.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("PLAYWRIGHT_CHROMIUM_EXECUTABLE") or shutil.which("chromium") or ""

pytest_plugins = [
    name
    for name in (
        "salesforce_emulator.pytest_plugin",
        "tests.fixtures_salesforce",
        "tests.fixtures_sync",
    )
    if importlib.util.find_spec(name)
]


def pytest_collection_modifyitems(config, items):
    if CHROMIUM:
        return
    reason = "no Chromium installed (apt-get install chromium); browser tests skipped"
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


def pytest_report_header(config):
    if not CHROMIUM:
        return "browser tests: SKIPPED, no Chromium installed (apt-get install chromium)"
    return f"browser tests: Chromium at {CHROMIUM}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--disable-dev-shm-usage", "--disable-background-networking", "--disable-sync"],
    }


@pytest.fixture(scope="session")
def base_url(live_server):
    return live_server.url


@pytest.fixture
def user(db):
    return UserFactory(username="ana", time_zone="Europe/Madrid")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def postgres_only():
    """Tests of concurrency (several workers, row locks) run on PostgreSQL only."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL): SQLite serialises every writer")
