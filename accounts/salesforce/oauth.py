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

Only protocol here: login-host validation, PKCE, the authorize URL, the token, identity and revoke
calls. What to store lives in ``accounts.connections``, the pages in ``accounts.oauth_views``.

Nothing in this module logs or puts into an exception message a token, a code or a verifier.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
SCOPES = "api refresh_token"
# acme.my.salesforce.com, acme--uat.sandbox.my.salesforce.com ("Revoking OAuth Tokens").
MY_DOMAIN_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.sandbox)?\.my\.salesforce\.com$")


class OAuthError(Exception):
    """Salesforce answered an OAuth call with an error. ``error`` is its code (invalid_grant…),
    ``description`` its own words; neither ever holds a token."""

    def __init__(self, error: str, description: str = "", *, status: int | None = None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class Unreachable(Exception):
    """Salesforce could not be reached for an OAuth call (connection refused, timeout, TLS):
    nothing was decided there. The message names the kind of failure, never a token."""


def _send(method: str, url: str, **kwargs) -> requests.Response:
    """One OAuth call over HTTP; a network failure becomes ``Unreachable`` (classified here,
    once, beside the REST client's own classification in errors.py)."""
    kwargs.setdefault("timeout", settings.SALESFORCE_TIMEOUT)
    try:
        return requests.request(method, url, **kwargs)  # noqa: S113 - the timeout is set above
    except requests.RequestException as exc:
        raise Unreachable(type(exc).__name__) from exc


# -- login hosts -------------------------------------------------------------------------------
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def configured_login_url() -> str:
    return _origin(settings.SALESFORCE_LOGIN_URL)


def validate_my_domain_url(value: str) -> str:
    """A My Domain login URL typed by the user, reduced to its origin.

    Accepted: https and a host under ``.my.salesforce.com`` (sandboxes included), or exactly the
    configured login host (the emulator in tests and the demo). Anything else would send the
    authorization code, and later the refresh token, to a host we do not trust.
    """
    value = (value or "").strip()
    if not value:
        raise ValidationError(_("Enter your My Domain URL."), code="required")
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(_("Enter a valid URL."), code="invalid") from None
    if _origin(value) == configured_login_url():
        return configured_login_url()
    host = (parts.hostname or "").lower()
    if (
        parts.scheme != "https"
        or parts.username
        or parts.password
        or port not in (None, 443)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or not MY_DOMAIN_HOST.match(host)
    ):
        raise ValidationError(
            _(
                "A My Domain URL looks like https://yourcompany.my.salesforce.com "
                "(sandbox: https://yourcompany--sandboxname.sandbox.my.salesforce.com)."
            ),
            code="not_my_domain",
        )
    return f"https://{host}"


# The registrable domains Salesforce serves instances, My Domains and identity URLs from:
# production and sandboxes (salesforce.com, force.com), Government Cloud (salesforce.mil) and
# the Alibaba-operated China instances (sfcrmproducts.cn). Host forms: "Revoking OAuth Tokens" and
# "OAuth 2.0 Web Server Flow for Web App Integration", cited at the top of this module.
SALESFORCE_DOMAINS = ("salesforce.com", "force.com", "salesforce.mil", "sfcrmproducts.cn")
_IP_HOST = re.compile(r"^[0-9.]+$|:")


def _login_family() -> tuple[str, ...]:
    """The configured login host's domain family (its last two labels), or the host itself when
    it is an IP address or a single label (the emulator on 127.0.0.1 in the demo and tests)."""
    host = (urlsplit(configured_login_url()).hostname or "").lower()
    if not host or _IP_HOST.search(host) or "." not in host:
        return ()
    return (".".join(host.split(".")[-2:]),)


def trusted_salesforce_url(value, *, what: str) -> str:
    """R17: an ``instance_url`` or identity URL from a token response, accepted only as https on
    Salesforce's own domains (or the configured login host's family), or on exactly the
    configured login host (the emulator's, plain http, in the demo and tests). Anything else is
    refused: we would send the user's tokens there, and render it as a link.

    Returns the URL without a trailing slash; raises OAuthError("untrusted_url") otherwise.
    """
    url = str(value or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        parts, port = None, None
    host = ((parts.hostname if parts else "") or "").lower()
    configured = urlsplit(configured_login_url())
    trusted = False
    if parts and host and not parts.username and not parts.password and not parts.fragment:
        if host == (configured.hostname or "").lower():
            # The configured host itself, on any port: https, or its own scheme (the emulator).
            trusted = parts.scheme in ("https", configured.scheme)
        elif parts.scheme == "https" and port in (None, 443):
            families = SALESFORCE_DOMAINS + _login_family()
            trusted = any(host == d or host.endswith("." + d) for d in families)
    if not trusted:
        raise OAuthError("untrusted_url", f"the {what} is not on a Salesforce domain")
    return url.rstrip("/")


def safe_link(url) -> str:
    """The URL if it may be rendered as a link (R17: only a trusted Salesforce URL), else ""."""
    try:
        return trusted_salesforce_url(url, what="link")
    except OAuthError:
        return ""


def check_token_urls(body: dict, *, connect: bool) -> None:
    """R17: the URLs of a token response must be Salesforce's. A connect needs both; a refresh
    answer may leave them out, and what it sends is checked the same way."""
    for key, what in (("instance_url", "instance URL"), ("id", "identity URL")):
        if connect or body.get(key):
            trusted_salesforce_url(body.get(key), what=what)


def login_url_is_sandbox(login_url: str) -> bool:
    host = (urlsplit(login_url).hostname or "").lower()
    return host == "test.salesforce.com" or host.endswith(".sandbox.my.salesforce.com")


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
