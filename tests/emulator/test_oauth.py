"""OAuth web-server flow, refresh, revoke, identity with plain requests.

The Salesforce pages the emulator follows are cited in salesforce_emulator/oauth.py.
"""

import base64
import hashlib
import hmac
from urllib.parse import parse_qs

import pytest

from .oauth_helpers import CALLBACK, authorize, browser, code_from, exchange, pkce_pair


def test_it_issues_tokens_for_an_allowed_authorization_with_pkce(sf_emulator):
    verifier, challenge = pkce_pair()
    params = code_from(authorize(sf_emulator, challenge=challenge, state="s-1"))
    assert params["state"] == "s-1"
    resp = exchange(sf_emulator, params["code"], verifier)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer"
    assert body["access_token"].startswith(sf_emulator.demo.org_id[:15] + "!")
    assert body["refresh_token"]
    assert body["instance_url"] == sf_emulator.api_url
    assert body["id"] == (
        f"{sf_emulator.login_url}/id/{sf_emulator.demo.org_id}/{sf_emulator.demo.user_id}"
    )
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    expected = base64.b64encode(
        hmac.new(
            b"tasksync-demo-secret", (body["id"] + body["issued_at"]).encode(), hashlib.sha256
        ).digest()
    ).decode()
    assert body["signature"] == expected
    assert set(body["scope"].split()) == {"api", "id", "refresh_token"}


def test_it_rejects_a_wrong_pkce_verifier_with_invalid_grant(sf_emulator):
    _, challenge = pkce_pair()
    params = code_from(authorize(sf_emulator, challenge=challenge))
    resp = exchange(sf_emulator, params["code"], "not-the-verifier")
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"


def test_it_requires_the_verifier_when_a_challenge_was_sent(sf_emulator):
    _, challenge = pkce_pair()
    params = code_from(authorize(sf_emulator, challenge=challenge))
    assert exchange(sf_emulator, params["code"]).json()["error"] == "invalid_grant"


def test_it_accepts_a_code_only_once(sf_emulator):
    params = code_from(authorize(sf_emulator))
    assert exchange(sf_emulator, params["code"]).status_code == 200
    again = exchange(sf_emulator, params["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_it_expires_codes_after_fifteen_minutes(sf_emulator):
    params = code_from(authorize(sf_emulator))
    sf_emulator.advance(16 * 60)
    assert exchange(sf_emulator, params["code"]).json()["error"] == "invalid_grant"


def test_it_redirects_with_access_denied_when_the_user_clicks_deny(sf_emulator):
    params = code_from(authorize(sf_emulator, decision="deny", state="abc"))
    assert params == {
        "error": "access_denied",
        "error_description": "end-user denied authorization",
        "state": "abc",
    }


def test_it_shows_an_error_page_for_an_unregistered_redirect_uri(sf_emulator):
    resp = browser().get(
        f"{sf_emulator.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "tasksync-demo-client",
            "redirect_uri": "http://evil.example/cb",
        },
        allow_redirects=False,
    )
    assert resp.status_code == 400
    assert "redirect_uri_mismatch" in resp.text


def test_it_shows_an_error_page_for_an_unknown_client(sf_emulator):
    resp = browser().get(
        f"{sf_emulator.login_url}/services/oauth2/authorize",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK},
    )
    assert resp.status_code == 400 and "invalid_client_id" in resp.text


def test_it_accepts_callback_urls_added_by_tests(sf_emulator):
    sf_emulator.add_callback_url("http://testserver/cb/")
    params = code_from(authorize(sf_emulator, redirect_uri="http://testserver/cb/"))
    assert exchange(sf_emulator, params["code"], redirect_uri="http://testserver/cb/").ok


def test_it_rejects_a_wrong_password_on_the_login_form(sf_emulator):
    s = browser()
    url = f"{sf_emulator.login_url}/services/oauth2/authorize"
    resp = s.post(
        url,
        data={
            "response_type": "code",
            "client_id": "tasksync-demo-client",
            "redirect_uri": CALLBACK,
            "action": "login",
            "username": "demo@tasksync.example",
            "password": "wrong",
        },
    )
    assert "check your username and password" in resp.text


def test_it_escapes_state_in_the_authorize_page(sf_emulator):
    resp = browser().get(
        f"{sf_emulator.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "tasksync-demo-client",
            "redirect_uri": CALLBACK,
            "state": '"><script>alert(1)</script>',
        },
    )
    assert "<script>alert" not in resp.text and "&lt;script&gt;" in resp.text


def test_it_grants_no_refresh_token_without_the_scope(sf_emulator):
    params = code_from(authorize(sf_emulator, scope="api id"))
    body = exchange(sf_emulator, params["code"]).json()
    assert "refresh_token" not in body and body["access_token"]


