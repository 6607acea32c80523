"""The emulator is a Django app only where it is used: the demo (SALESFORCE_EMULATOR) and the
test settings; a production configuration does not install it."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings

KEYS = "oQy2vQ0y6kq6CkqJ0n7WQ6m0m5o0Zb0p3l9v7l2kq3s="


def _installed_apps(**env) -> list[str]:
    """INSTALLED_APPS as tasksync.settings computes them for this environment (a fresh process:
    the settings module reads the environment once)."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "TASKSYNC_IGNORE_DOTENV": "true",
        "SECRET_KEY": "a-test-key",
        "TOKEN_ENCRYPTION_KEYS": KEYS,
        **env,
    }
    code = "import json, tasksync.settings as s; print(json.dumps(s.INSTALLED_APPS))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.mark.parametrize(
    ("env", "installed"),
    [
        ({"DEBUG": "false"}, False),  # production: a real Connected App
        ({"DEBUG": "false", "SALESFORCE_EMULATOR": "true"}, True),
        ({"DEBUG": "true"}, True),  # the demo: DEBUG and no client id
        ({"DEBUG": "true", "SALESFORCE_CLIENT_ID": "real-app"}, False),
    ],
)
def test_it_installs_the_emulator_app_only_when_the_emulator_is_used(env, installed):
    assert ("salesforce_emulator" in _installed_apps(**env)) is installed


def test_the_test_settings_install_it_whatever_salesforce_emulator_says():
    assert settings.SALESFORCE_EMULATOR is False
    assert "salesforce_emulator" in settings.INSTALLED_APPS
