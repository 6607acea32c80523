"""OAuth 2.0 web-server flow, refresh, revoke, identity and userinfo: authorize (the page),
tokens (token and revoke endpoints, access-token lookup), identity (identity URLs, userinfo).

Salesforce pages cited below by title:
- "OAuth 2.0 Web Server Flow for Web App Integration" (Salesforce Help):
  https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm&language=en_US
- "OAuth 2.0 Refresh Token Flow for Renewed Sessions" (Salesforce Help):
  https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
- "OAuth 2.0 Authorization Errors" (Salesforce Help):
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
- "Revoke OAuth Tokens Programmatically" (Salesforce Help):
  https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5
- "Using Identity URLs" (Mobile SDK Developer Guide): https://developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-using-identity-urls.html

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
