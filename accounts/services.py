"""Services for a user's Salesforce connection (R12, R17): store, refresh, mark, disconnect.

Tokens change only through a compare-and-swap on ``token_version`` (``accounts.tokens``), so two
workers refreshing at once never lose a rotated refresh token. No database transaction is held
open across an HTTP call to Salesforce.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts import tokens
from accounts.models import ConnectionState, SalesforceConnection, SalesforceOrg
from accounts.salesforce import oauth
from accounts.salesforce.errors import NeedsReconnect, classify_refresh
from accounts.signals import salesforce_connected, salesforce_disconnected

logger = logging.getLogger(__name__)


def connection_store(
    *, user, token_response: dict, identity: dict, login_url: str, is_sandbox: bool | None = None
) -> SalesforceConnection:
    """Save a fresh grant for ``user``: a first connect, a reconnect of the same Salesforce user
    (the row resumes) or a switch to another user or org (the row takes the new identity and
    receivers of ``salesforce_connected`` see ``is_new_identity=True``)."""
    if not token_response.get("access_token") or not token_response.get("refresh_token"):
        raise ValueError("A Salesforce connection needs both an access and a refresh token.")
    org_id, sf_user_id = identity["organization_id"], identity["user_id"]
    instance_url, is_sandbox = _instance(token_response, login_url, is_sandbox)
    with transaction.atomic():
        org = _org_upsert(org_id=org_id, instance_url=instance_url, is_sandbox=is_sandbox)
        connection = (
            SalesforceConnection.objects.select_for_update()
            .select_related("org")
            .filter(user=user)
            .first()
        )
        previous, is_new_identity, left_grant = _leaving(connection, org_id, sf_user_id)
        connection = connection or SalesforceConnection(user=user)
        _take_grant(connection, org=org, identity=identity, token_response=token_response)
        connection.instance_url, connection.is_sandbox = instance_url, is_sandbox
        connection.login_url = login_url.rstrip("/")
        connection.full_clean()
        connection.save()
        salesforce_connected.send(
            sender=SalesforceConnection,
            connection=connection,
            is_new_identity=is_new_identity,
            previous_org_id=previous[0],
            previous_sf_user_id=previous[1],
        )
    if left_grant[1]:
        # After the commit: never an HTTP call inside a transaction. Best effort: the tokens
        # are already replaced here, so a failure leaves only a grant we no longer hold.
        _revoke_quietly(connection=connection, token=left_grant[1], login_url=left_grant[0])
    logger.info(
        "Salesforce connected: user %s as %s in org %s (new identity: %s)",
        user.pk,
        sf_user_id,
        org_id,
        is_new_identity,
    )
    return connection


def _leaving(connection, org_id: str, sf_user_id: str) -> tuple[tuple, bool, tuple]:
    """(the identity the row had, whether the grant is another's, the grant left: login URL and
    token). R17: the grant of the Salesforce user we leave is revoked once the new one is
    stored."""
    previous = (connection.org.org_id, connection.sf_user_id) if connection else (None, None)
    is_new_identity = connection is not None and previous != (org_id, sf_user_id)
    if not is_new_identity:
        return previous, False, ("", None)
    return (
        previous,
        True,
        (connection.login_url, connection.refresh_token or connection.access_token),
    )


def _instance(token_response: dict, login_url: str, is_sandbox: bool | None) -> tuple[str, bool]:
    """The grant's instance URL, and whether it is a sandbox's (unless the caller knows)."""
    # R17: never store (and so never call, nor link to) an instance outside Salesforce.
    instance_url = oauth.trusted_salesforce_url(
        token_response.get("instance_url"), what="instance URL"
    )
    if is_sandbox is None:
        is_sandbox = oauth.login_url_is_sandbox(login_url) or ".sandbox." in instance_url
    return instance_url, is_sandbox


def _take_grant(connection, *, org, identity: dict, token_response: dict) -> None:
    """The row takes the grant's identity and tokens, connected as of now."""
    now = timezone.now()
    connection.org = org
    connection.sf_user_id = identity["user_id"]
    connection.username = identity["username"]
    connection.display_name = identity.get("display_name") or ""
    connection.email = identity.get("email") or ""
    connection.access_token = token_response["access_token"]
    connection.refresh_token = token_response["refresh_token"]
    connection.token_version += 1
    connection.issued_at = tokens.issued_at(token_response)
    connection.connected_at = now
    connection.last_refreshed_at = None
    connection.refresh_claimed_at = None
    connection.state = ConnectionState.CONNECTED
    connection.state_reason = ""
    connection.state_changed_at = now
    connection.last_error = ""


def _org_upsert(*, org_id: str, instance_url: str, is_sandbox: bool) -> SalesforceOrg:
    org, created = SalesforceOrg.objects.select_for_update().get_or_create(
        org_id=org_id, defaults={"instance_url": instance_url, "is_sandbox": is_sandbox}
    )
    if not created and (org.instance_url, org.is_sandbox) != (instance_url, is_sandbox):
        org.instance_url, org.is_sandbox = instance_url, is_sandbox
        org.full_clean()
        org.save(update_fields=["instance_url", "is_sandbox"])
    elif created:
        org.full_clean()
    return org