def test_it_refreshes_without_rotation_by_default(sf_emulator):
    tokens = exchange(sf_emulator, code_from(authorize(sf_emulator))["code"]).json()
    resp = sf_emulator.session().post(
        f"{sf_emulator.login_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "tasksync-demo-client",
            "client_secret": "tasksync-demo-secret",
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    assert "refresh_token" not in body
    assert body["access_token"] != tokens["access_token"]
    assert body["instance_url"] == sf_emulator.api_url


def test_it_rotates_refresh_tokens_when_enabled(sf_emulator):
    sf_emulator.set_refresh_rotation(True)
    tokens = sf_emulator.tokens()
    url = f"{sf_emulator.login_url}/services/oauth2/token"
    # Client authentication through HTTP Basic this time.
    body = (
        sf_emulator.session()
        .post(
            url,
            auth=("tasksync-demo-client", "tasksync-demo-secret"),
            data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        )
        .json()
    )
    assert body["refresh_token"] != tokens["refresh_token"]
    assert sf_emulator.token_is_revoked(tokens["refresh_token"])
    old = sf_emulator.session().post(
        url,
        auth=("tasksync-demo-client", "tasksync-demo-secret"),
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert old.status_code == 400
    assert old.json() == {
        "error": "invalid_grant",
        "error_description": "expired access/refresh token",
    }


def test_it_rejects_bad_client_credentials(sf_emulator):
    resp = sf_emulator.session().post(
        f"{sf_emulator.login_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": "x",
            "client_id": "tasksync-demo-client",
            "client_secret": "wrong",
        },
    )
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_client"


def test_it_revokes_a_refresh_token_and_its_access_tokens(sf_emulator):
    tokens = sf_emulator.tokens()
    sf = sf_emulator.salesforce(tokens["access_token"])
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0
    resp = sf_emulator.session().post(
        f"{sf_emulator.api_url}/services/oauth2/revoke", data={"token": tokens["refresh_token"]}
    )
    assert resp.status_code == 200
    assert sf_emulator.token_is_revoked(tokens["refresh_token"])
    assert sf_emulator.token_is_revoked(tokens["access_token"])
    from simple_salesforce.exceptions import SalesforceExpiredSession

    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Task")
    again = sf_emulator.session().post(
        f"{sf_emulator.api_url}/services/oauth2/revoke", data={"token": tokens["refresh_token"]}
    )
    # Issue 17: revoke errors are form-encoded, as Salesforce's revoke endpoint answers them.
    assert again.status_code == 400
    assert again.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert again.text == "error=invalid_token&error_description=invalid%20token"


def test_it_reports_unsupported_token_type_on_revoke(sf_emulator):
    resp = sf_emulator.session().post(
        f"{sf_emulator.api_url}/services/oauth2/revoke",
        data={"token": "x", "token_type_hint": "id_token"},
    )
    assert resp.status_code == 400
    assert parse_qs(resp.text) == {
        "error": ["unsupported_token_type"],
        "error_description": ["this token type is not supported"],
    }


def test_it_serves_the_identity_url_with_a_bearer_token(sf_emulator):
    tokens = sf_emulator.tokens()
    resp = sf_emulator.session().get(
        tokens["id"],
        params={"version": "59.0"},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["user_id"] == sf_emulator.demo.user_id
    assert body["organization_id"] == sf_emulator.demo.org_id
    assert body["username"] == "demo@tasksync.example"
    assert body["display_name"] == "Dana Demo"
    assert body["urls"]["rest"] == f"{sf_emulator.api_url}/services/data/v59.0/"
    assert body["is_active"] is True and body["user_type"] == "STANDARD"
    bad = sf_emulator.session().get(tokens["id"], headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 403


def test_it_serves_userinfo(sf_emulator):
    token = sf_emulator.tokens()["access_token"]
    body = (
        sf_emulator.session()
        .get(
            f"{sf_emulator.api_url}/services/oauth2/userinfo",
            headers={"Authorization": f"Bearer {token}"},
        )
        .json()
    )
    assert body["preferred_username"] == "demo@tasksync.example"
    assert body["user_id"] == sf_emulator.demo.user_id


def test_it_expires_access_tokens_after_the_org_lifetime(sf_emulator):
    from simple_salesforce.exceptions import SalesforceExpiredSession

    sf_emulator.set_access_token_lifetime(60)
    sf = sf_emulator.salesforce()
    sf.query("SELECT Id FROM Task")
    sf_emulator.advance(61)
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM Task")
    assert exc.value.content == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_it_expires_all_access_tokens_on_demand_but_keeps_refresh_tokens(sf_emulator):
    tokens = sf_emulator.tokens()
    sf_emulator.expire_access_tokens()
    assert not sf_emulator.token_is_valid(tokens["access_token"])
    assert sf_emulator.token_is_valid(tokens["refresh_token"])


def test_it_requires_pkce_when_the_app_says_so(sf_emulator):
    sf_emulator.set_pkce_required(True)
    resp = browser().get(
        f"{sf_emulator.login_url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": "tasksync-demo-client",
            "redirect_uri": CALLBACK,
            "state": "q",
        },
        allow_redirects=False,
    )
    assert resp.status_code == 302
    assert "error=invalid_request" in resp.headers["Location"]


def test_it_does_not_count_oauth_calls_as_api_calls(sf_emulator):
    exchange(sf_emulator, code_from(authorize(sf_emulator))["code"])
    assert sf_emulator.api_call_total() == 0
