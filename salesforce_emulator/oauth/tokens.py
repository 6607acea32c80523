"""The token endpoint (authorization code and refresh token grants) and revoke, as Salesforce Help
describes them:
- "OAuth 2.0 Web Server Flow for Web App Integration":
  https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm&language=en_US
- "OAuth 2.0 Refresh Token Flow for Renewed Sessions":
  https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
- "OAuth 2.0 Authorization Errors":
  https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
- "Revoke OAuth Tokens Programmatically":
  https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..web import Request, Response
from .common import CODE_LIFETIME_MS, oauth_error, random_text

if TYPE_CHECKING:
    from ..core import Emulator


def access_token_row(emu: Emulator, token: str | None) -> dict | None:
    """The live access-token row, or None if unknown, revoked or expired."""
    if not token:
        return None
    row = emu.store.token(token)
    if row is None or row["kind"] != "access" or row["revoked"] or row["expired"]:
        return None
    org = emu.store.org(row["org_id"])
    if org is None:
        return None
    # Absolute lifetime from issue (real orgs use an inactivity timeout; docs/emulator.md).
    if emu.clock.now_ms() >= row["issued_ms"] + org["access_token_lifetime"] * 1000:
        return None
    return row


def token_response(
    emu: Emulator,
    req: Request,
    app: dict,
    user: dict,
    scope: str,
    refresh_token: str | None,
    new_refresh: bool,
) -> Response:
    access = user["org_id"][:15] + "!A" + random_text(94)
    emu.store.insert_token(
        access,
        "access",
        user["org_id"],
        user["id"],
        app["client_id"],
        scope,
        refresh_token=refresh_token,
    )
    issued_at = str(emu.clock.now_ms())
    identity = f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}"
    signature = base64.b64encode(
        hmac.new(
            app["client_secret"].encode(), (identity + issued_at).encode(), hashlib.sha256
        ).digest()
    ).decode()
    body = {"access_token": access}
    if refresh_token and new_refresh:
        body["refresh_token"] = refresh_token
    body.update(
        signature=signature,
        scope=scope,
        instance_url=emu.instance_base(req),
        id=identity,
        token_type="Bearer",
        issued_at=issued_at,
    )
    return Response.json(body, headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])


def _client(emu: Emulator, req: Request, form: dict) -> tuple[dict | None, Response | None]:
    basic = req.basic_auth()
    client_id, secret = basic if basic else (form.get("client_id"), form.get("client_secret"))
    app = emu.store.app(client_id or "")
    if app is None:
        return None, oauth_error(400, "invalid_client_id", "client identifier invalid")
    if not secret or not hmac.compare_digest(secret, app["client_secret"]):
        return None, oauth_error(400, "invalid_client", "invalid client credentials")
    return app, None


def token(emu: Emulator, req: Request) -> Response:
    if req.method != "POST":
        return oauth_error(400, "invalid_request", "must use HTTP POST")
    form = req.form()
    grant = form.get("grant_type", "")
    if grant not in ("authorization_code", "refresh_token"):
        return oauth_error(400, "unsupported_grant_type", "grant type not supported")
    app, error = _client(emu, req, form)
    if error:
        return error
    store = emu.store
    with store.tx():
        if grant == "authorization_code":
            return _code_grant(emu, req, app, form)
        rt = store.token(form.get("refresh_token", ""))
        if (
            rt is None
            or rt["kind"] != "refresh"
            or rt["revoked"]
            or rt["client_id"] != app["client_id"]
        ):
            # Terminal: the user must re-authorise ("OAuth 2.0 Authorization Errors").
            return oauth_error(400, "invalid_grant", "expired access/refresh token")
        user = store.user(rt["user_id"])
        if user is None or not user["is_active"]:
            return oauth_error(400, "inactive_user", "user is inactive")
        org = store.org(user["org_id"])
        refresh, new_refresh = rt["token"], False
        if org["refresh_rotation"]:
            # Rotation: a new refresh token, the old one invalidated ("OAuth 2.0 Refresh Token
            # Flow for Renewed Sessions").
            store.x("UPDATE tokens SET revoked = 1 WHERE token = ?", (refresh,))
            refresh, new_refresh = new_refresh_token(emu, app, user, rt["scope"]), True
        return token_response(emu, req, app, user, rt["scope"], refresh, new_refresh)


def new_refresh_token(emu: Emulator, app: dict, user: dict, scope: str) -> str:
    value = "5Aep861" + random_text(80)
    emu.store.insert_token(value, "refresh", user["org_id"], user["id"], app["client_id"], scope)
    return value


def _code_grant(emu: Emulator, req: Request, app: dict, form: dict) -> Response:
    store = emu.store
    code = store.code(form.get("code", ""))
    if code is None or code["client_id"] != app["client_id"]:
        return oauth_error(400, "invalid_grant", "invalid authorization code")
    if code["used"] or emu.clock.now_ms() > code["issued_ms"] + CODE_LIFETIME_MS:
        return oauth_error(400, "invalid_grant", "expired authorization code")
    if form.get("redirect_uri") != code["redirect_uri"]:
        return oauth_error(400, "redirect_uri_mismatch", "redirect_uri must match configuration")
    verifier = form.get("code_verifier")
    if code["challenge"] or verifier:
        # PKCE S256 ("OAuth 2.0 Web Server Flow for Web App Integration"): a missing or
        # mismatching verifier is invalid_grant.
        expected = _s256(verifier) if verifier else None
        if not code["challenge"] or expected != code["challenge"]:
            return oauth_error(400, "invalid_grant", "invalid code verifier")
    store.x("UPDATE codes SET used = 1 WHERE code = ?", (code["code"],))
    user = store.user(code["user_id"])
    scopes = code["scope"].split()
    refresh = None
    if "refresh_token" in scopes or "offline_access" in scopes:
        refresh = new_refresh_token(emu, app, user, code["scope"])
    return token_response(emu, req, app, user, code["scope"], refresh, True)


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def revoke_error(error: str, description: str) -> Response:
    """The revoke endpoint answers its errors form-encoded, not in JSON like the token endpoint:
    `error=invalid_token&error_description=invalid%20token`, as Salesforce answers ("Revoke
    OAuth Tokens Programmatically", https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm
    documents the 400 and the two codes; jsforce's OAuth2.revokeToken reads the body with
    querystring.parse)."""
    body = f"error={quote(error, safe='')}&error_description={quote(description, safe='')}"
    return Response(
        400, body.encode(), [("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")]
    )


def revoke(emu: Emulator, req: Request) -> Response:
    form = req.form()
    hint = form.get("token_type_hint")
    if hint and hint not in ("access_token", "refresh_token"):
        return revoke_error("unsupported_token_type", "this token type is not supported")
    row = emu.store.token(form.get("token", ""))
    if row is None or row["revoked"]:
        # Salesforce forgets revoked tokens, so they are as unknown as a made-up one.
        return revoke_error("invalid_token", "invalid token")
    emu.store.revoke_token(row["token"])
    return Response.empty(200)
