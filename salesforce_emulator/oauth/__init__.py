"""OAuth 2.0 web-server flow, refresh, revoke, identity and userinfo: authorize (the page),
tokens (token and revoke endpoints, access-token lookup), identity (identity URLs, userinfo);
each module cites the Salesforce pages it follows.

Served on both ports. None of these count as API calls.
"""

from .authorize import authorize, redirect_with
from .common import DEFAULT_SCOPE, KNOWN_SCOPES, oauth_error
from .identity import identity, userinfo
from .tokens import access_token_row, new_refresh_token, revoke, token, token_response

__all__ = [
    "DEFAULT_SCOPE",
    "KNOWN_SCOPES",
    "access_token_row",
    "authorize",
    "identity",
    "new_refresh_token",
    "oauth_error",
    "redirect_with",
    "revoke",
    "token",
    "token_response",
    "userinfo",
]
