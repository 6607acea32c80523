"""Salesforce's OAuth 2.0 endpoints, spoken over HTTP.

The Salesforce pages cited below by title:
- "OAuth 2.0 Web Server Flow for Web App Integration" (Salesforce Help):
  https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm&language=en_US
- "OAuth 2.0 Refresh Token Flow for Renewed Sessions" (Salesforce Help):
  https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
- "Revoke OAuth Tokens Programmatically" (Salesforce Help):
  https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5
- "Revoking OAuth Tokens" (Mobile SDK Developer Guide; My Domain and sandbox host forms):
  https://developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-revoking-tokens.html
- "Using Identity URLs" (Mobile SDK Developer Guide):
  https://developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-using-identity-urls.html

Only protocol here: PKCE, the authorize URL, the token, identity and revoke calls; which hosts
are Salesforce's (login hosts, the URLs of a token response) in ``accounts.salesforce.hosts``,
their errors in ``accounts.salesforce.errors`` (both importable from here too). What to store
lives in ``accounts.services``, the pages in ``accounts.oauth_views``.

Nothing in this module logs or puts into an exception message a token, a code or a verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from urllib.parse import parse_qs, urlencode

import requests
from django.conf import settings
from django.urls import reverse

from accounts.salesforce.errors import OAuthError, Unreachable
from accounts.salesforce.hosts import (
    PRODUCTION_LOGIN_URL,
    SANDBOX_LOGIN_URL,
    check_token_urls,
    configured_login_url,
    login_url_is_sandbox,
    safe_link,
    trusted_salesforce_url,
    validate_my_domain_url,
)

__all__ = [
    "PRODUCTION_LOGIN_URL",
    "SANDBOX_LOGIN_URL",
    "OAuthError",
    "Unreachable",
    "authorize_url",
    "callback_url",
    "check_signature",
    "check_token_urls",
    "configured_login_url",
    "exchange_code",
    "fetch_identity",
    "login_url_is_sandbox",
    "new_state",
    "pkce_pair",
    "revoke",
    "safe_link",
    "token_request",
    "trusted_salesforce_url",
    "validate_my_domain_url",
]

logger = logging.getLogger(__name__)

SCOPES = "api refresh_token"


def _send(method: str, url: str, **kwargs) -> requests.Response:
    """One OAuth call over HTTP; a network failure becomes ``Unreachable`` (classified here,
    once, beside the REST client's own classification in errors.py)."""
    kwargs.setdefault("timeout", settings.SALESFORCE_TIMEOUT)
    try:
        return requests.request(method, url, **kwargs)  # noqa: S113 - the timeout is set above
    except requests.RequestException as exc:
        raise Unreachable(type(exc).__name__) from exc


# -- authorize ---------------------------------------------------------------------------------
def callback_url() -> str:
    return settings.SITE_URL.rstrip("/") + reverse("salesforce_callback")


def new_state() -> str:
    return secrets.token_urlsafe(32)


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), RFC 7636 §4.1/4.2."""
    verifier = secrets.token_urlsafe(64)  # 86 characters, within 43..128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return verifier, challenge


def authorize_url(*, login_url: str, state: str, code_challenge: str, prompt: str = "") -> str:
    # GET /services/oauth2/authorize ("OAuth 2.0 Web Server Flow for Web App Integration").
    params = {
        "response_type": "code",
        "client_id": settings.SALESFORCE_CLIENT_ID,
        "redirect_uri": callback_url(),
        "scope": SCOPES,
        "state": state,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
    }
    if prompt:
        params["prompt"] = prompt
    return f"{login_url.rstrip('/')}/services/oauth2/authorize?{urlencode(params)}"


# -- HTTP --------------------------------------------------------------------------------------
def _verify():
    # REQUESTS_CA_BUNDLE would override a Session's verify, so pass it on each request (requests,
    # "Advanced Usage", SSL Cert Verification, and psf/requests#3829; see SalesforceSession).
    return settings.SALESFORCE_CA_BUNDLE or True


def _error_from(response: requests.Response) -> OAuthError:
    """The OAuth error of an answer: JSON from the token endpoint; form-encoded
    (``error=invalid_token&error_description=…``) from the revoke endpoint (Salesforce Help,
    "Revoke OAuth Tokens", https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm)."""
    try:
        body = response.json()
    except ValueError:
        form = parse_qs(response.text or "")
        body = {key: values[0] for key, values in form.items() if values}
    if not isinstance(body, dict):
        body = {}
    error = str(body.get("error") or f"http_{response.status_code}")
    description = str(body.get("error_description") or "")[:500]
    return OAuthError(error, description, status=response.status_code)


def token_request(*, login_url: str, data: dict) -> dict:
    """POST /services/oauth2/token (the web server and refresh token flows). Raises OAuthError on an
    error answer, Unreachable when Salesforce cannot be reached."""
    response = _send(
        "POST",
        f"{login_url.rstrip('/')}/services/oauth2/token",
        data={
            **data,
            "client_id": settings.SALESFORCE_CLIENT_ID,
            "client_secret": settings.SALESFORCE_CLIENT_SECRET,
            "format": "json",
        },
        headers={"Accept": "application/json"},
        timeout=settings.SALESFORCE_TIMEOUT,
        verify=_verify(),
    )
    if response.status_code >= 400:
        raise _error_from(response)
    try:
        body = response.json()
    except ValueError:
        raise OAuthError("invalid_response", "not JSON", status=response.status_code) from None
    if not isinstance(body, dict) or not body.get("access_token"):
        raise OAuthError("invalid_response", "no access token", status=response.status_code)
    check_signature(body)
    return body


def exchange_code(*, login_url: str, code: str, code_verifier: str) -> dict:
    return token_request(
        login_url=login_url,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "code_verifier": code_verifier,
            "redirect_uri": callback_url(),
        },
    )


def check_signature(body: dict) -> None:
    """signature = base64(HMAC-SHA256(id + issued_at, client secret)), per the web server flow:
    proves the identity URL came from Salesforce together with the token. Skipped when absent."""
    signature = body.get("signature")
    if not signature:
        return
    message = f"{body.get('id', '')}{body.get('issued_at', '')}".encode()
    key = settings.SALESFORCE_CLIENT_SECRET.encode()
    expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(expected, str(signature)):
        raise OAuthError("invalid_signature", "the token response signature does not match")


def fetch_identity(*, token_response: dict, login_url: str) -> dict:
    """GET the identity URL (``id`` of the token response) with the Bearer token ("Using Identity
    URLs"). The URL must be https or on the login host we just used."""
    url = trusted_salesforce_url(token_response.get("id"), what="identity URL")
    response = _send(
        "GET",
        url,
        headers={
            "Authorization": f"Bearer {token_response['access_token']}",
            "Accept": "application/json",
        },
        timeout=settings.SALESFORCE_TIMEOUT,
        verify=_verify(),
    )
    if response.status_code >= 400:
        raise OAuthError(
            "identity_failed", response.text[:200].strip(), status=response.status_code
        )
    try:
        identity = response.json()
    except ValueError:
        raise OAuthError("identity_failed", "not JSON", status=response.status_code) from None
    missing = [
        key
        for key in ("organization_id", "user_id", "username")
        if not isinstance(identity, dict) or not identity.get(key)
    ]
    if missing:
        raise OAuthError("identity_failed", "missing " + ", ".join(missing))
    return identity


def revoke(*, login_url: str, token: str) -> None:
    """POST /services/oauth2/revoke ("Revoke OAuth Tokens Programmatically"): a refresh token
    revokes itself and its access tokens. Raises OAuthError (400 invalid_token, …) or
    Unreachable."""
    response = _send(
        "POST",
        f"{login_url.rstrip('/')}/services/oauth2/revoke",
        data={"token": token},
        timeout=settings.SALESFORCE_TIMEOUT,
        verify=_verify(),
    )
    if response.status_code >= 400:
        raise _error_from(response)
