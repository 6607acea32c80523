"""The "Connect Salesforce" pages (R17): start the web-server flow, take the callback, disconnect.

The flow's ``state`` and PKCE verifier live in the session and are used once. Nothing is stored
unless every step succeeded; messages shown to the user never contain a token, code or verifier.
"""

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import ConnectionState, SalesforceConnection
from accounts.salesforce import oauth
from accounts.services import connection_disconnect, connection_store

logger = logging.getLogger(__name__)

SESSION_KEY = "salesforce_oauth"
ENVIRONMENTS = ("production", "sandbox", "my_domain", "current")


def _settings_url() -> str:
    return reverse("settings") + "#salesforce"


def _connection_of(user) -> SalesforceConnection | None:
    return SalesforceConnection.objects.select_related("org").filter(user=user).first()


def _chosen_login_url(data, connection) -> str:
    """The login host for this attempt, from the environment chooser (raises ValidationError)."""
    environment = data.get("environment") or "production"
    if environment not in ENVIRONMENTS:
        raise ValidationError(_("Choose production, sandbox or My Domain."))
    if environment == "production":
        return oauth.configured_login_url()
    if environment == "sandbox":
        return oauth.SANDBOX_LOGIN_URL
    if environment == "current" and connection is not None:
        if connection.login_url.rstrip("/") in (
            oauth.PRODUCTION_LOGIN_URL,
            oauth.SANDBOX_LOGIN_URL,
        ):
            return connection.login_url.rstrip("/")
        return oauth.validate_my_domain_url(connection.login_url)
    return oauth.validate_my_domain_url(data.get("my_domain", ""))


@login_required
@require_http_methods(["GET", "POST"])
def salesforce_connect(request):
    # R17: only a POST with its CSRF token starts a connect. A GET (a link, or a cross-site
    # request) changes nothing, so it can neither start a silent re-connect nor replace the
    # state of a connect in progress: it shows the settings page, where the buttons are.
    if request.method != "POST":
        return redirect(_settings_url())
    data = request.POST
    connection = _connection_of(request.user)
    try:
        login_url = _chosen_login_url(data, connection)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_settings_url())
    switching = connection is not None and data.get("intent") == "switch"
    if switching and data.get("confirm_switch") != "1":
        return render(
            request,
            "accounts/oauth_confirm_switch.html",
            {
                "connection": connection,
                "environment": data.get("environment", "production"),
                "my_domain": data.get("my_domain", ""),
            },
        )
    is_sandbox = data.get("environment") == "sandbox" or oauth.login_url_is_sandbox(login_url)
    return _start(request, login_url=login_url, is_sandbox=is_sandbox, switching=switching)


def _start(request, *, login_url, is_sandbox, switching, for_user=None, return_to=""):
    verifier, challenge = oauth.pkce_pair()
    state = oauth.new_state()
    request.session[SESSION_KEY] = {
        "state": state,
        "verifier": verifier,
        "login_url": login_url,
        "is_sandbox": is_sandbox,
        "confirm_switch": switching,
        "for_user_id": for_user.pk if for_user is not None else None,
        "return_to": return_to,
    }
    logger.info(
        "Salesforce connect started by user %s for user %s at %s",
        request.user.pk,
        (for_user or request.user).pk,
        login_url,
    )
    # prompt=login lets the user sign in as someone else when switching accounts (Salesforce Help,
    # "OAuth 2.0 Web Server Flow for Web App Integration", cited in accounts/oauth.py).
    return redirect(
        oauth.authorize_url(
            login_url=login_url,
            state=state,
            code_challenge=challenge,
            prompt="login" if switching or for_user is not None else "",
        )
    )


def connect_for(request, *, user, return_to: str):
    """Staff connect another local account (an org's integration user, R19) through the same
    flow: PKCE, state used once, tokens encrypted. The callback stores the grant for ``user``
    and returns to ``return_to``. Only staff may; callers check it too."""
    if not request.user.is_staff:
        raise PermissionError("only staff connect another account")
    login_url = oauth.configured_login_url()
    return _start(
        request,
        login_url=login_url,
        is_sandbox=oauth.login_url_is_sandbox(login_url),
        switching=True,
        for_user=user,
        return_to=return_to,
    )


def _target(request, flow: dict):
    """Whose grant this callback stores: the signed-in user's own, or (staff only) the account
    the flow was started for."""
    from accounts.models import User

    user_id = flow.get("for_user_id")
    if user_id and request.user.is_staff:
        return User.objects.get(pk=user_id)
    return request.user


def _fail(request, message: str):
    messages.error(request, message)
    return redirect(_settings_url())


def _revoke_best_effort(login_url: str, token_response: dict) -> None:
    # A grant we will not store is revoked, so it does not linger in the user's org.
    token = token_response.get("refresh_token") or token_response.get("access_token")
    if not token:
        return
    try:
        oauth.revoke(login_url=login_url, token=token)
    except (oauth.OAuthError, oauth.Unreachable) as exc:
        logger.warning("Could not revoke an unused Salesforce grant (%s)", type(exc).__name__)