def connection_refresh(*, connection: SalesforceConnection) -> SalesforceConnection:
    """R12: get a new access token with the refresh token, at most one HTTP attempt.

    Returns ``connection`` reloaded with the newest tokens: ours, or another worker's when it
    refreshed first. Raises NeedsReconnect when the grant is gone (after marking the connection),
    Transient when Salesforce cannot be reached or fails, or while another worker is refreshing
    this connection (retry shortly: its new token will be there), SalesforceProblem otherwise.
    """
    tokens.check_usable(connection)
    version = connection.token_version
    if not tokens.refresh_claim(connection=connection, version=version):
        return tokens.refreshed_elsewhere(connection=connection, version=version)
    try:
        # POST /services/oauth2/token grant_type=refresh_token. Salesforce Help, "OAuth 2.0 Refresh
        # Token Flow for Renewed Sessions":
        # https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
        body = oauth.token_request(
            login_url=connection.login_url,
            data={"grant_type": "refresh_token", "refresh_token": connection.refresh_token},
        )
    except (oauth.OAuthError, oauth.Unreachable) as exc:
        problem = classify_refresh(exc)
        if isinstance(problem, NeedsReconnect):
            return tokens.refresh_refused(connection=connection, version=version, exc=exc)
        message = str(exc) if isinstance(exc, oauth.OAuthError) else problem.message
        tokens.refresh_release(connection=connection, version=version, message=message)
        raise problem from exc
    try:
        oauth.check_token_urls(body, connect=False)
    except oauth.OAuthError as exc:
        # R17: the new token is not stored, and the connection stops until the user connects
        # again: a refresh answer that sends us elsewhere is not Salesforce's to trust.
        return tokens.refresh_refused(connection=connection, version=version, exc=exc)
    return tokens.refresh_store(connection=connection, version=version, body=body)


def connection_mark_needs_reconnect(
    *, connection: SalesforceConnection, reason: str
) -> SalesforceConnection:
    """Stop using the connection until the user connects again (R12); tokens are kept so a
    disconnect can still revoke them."""
    connection.state = ConnectionState.NEEDS_RECONNECT
    connection.state_reason = reason
    connection.state_changed_at = timezone.now()
    connection.last_error = reason
    connection.save(update_fields=["state", "state_reason", "state_changed_at", "last_error"])
    logger.warning("Connection %s needs reconnect: %s", connection.pk, reason)
    return connection


def connection_disconnect(*, connection: SalesforceConnection) -> SalesforceConnection:
    """R17: revoke at Salesforce, forget the tokens, keep the identity (and the sync engine keeps
    the links), so reconnecting the same Salesforce user resumes."""
    token = connection.refresh_token or connection.access_token
    if token:
        _revoke_quietly(connection=connection, token=token)
    with transaction.atomic():
        SalesforceConnection.objects.filter(pk=connection.pk).update(
            access_token=None,
            refresh_token=None,
            token_version=F("token_version") + 1,
            state=ConnectionState.DISCONNECTED,
            state_reason="",
            state_changed_at=timezone.now(),
        )
        connection.refresh_from_db()
        salesforce_disconnected.send(sender=SalesforceConnection, connection=connection)
    logger.info("Salesforce disconnected: connection %s", connection.pk)
    return connection


def user_delete(*, user) -> None:
    """Delete ``user`` and everything of theirs (their tasks, links and sync history go with them
    through the models' CASCADE), after revoking their Salesforce grant (R17): a token we can no
    longer use or revoke once its row is gone must not stay valid at Salesforce.

    The revoke is an HTTP call, made before the transaction that deletes; if Salesforce cannot be
    reached the user is deleted anyway (the token is then forgotten, as on a disconnect)."""
    connection = SalesforceConnection.objects.filter(user=user).first()
    if connection is not None:
        token = connection.refresh_token or connection.access_token
        if token:
            _revoke_quietly(connection=connection, token=token)
    pk = user.pk
    with transaction.atomic():
        user.delete()
    logger.info("User %s deleted", pk)


def _revoke_quietly(*, connection, token: str, login_url: str = "") -> None:
    try:
        # POST /services/oauth2/revoke with the refresh token. Salesforce Help, "Revoke OAuth Tokens
        # Programmatically":
        # https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5
        oauth.revoke(login_url=login_url or connection.login_url, token=token)
    except oauth.OAuthError as exc:
        if exc.error != "invalid_token":  # already revoked or expired: the goal is met
            logger.warning(
                "Salesforce did not revoke the token of connection %s: %s", connection.pk, exc
            )
    except oauth.Unreachable as exc:
        logger.warning(
            "Could not reach Salesforce to revoke the token of connection %s (%s); "
            "the stored tokens are deleted anyway",
            connection.pk,
            type(exc).__name__,
        )
