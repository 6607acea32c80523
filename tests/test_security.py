"""Security checks across the whole site: deploy checks, sign-in everywhere, CSRF on every form."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {"login", "logout", "set_language", "salesforce_callback"}


def _named_routes(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin" or str(pattern.pattern).startswith("admin"):
                continue
            yield from _named_routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name, prefix + str(pattern.pattern)


def _url(name, route):
    return reverse(name, kwargs={"pk": 1}) if "<int:pk>" in route else reverse(name)


def test_production_settings_pass_the_deploy_checks():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tasksync.settings",
        "TASKSYNC_IGNORE_DOTENV": "true",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "TOKEN_ENCRYPTION_KEYS": "oQy2vQ0y6kq6CkqJ0n7WQ6m0m5o0Zb0p3l9v7l2kq3s=",
        "ALLOWED_HOSTS": "tasksync.example.com",
    }
    for name in (
        "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by the test suite for Playwright only
    ):
        env.pop(name, None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {**os.environ, "TASKSYNC_IGNORE_DOTENV": "true", "DEBUG": "false", "SECRET_KEY": ""}
    result = subprocess.run(
        [sys.executable, "-c", "import tasksync.settings"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("name", "route"), sorted(_named_routes()))
def test_every_page_needs_a_signed_in_user(client, db, name, route):
    if name in PUBLIC:
        return
    url = _url(name, route)
    for response in (client.get(url), client.post(url)):
        assert response.status_code in (302, 405), (name, response.status_code)
        if response.status_code == 302:
            assert response.url.startswith(reverse("login")), (name, response.url)


@pytest.mark.parametrize(("name", "route"), sorted(_named_routes()))
def test_every_post_needs_a_csrf_token(user, name, route):
    if name in {"logout", "set_language", "login"}:
        return
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(_url(name, route), {})
    assert response.status_code in (403, 405), (name, response.status_code)


def test_the_admin_requires_staff(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response.url
