"""Emulator contract tests. The project's tests/conftest.py registers the emulator plugin;
register it here too when these tests run on their own (e.g. `-p no:django`)."""

import os
from pathlib import Path

import pytest

from salesforce_emulator.testing import EmulatorHandle

CHROMIUM = "/usr/bin/chromium"


def pytest_configure(config):
    if not config.pluginmanager.has_plugin("salesforce_emulator.pytest_plugin"):
        config.pluginmanager.import_plugin("salesforce_emulator.pytest_plugin")


@pytest.fixture(scope="session")
def base_url():
    # The emulator pages are opened by absolute URL; don't start Django's live server (and its
    # test database) for emulator browser tests.
    return None


@pytest.fixture
def sf(sf_emulator: EmulatorHandle):
    """simple-salesforce logged in as the demo user (token from the back door)."""
    return sf_emulator.salesforce()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)