@login_required
@require_GET
def salesforce_callback(request):
    flow = request.session.pop(SESSION_KEY, None)  # used once, whatever happens next
    state = request.GET.get("state", "")
    if not flow or not state or not constant_time_compare(state, flow["state"]):
        logger.warning(
            "Salesforce callback with a missing or wrong state (user %s)", request.user.pk
        )
        return render(request, "accounts/oauth_state_mismatch.html", status=403)
    error = request.GET.get("error")
    if error == "access_denied":
        messages.info(request, _("Connecting Salesforce was cancelled. Nothing was changed."))
        return redirect(_settings_url())
    if error:
        reason = request.GET.get("error_description") or error
        return _fail(
            request, _("Salesforce refused the connection: %(reason)s") % {"reason": reason}
        )
    code = request.GET.get("code")
    if not code:
        return _fail(request, _("Salesforce sent no authorization code. Please try again."))
    login_url = flow["login_url"]
    try:
        # Web server flow: the code for tokens, with the PKCE verifier (cited in accounts/oauth.py).
        token_response = oauth.exchange_code(
            login_url=login_url, code=code, code_verifier=flow["verifier"]
        )
    except oauth.OAuthError as exc:
        logger.warning("Salesforce token endpoint refused the code: %s", exc.error)
        return _fail(
            request,
            _("Salesforce did not accept the sign-in (%(reason)s). Nothing was saved.")
            % {"reason": exc.description or exc.error},
        )
    except oauth.Unreachable as exc:
        logger.warning("Could not reach the Salesforce token endpoint (%s)", type(exc).__name__)
        return _fail(request, _("Could not reach Salesforce. Nothing was saved; please try again."))
    return _finish(request, flow=flow, token_response=token_response)


class _Refused(Exception):
    """The grant is not stored: the message tells the user why (never a token)."""


def _finish(request, *, flow: dict, token_response: dict):
    """Store the grant, unless it cannot sync or (without a confirmed switch) is another
    identity's than the one connected: then it is revoked, and nothing is saved."""
    login_url = flow["login_url"]
    try:
        identity = _checked_identity(token_response, login_url)
        target = _target(request, flow)
        connection = _connection_of(target)
        if connection is not None and not flow["confirm_switch"]:
            _check_same_identity(connection, identity)
    except _Refused as refused:
        _revoke_best_effort(login_url, token_response)
        return _fail(request, str(refused))
    connection = connection_store(
        user=target,
        token_response=token_response,
        identity=identity,
        login_url=login_url,
        is_sandbox=True if flow["is_sandbox"] else None,
    )
    messages.success(
        request, _("Salesforce is connected as %(username)s.") % {"username": connection.username}
    )
    return redirect(flow.get("return_to") or _settings_url())


def _checked_identity(token_response: dict, login_url: str) -> dict:
    """Who the grant is for, once it is known to be usable (raises _Refused)."""
    if not token_response.get("refresh_token"):
        raise _Refused(
            _(
                "Salesforce gave no refresh token, so tasksync could not sync while you are away. "
                "Ask your Salesforce administrator to add “Perform requests at any time "
                "(refresh_token, offline_access)” to the Connected App's OAuth scopes, then "
                "connect again."
            )
        )
    try:
        # R17: instance and identity URLs only on Salesforce's domains, or nothing is kept.
        oauth.check_token_urls(token_response, connect=True)
    except oauth.OAuthError:
        logger.warning("Salesforce connect refused: the token response named an untrusted URL")
        raise _Refused(
            _(
                "Salesforce's answer pointed to an address outside Salesforce, so tasksync "
                "refused the connection. Nothing was saved."
            )
        ) from None
    try:
        return oauth.fetch_identity(token_response=token_response, login_url=login_url)
    except (oauth.OAuthError, oauth.Unreachable) as exc:
        logger.warning("Salesforce identity call failed (%s)", type(exc).__name__)
        raise _Refused(
            _("Salesforce did not tell us who you are. Nothing was saved; please try again.")
        ) from None


def _check_same_identity(connection: SalesforceConnection, identity: dict) -> None:
    """Without a confirmed switch, only the Salesforce user already connected may come back."""
    same = (connection.org.org_id, connection.sf_user_id) == (
        identity["organization_id"],
        identity["user_id"],
    )
    if not same:
        raise _Refused(
            _(
                "You signed in to Salesforce as %(new)s, but tasksync is connected as "
                "%(old)s. Nothing was changed. To use another account, choose “Connect a "
                "different account”."
            )
            % {"new": identity["username"], "old": connection.username}
        )


@login_required
@require_http_methods(["GET", "POST"])
def salesforce_connect_cancel(request):
    """R17: forget a connect in progress (its state and verifier), by POST with CSRF only; a
    callback that comes later is refused as not started here."""
    if request.method == "POST" and request.session.pop(SESSION_KEY, None) is not None:
        messages.info(request, _("Connecting Salesforce was cancelled. Nothing was changed."))
    return redirect(_settings_url())


@login_required
@require_POST
def salesforce_disconnect(request):
    connection = _connection_of(request.user)
    if connection is None or connection.state == ConnectionState.DISCONNECTED:
        messages.info(request, _("No Salesforce account is connected."))
        return redirect(_settings_url())
    connection_disconnect(connection=connection)
    messages.success(
        request,
        _(
            "Salesforce is disconnected and its tokens are deleted. Sync is off; reconnecting "
            "the same Salesforce user picks up where you left off."
        ),
    )
    return redirect(_settings_url())
