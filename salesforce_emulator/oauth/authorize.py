"""The authorize page: log in, then allow or deny ("OAuth 2.0 Web Server Flow for Web App
Integration"); errors as "OAuth 2.0 Authorization Errors" (Salesforce Help; links in tokens.py)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from ..web import Request, Response
from .common import DEFAULT_SCOPE, KNOWN_SCOPES, random_text

if TYPE_CHECKING:
    from ..core import Emulator


def redirect_with(uri: str, params: dict) -> Response:
    params = {k: v for k, v in params.items() if v is not None}
    return Response.redirect(uri + ("&" if "?" in uri else "?") + urlencode(params))


_CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)


def authorize(emu: Emulator, req: Request) -> Response:
    from .. import pages

    params = req.form() if req.method == "POST" else req.query
    redirect_uri = params.get("redirect_uri", "")
    app = emu.store.app(params.get("client_id", ""))
    # Bad client or redirect: show an error page, never redirect ("OAuth 2.0 Authorization Errors").
    if app is None:
        return pages.error_page("invalid_client_id", "client identifier invalid", 400)
    if redirect_uri not in app["callback_urls"]:
        return pages.error_page(
            "redirect_uri_mismatch", "redirect_uri must match configuration", 400
        )
    refused = _refused(app, params)
    if refused:
        return _redirect_error(redirect_uri, params.get("state"), *refused)
    carry = {k: params[k] for k in _CARRIED if params.get(k) is not None}
    session = emu.session_for(req)
    action = params.get("action") if req.method == "POST" else None
    if action == "login":
        return _log_in(emu, params, carry, app)
    csrf_ok = session and hmac.compare_digest(params.get("csrf", ""), session["csrf"])
    if action in ("allow", "deny") and csrf_ok:
        return _decide(emu, params, session, allow=action == "allow")
    if (
        session is None
        or "login" in params.get("prompt", "").split()
        and action is None
        and req.method == "GET"
    ):
        return pages.login_page(carry, None)
    return pages.consent_page(carry, app, emu.store.user(session["user_id"]), session["csrf"])


def _scope(params) -> str:
    return " ".join(params.get("scope", "").split()) or DEFAULT_SCOPE


def _refused(app: dict, params) -> tuple[str, str] | None:
    """(error, description) for a request the callback must be told about, in Salesforce's
    order of checks; None for one that may go on to the log-in."""
    if params.get("response_type") != "code":
        return "unsupported_response_type", "response type not supported"
    if any(s not in KNOWN_SCOPES for s in _scope(params).split()):
        return "invalid_scope", "the requested scope is not allowed"
    challenge = params.get("code_challenge") or None
    if challenge and params.get("code_challenge_method", "S256") != "S256":
        return "invalid_request", "invalid code challenge method"
    if app["pkce_required"] and not challenge:
        return "invalid_request", "missing required code challenge"
    return None


def _redirect_error(redirect_uri: str, state, error: str, description: str) -> Response:
    return redirect_with(
        redirect_uri, {"error": error, "error_description": description, "state": state}
    )


def _log_in(emu: Emulator, params, carry: dict, app: dict) -> Response:
    from .. import pages

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


def _decide(emu: Emulator, params, session: dict, *, allow: bool) -> Response:
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state")
    if not allow:
        return _redirect_error(
            redirect_uri, state, "access_denied", "end-user denied authorization"
        )
    code = "aPrx" + random_text(60)
    challenge = params.get("code_challenge") or None
    emu.store.insert_code(
        code,
        params.get("client_id", ""),
        session["user_id"],
        redirect_uri,
        challenge,
        _scope(params),
    )
    return redirect_with(redirect_uri, {"code": code, "state": state})
