"""Services for a user's Salesforce connection (R12, R17): store, refresh, mark, disconnect.

Tokens change only through a compare-and-swap on ``token_version`` (UPDATE … WHERE pk = … AND
token_version = v), so two workers refreshing at once never lose a rotated refresh token. No
database transaction is held open across an HTTP call to Salesforce.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import ConnectionState, SalesforceConnection, SalesforceOrg
from accounts.salesforce import oauth
from accounts.salesforce.errors import NeedsReconnect, SalesforceProblem, Transient
from accounts.signals import salesforce_connected, salesforce_disconnected

logger = logging.getLogger(__name__)

# Terminal answers to a refresh: the user must authorise again. Salesforce Help, "OAuth 2.0
# Authorization Errors":
# https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
TERMINAL_GRANT_ERRORS = {"invalid_grant", "inactive_user", "inactive_org"}


def _issued_at(token_response: dict) -> datetime:
    """``issued_at`` is epoch milliseconds as a string. Salesforce Help, "OAuth 2.0 Web Server Flow
    for Web App Integration":
    https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm&language=en_US
    """
    try:
        return datetime.fromtimestamp(int(token_response["issued_at"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError):
        return timezone.now()


def connection_store(
    *, user, token_response: dict, identity: dict, login_url: str, is_sandbox: bool | None = None
) -> SalesforceConnection:
    """Save a fresh grant for ``user``: a first connect, a reconnect of the same Salesforce user
    (the row resumes) or a switch to another user or org (the row takes the new identity and
    receivers of ``salesforce_connected`` see ``is_new_identity=True``)."""
    access_token = token_response.get("access_token")
    refresh_token = token_response.get("refresh_token")
    if not access_token or not refresh_token:
        raise ValueError("A Salesforce connection needs both an access and a refresh token.")
    org_id = identity["organization_id"]
    sf_user_id = identity["user_id"]
    # R17: never store (and so never call, nor link to) an instance outside Salesforce.
    instance_url = oauth.trusted_salesforce_url(
        token_response.get("instance_url"), what="instance URL"
    )
    if is_sandbox is None:
        is_sandbox = oauth.login_url_is_sandbox(login_url) or ".sandbox." in instance_url
    now = timezone.now()
    with transaction.atomic():
        org = _org_upsert(org_id=org_id, instance_url=instance_url, is_sandbox=is_sandbox)
        connection = (
            SalesforceConnection.objects.select_for_update()
            .select_related("org")
            .filter(user=user)
            .first()
        )
        previous_org_id = connection.org.org_id if connection else None
        previous_sf_user_id = connection.sf_user_id if connection else None
        is_new_identity = connection is not None and (previous_org_id, previous_sf_user_id) != (
            org_id,
            sf_user_id,
        )
        # R17: the grant of the Salesforce user we leave is revoked once the new one is stored.
        previous_grant = (
            (connection.login_url, connection.refresh_token or connection.access_token)
            if is_new_identity
            else None
        )
        if connection is None:
            connection = SalesforceConnection(user=user)
        connection.org = org
        connection.sf_user_id = sf_user_id
        connection.username = identity["username"]
        connection.display_name = identity.get("display_name") or ""
        connection.email = identity.get("email") or ""
        connection.instance_url = instance_url
        connection.login_url = login_url.rstrip("/")
        connection.is_sandbox = is_sandbox
        connection.access_token = access_token
        connection.refresh_token = refresh_token
        connection.token_version += 1
        connection.issued_at = _issued_at(token_response)
        connection.connected_at = now
        connection.last_refreshed_at = None
        connection.refresh_claimed_at = None
        connection.state = ConnectionState.CONNECTED
        connection.state_reason = ""
        connection.state_changed_at = now
        connection.last_error = ""
        connection.full_clean()
        connection.save()
        salesforce_connected.send(
            sender=SalesforceConnection,
            connection=connection,
            is_new_identity=is_new_identity,
            previous_org_id=previous_org_id,
            previous_sf_user_id=previous_sf_user_id,
        )
    if previous_grant and previous_grant[1]:
        # After the commit: never an HTTP call inside a transaction. Best effort: the tokens
        # are already replaced here, so a failure leaves only a grant we no longer hold.
        _revoke_quietly(connection=connection, token=previous_grant[1], login_url=previous_grant[0])
    logger.info(
        "Salesforce connected: user %s as %s in org %s (new identity: %s)",
        user.pk,
        sf_user_id,
        org_id,
        is_new_identity,
    )
    return connection


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
    if not connection.is_usable:
        raise NeedsReconnect(
            connection.state_reason or "Salesforce is not connected.", code=connection.state
        )
    version = connection.token_version
    # One refresher at a time: with rotation, a second worker presenting the same refresh token
    # gets invalid_grant before the first has stored the new one, and would mark a healthy
    # connection "needs reconnect". The claim is a row update, not a transaction held over HTTP.
    if not _refresh_claim(connection=connection, version=version):
        return _refreshed_elsewhere(connection=connection, version=version)
    try:
        # POST /services/oauth2/token grant_type=refresh_token. Salesforce Help, "OAuth 2.0 Refresh
        # Token Flow for Renewed Sessions":
        # https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
        body = oauth.token_request(
            login_url=connection.login_url,
            data={"grant_type": "refresh_token", "refresh_token": connection.refresh_token},
        )
    except oauth.OAuthError as exc:
        if exc.error in TERMINAL_GRANT_ERRORS:
            return _refresh_refused(connection=connection, version=version, exc=exc)
        _refresh_release(connection=connection, version=version, message=str(exc))
        if exc.status is not None and exc.status >= 500:
            raise Transient(
                exc.description or exc.error, code=exc.error, status=exc.status
            ) from exc
        raise SalesforceProblem(
            exc.description or exc.error, code=exc.error, status=exc.status
        ) from exc
    except oauth.Unreachable as exc:
        message = f"connection problem while refreshing: {type(exc).__name__}"
        _refresh_release(connection=connection, version=version, message=message)
        raise Transient(message) from exc
    try:
        oauth.check_token_urls(body, connect=False)
    except oauth.OAuthError as exc:
        # R17: the new token is not stored, and the connection stops until the user connects
        # again: a refresh answer that sends us elsewhere is not Salesforce's to trust.
        return _refresh_refused(connection=connection, version=version, exc=exc)
    return _refresh_store(connection=connection, version=version, body=body)


def _refresh_claim(*, connection, version: int) -> bool:
    now = timezone.now()
    # A claim older than two HTTP timeouts belongs to a worker that died mid-refresh.
    stale = now - timedelta(seconds=2 * settings.SALESFORCE_TIMEOUT + 5)
    claimed = (
        SalesforceConnection.objects.filter(
            pk=connection.pk, token_version=version, state=ConnectionState.CONNECTED
        )
        .filter(Q(refresh_claimed_at__isnull=True) | Q(refresh_claimed_at__lt=stale))
        .update(refresh_claimed_at=now)
    )
    return bool(claimed)


def _refreshed_elsewhere(*, connection, version: int) -> SalesforceConnection:
    connection.refresh_from_db()
    if not connection.is_usable:
        raise NeedsReconnect(
            connection.state_reason or "Salesforce is not connected.", code=connection.state
        )
    if connection.token_version != version:
        return connection  # someone already stored newer tokens: use them
    raise Transient(
        "Another worker is refreshing this Salesforce connection; try again shortly.",
        code="REFRESH_IN_PROGRESS",
    )


def _refresh_release(*, connection, version: int, message: str) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk, token_version=version).update(
        last_error=message[:1000], refresh_claimed_at=None
    )
    connection.last_error = message[:1000]
    logger.warning("Refreshing connection %s failed: %s", connection.pk, message)


def _refresh_store(*, connection, version: int, body: dict) -> SalesforceConnection:
    updates = {
        "access_token": body["access_token"],
        "token_version": F("token_version") + 1,
        "issued_at": _issued_at(body),
        "last_refreshed_at": timezone.now(),
        "last_error": "",
        "refresh_claimed_at": None,
    }
    # Only refresh token rotation sends a new refresh token (Salesforce Help, "OAuth 2.0 Refresh
    # Token Flow for Renewed Sessions", cited in connection_refresh).
    if body.get("refresh_token"):
        updates["refresh_token"] = body["refresh_token"]
    if body.get("instance_url"):  # checked by check_token_urls
        updates["instance_url"] = oauth.trusted_salesforce_url(
            body["instance_url"], what="instance URL"
        )
    swapped = SalesforceConnection.objects.filter(
        pk=connection.pk, token_version=version, state=ConnectionState.CONNECTED
    ).update(**updates)
    connection.refresh_from_db()
    if swapped:
        logger.info("Salesforce access token refreshed for connection %s", connection.pk)
        return connection
    # Someone else changed the tokens while we were asking: theirs are at least as new.
    logger.info("Connection %s was refreshed by another worker; using its tokens", connection.pk)
    if not connection.is_usable:
        raise NeedsReconnect(connection.state_reason or "Salesforce is not connected.")
    return connection


def _refresh_refused(*, connection, version: int, exc: oauth.OAuthError) -> SalesforceConnection:
    # With rotation, a worker holding the previous refresh token gets invalid_grant right after
    # another worker rotated it: that is not a revoked grant.
    connection.refresh_from_db()
    if connection.token_version != version and connection.is_usable:
        logger.info("Refresh token of connection %s was rotated by another worker", connection.pk)
        return connection
    reason = exc.description or exc.error
    now = timezone.now()
    marked = SalesforceConnection.objects.filter(pk=connection.pk, token_version=version).update(
        state=ConnectionState.NEEDS_RECONNECT,
        state_reason=reason,
        state_changed_at=now,
        last_error=str(exc),
        refresh_claimed_at=None,
    )
    connection.refresh_from_db()
    if not marked and connection.is_usable:
        return connection
    logger.warning(
        "Salesforce refused the refresh token of connection %s (%s): needs reconnect",
        connection.pk,
        exc.error,
    )
    raise NeedsReconnect(reason, code=exc.error, status=exc.status)


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
