"""OAuth 2.0 web-server flow, refresh, revoke, identity and userinfo.

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

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from . import ids
from .clock import format_sf
from .web import Request, Response

if TYPE_CHECKING:
    from .core import Emulator

CODE_LIFETIME_MS = 15 * 60 * 1000  # authorization codes are short-lived and single-use
KNOWN_SCOPES = {
    "api",
    "refresh_token",
    "offline_access",
    "id",
    "profile",
    "email",
    "address",
    "phone",
    "openid",
    "web",
    "full",
    "chatter_api",
    "visualforce",
    "custom_permissions",
}
# No scope parameter: the connected app's selected scopes (an emulator choice, docs/emulator.md).
DEFAULT_SCOPE = "api id refresh_token"
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


def _random(n: int) -> str:
    return "".join(secrets.choice(_TOKEN_CHARS) for _ in range(n))


def oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status)


# -- tokens -------------------------------------------------------------------------------
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


def _token_response(
    emu: Emulator,
    req: Request,
    app: dict,
    user: dict,
    scope: str,
    refresh_token: str | None,
    new_refresh: bool,
) -> Response:
    access = user["org_id"][:15] + "!A" + _random(94)
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
            refresh, new_refresh = _new_refresh(emu, app, user, rt["scope"]), True
        return _token_response(emu, req, app, user, rt["scope"], refresh, new_refresh)


def _new_refresh(emu: Emulator, app: dict, user: dict, scope: str) -> str:
    value = "5Aep861" + _random(80)
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
        refresh = _new_refresh(emu, app, user, code["scope"])
    return _token_response(emu, req, app, user, code["scope"], refresh, True)


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


# -- identity -----------------------------------------------------------------------------
def _bearer_or_param(req: Request) -> str | None:
    return req.bearer() or req.query.get("oauth_token") or req.form().get("access_token")


def _urls(emu: Emulator, req: Request, user: dict, version: str | None) -> dict:
    inst = emu.instance_base(req)
    v = version or "{version}"
    return {
        "enterprise": f"{inst}/services/Soap/c/{v}/{user['org_id']}",
        "metadata": f"{inst}/services/Soap/m/{v}/{user['org_id']}",
        "partner": f"{inst}/services/Soap/u/{v}/{user['org_id']}",
        "rest": f"{inst}/services/data/v{v}/",
        "sobjects": f"{inst}/services/data/v{v}/sobjects/",
        "search": f"{inst}/services/data/v{v}/search/",
        "query": f"{inst}/services/data/v{v}/query/",
        "recent": f"{inst}/services/data/v{v}/recent/",
        "tooling_rest": f"{inst}/services/data/v{v}/tooling/",
        "profile": f"{inst}/{user['id']}",
        "users": f"{inst}/services/data/v{v}/chatter/users",
        "custom_domain": inst,
    }


def identity(emu: Emulator, req: Request, org_id: str, user_id: str) -> Response:
    row = access_token_row(emu, _bearer_or_param(req))
    if row is None:
        return Response.text("Bad_OAuth_Token", 403)
    if not (ids.same(org_id, row["org_id"]) and ids.is_valid(user_id)):
        return Response.text("Bad_Id", 403)
    user = emu.store.user(user_id)
    if user is None or user["org_id"] != row["org_id"]:
        return Response.text("Bad_Id", 403)
    first, _, last = user["display_name"].partition(" ")
    version = req.query.get("version")
    return Response.json(
        {
            "id": f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}",
            "asserted_user": user["id"] == row["user_id"],
            "user_id": user["id"],
            "organization_id": user["org_id"],
            "username": user["username"],
            "nick_name": user["username"].split("@")[0],
            "display_name": user["display_name"],
            "email": user["email"],
            "email_verified": True,
            "first_name": first,
            "last_name": last,
            "timezone": "GMT",
            "photos": {},
            "urls": _urls(emu, req, user, version),
            "active": bool(user["is_active"]),
            "is_active": bool(user["is_active"]),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "last_modified_date": format_sf(emu.store.org(user["org_id"])["created_ms"]),
            "is_app_installed": True,
        }
    )


def userinfo(emu: Emulator, req: Request) -> Response:
    row = access_token_row(emu, _bearer_or_param(req))
    if row is None:
        return Response.text("Bad_OAuth_Token", 403)
    user = emu.store.user(row["user_id"])
    first, _, last = user["display_name"].partition(" ")
    return Response.json(
        {
            "sub": f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}",
            "user_id": user["id"],
            "organization_id": user["org_id"],
            "preferred_username": user["username"],
            "nickname": user["username"].split("@")[0],
            "name": user["display_name"],
            "given_name": first,
            "family_name": last,
            "email": user["email"],
            "email_verified": True,
            "zoneinfo": "GMT",
            "urls": _urls(emu, req, user, None),
            "active": bool(user["is_active"]),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "is_app_installed": True,
        }
    )


# -- authorize page -----------------------------------------------------------------------
def redirect_with(uri: str, params: dict) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    return Response.redirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


def authorize(emu: Emulator, req: Request) -> Response:
    from . import pages

    params = req.form() if req.method == "POST" else req.query
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    state = params.get("state")
    app = emu.store.app(client_id)
    # Bad client or redirect: show an error page, never redirect ("OAuth 2.0 Authorization Errors").
    if app is None:
        return pages.error_page("invalid_client_id", "client identifier invalid", 400)
    if redirect_uri not in app["callback_urls"]:
        return pages.error_page(
            "redirect_uri_mismatch", "redirect_uri must match configuration", 400
        )
    if params.get("response_type") != "code":
        return redirect_with(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "response type not supported",
                "state": state,
            },
        )
    scope = " ".join(params.get("scope", "").split()) or DEFAULT_SCOPE
    if any(s not in KNOWN_SCOPES for s in scope.split()):
        return redirect_with(
            redirect_uri,
            {
                "error": "invalid_scope",
                "error_description": "the requested scope is not allowed",
                "state": state,
            },
        )
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method", "S256")
    if challenge and method != "S256":
        return redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "invalid code challenge method",
                "state": state,
            },
        )
    if app["pkce_required"] and not challenge:
        return redirect_with(
            redirect_uri,
            {
                "error": "invalid_request",
                "error_description": "missing required code challenge",
                "state": state,
            },
        )
    carry = {
        k: params[k]
        for k in (
            "response_type",
            "client_id",
            "redirect_uri",
            "state",
            "scope",
            "code_challenge",
            "code_challenge_method",
            "prompt",
        )
        if params.get(k) is not None
    }
    session = emu.session_for(req)
    action = params.get("action") if req.method == "POST" else None
    if action == "login":
        user = emu.store.user_by_username(params.get("username", "").strip())
        if user is None or not hmac.compare_digest(user["password"], params.get("password", "")):
            return pages.login_page(
                carry,
                "Please check your username and password. If you still"
                " can't log in, contact your Salesforce administrator.",
            )
        session, cookie = emu.new_session(user["id"])
        return pages.consent_page(
            carry,
            app,
            emu.store.user(session["user_id"]),
            session["csrf"],
            headers=[("Set-Cookie", cookie)],
        )
    if (
        action in ("allow", "deny")
        and session
        and hmac.compare_digest(params.get("csrf", ""), session["csrf"])
    ):
        if action == "deny":
            return redirect_with(
                redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "end-user denied authorization",
                    "state": state,
                },
            )
        code = "aPrx" + _random(60)
        emu.store.insert_code(code, client_id, session["user_id"], redirect_uri, challenge, scope)
        return redirect_with(redirect_uri, {"code": code, "state": state})
    if (
        session is None
        or "login" in params.get("prompt", "").split()
        and action is None
        and req.method == "GET"
    ):
        return pages.login_page(carry, None)
    return pages.consent_page(carry, app, emu.store.user(session["user_id"]), session["csrf"])
