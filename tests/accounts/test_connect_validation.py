"""Pure pieces of the connect flow: login hosts, PKCE, the authorize URL, the signature (R17)."""

import base64
import hashlib
import hmac
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ValidationError

from accounts.salesforce import oauth


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("https://acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        ("https://ACME.my.salesforce.com/", "https://acme.my.salesforce.com"),
        ("acme.my.salesforce.com", "https://acme.my.salesforce.com"),
        (
            "https://acme--uat.sandbox.my.salesforce.com",
            "https://acme--uat.sandbox.my.salesforce.com",
        ),
        ("https://acme-corp.my.salesforce.com:443", "https://acme-corp.my.salesforce.com"),
    ],
)
def test_it_accepts_a_my_domain_url(typed, expected):
    assert oauth.validate_my_domain_url(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "http://acme.my.salesforce.com",
        "https://acme.my.salesforce.com.evil.example",
        "https://evil.example/acme.my.salesforce.com",
        "https://my.salesforce.com",
        "https://acme.salesforce.com",
        "https://acme.lightning.force.com",
        "https://user:pw@acme.my.salesforce.com",
        "https://acme.my.salesforce.com:8443",
        "https://acme.my.salesforce.com/services/oauth2",
        "https://acme.my.salesforce.com?x=1",
        "https://-acme.my.salesforce.com",
        "https://acme_corp.my.salesforce.com",
        "https://127.0.0.1:9999",
        "javascript:alert(1)",
    ],
)
def test_it_rejects_a_url_that_is_not_a_my_domain(typed, settings):
    settings.SALESFORCE_LOGIN_URL = "https://login.salesforce.com"
    with pytest.raises(ValidationError):
        oauth.validate_my_domain_url(typed)


def test_it_accepts_exactly_the_configured_login_host(settings):
    # Tests and the demo log in at the emulator's plain-http login host.
    settings.SALESFORCE_LOGIN_URL = "http://127.0.0.1:8444"
    assert oauth.validate_my_domain_url("http://127.0.0.1:8444/") == "http://127.0.0.1:8444"
    with pytest.raises(ValidationError):
        oauth.validate_my_domain_url("http://127.0.0.1:8445")


@pytest.mark.parametrize(
    ("login_url", "is_sandbox"),
    [
        ("https://login.salesforce.com", False),
        ("https://test.salesforce.com", True),
        ("https://acme.my.salesforce.com", False),
        ("https://acme--uat.sandbox.my.salesforce.com", True),
    ],
)
def test_it_tells_a_sandbox_login_host_from_production(login_url, is_sandbox):
    assert oauth.login_url_is_sandbox(login_url) is is_sandbox


def test_it_makes_an_s256_challenge_from_a_fresh_verifier():
    verifier, challenge = oauth.pkce_pair()
    assert 43 <= len(verifier) <= 128
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).decode().rstrip("=")
    assert oauth.pkce_pair()[0] != verifier


def test_it_builds_the_authorize_url(settings):
    settings.SALESFORCE_CLIENT_ID = "client-123"
    settings.SITE_URL = "https://tasksync.example/"
    url = oauth.authorize_url(
        login_url="https://acme.my.salesforce.com", state="st", code_challenge="ch"
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert (parts.netloc, parts.path) == ("acme.my.salesforce.com", "/services/oauth2/authorize")
    assert query == {
        "response_type": "code",
        "client_id": "client-123",
        "redirect_uri": "https://tasksync.example/settings/salesforce/callback/",
        "scope": "api refresh_token",
        "state": "st",
        "code_challenge": "ch",
        "code_challenge_method": "S256",
    }


def test_it_checks_the_token_response_signature(settings):
    settings.SALESFORCE_CLIENT_SECRET = "s3cret"
    body = {"id": "https://login.salesforce.com/id/00D/005", "issued_at": "1278448101416"}
    good = hmac.new(b"s3cret", (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    oauth.check_signature({**body, "signature": base64.b64encode(good.digest()).decode()})
    with pytest.raises(oauth.OAuthError):
        oauth.check_signature({**body, "signature": base64.b64encode(b"forged").decode()})


def test_it_refuses_to_send_the_token_to_an_untrusted_identity_url():
    with pytest.raises(oauth.OAuthError):
        oauth.fetch_identity(
            token_response={"id": "http://evil.example/id/1/2", "access_token": "t"},
            login_url="https://login.salesforce.com",
        )
