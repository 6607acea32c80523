"""The app's front door (R17, issue 14): sign-in throttling for the app and the admin, sign-out by
GET, the rep's password change, the favicon."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD
from tests.factories import UserFactory

LOGIN = reverse("login")
ADMIN_LOGIN = reverse("admin:login")


@pytest.fixture
def rep(db):
    return UserFactory(username="rita", password=PASSWORD)


def _sign_in(client, url, username, password, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _fail_until_locked(client, url, username, settings, ip="10.0.0.1"):
    responses = [
        _sign_in(client, url, username, "wrong password", ip=ip)
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]
    return responses[-1]


def test_repeated_failures_lock_the_sign_in_with_a_message_that_says_so(client, rep, settings):
    # R17: after AXES_FAILURE_LIMIT failures the account is locked for a while, and told so.
    first = _sign_in(client, LOGIN, "rita", "wrong password")
    assert first.status_code == 200  # an ordinary "wrong password" before the limit
    locked = _fail_until_locked(client, LOGIN, "rita", settings)
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Too many failed sign-ins" in html and "locked for" in html and "15 minutes" in html
    # While locked, even the right password does not get in.
    again = _sign_in(client, LOGIN, "rita", PASSWORD)
    assert again.status_code == 429
    assert "_auth_user_id" not in client.session


def test_the_admin_sign_in_is_throttled_too(client, db, settings):
    # R17: the admin's sign-in is the same front door.
    UserFactory(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    locked = _fail_until_locked(client, ADMIN_LOGIN, "root", settings)
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert _sign_in(client, ADMIN_LOGIN, "root", PASSWORD).status_code == 429


def test_the_lock_ends_after_the_cool_off(client, rep, settings):
    _fail_until_locked(client, LOGIN, "rita", settings)
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        response = _sign_in(client, LOGIN, "rita", PASSWORD)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_a_stranger_elsewhere_cannot_lock_the_rep_out(client, rep, settings):
    # Locked is the username from that address: the rep signs in from their own.
    _fail_until_locked(client, LOGIN, "rita", settings, ip="203.0.113.9")
    response = _sign_in(client, LOGIN, "rita", PASSWORD, ip="10.0.0.1")
    assert response.status_code == 302


def test_a_success_resets_the_count(client, rep, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _sign_in(client, LOGIN, "rita", "wrong password")
    assert _sign_in(client, LOGIN, "rita", PASSWORD).status_code == 302
    client.logout()
    assert _sign_in(client, LOGIN, "rita", "wrong password").status_code == 200


def test_the_failure_limit_and_cool_off_come_from_settings(client, rep, settings):
    settings.AXES_FAILURE_LIMIT = 2
    settings.AXES_COOLOFF_TIME = timedelta(minutes=1)
    _sign_in(client, LOGIN, "rita", "wrong password")
    locked = _sign_in(client, LOGIN, "rita", "wrong password")
    assert locked.status_code == 429 and "1 minute." in locked.content.decode()


# -- sign-out, password change, favicon ----------------------------------------------------------
def test_a_get_of_logout_answers_with_a_sign_out_page(client, rep):
    # Issue 14: GET /logout/ used to answer a blank 405. It shows the Sign out button; it does
    # not sign out by itself (a cross-site GET must not).
    client.force_login(rep)
    response = client.get(reverse("logout"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sign out of tasksync?" in html and 'method="post"' in html
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_a_get_of_logout_when_signed_out_shows_the_sign_in_page(client, db):
    response = client.get(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == LOGIN


def test_signing_out_by_post_says_so(client, rep):
    client.force_login(rep)
    response = client.post(reverse("logout"), follow=True)
    assert response.redirect_chain[-1][0] == LOGIN
    assert "_auth_user_id" not in client.session
    assert "You are signed out." in response.content.decode()


def test_a_rep_changes_their_password_and_stays_signed_in(client, rep):
    client.force_login(rep)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and "Change your password" in page.content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer new secret 42",
            "new_password2": "a much longer new secret 42",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("settings")
    assert "Your password is changed." in response.content.decode()
    rep.refresh_from_db()
    assert rep.check_password("a much longer new secret 42")
    assert client.session["_auth_user_id"] == str(rep.pk)


def test_the_password_change_needs_the_current_password(client, rep):
    client.force_login(rep)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "not it",
            "new_password1": "a much longer new secret 42",
            "new_password2": "a much longer new secret 42",
        },
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.content.decode()
    rep.refresh_from_db()
    assert rep.check_password(PASSWORD)


def test_the_password_change_page_needs_a_signed_in_user(client, db):
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_the_settings_page_links_to_the_password_change(client, rep):
    client.force_login(rep)
    html = client.get(reverse("settings")).content.decode()
    assert f'href="{reverse("password_change")}"' in html


def test_there_is_a_favicon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("/static/favicon.ico")
    path = finders.find("favicon.ico")
    assert path and Path(path).read_bytes()[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_the_locked_page_speaks_the_visitors_language(client, rep, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            LOGIN,
            {"username": "rita", "password": "wrong password"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert response.status_code == 429
    assert "bloqueado durante 15 minutos" in response.content.decode()
