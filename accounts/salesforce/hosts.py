"""Which hosts are Salesforce's (R17): the login hosts a user may choose, and the instance and
identity URLs a token response may name. Cited by title (see ``accounts.salesforce.oauth`` for
the addresses): "Revoking OAuth Tokens" (My Domain and sandbox host forms) and "OAuth 2.0 Web
Server Flow for Web App Integration".
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.salesforce.errors import OAuthError

PRODUCTION_LOGIN_URL = "https://login.salesforce.com"
SANDBOX_LOGIN_URL = "https://test.salesforce.com"
# acme.my.salesforce.com, acme--uat.sandbox.my.salesforce.com ("Revoking OAuth Tokens").
MY_DOMAIN_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.sandbox)?\.my\.salesforce\.com$")


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
# "OAuth 2.0 Web Server Flow for Web App Integration", cited in accounts.salesforce.oauth.
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
