"""A connection's tokens, changed only by compare-and-swap on ``token_version`` (UPDATE … WHERE
pk = … AND token_version = v), so two workers refreshing at once never lose a rotated refresh
token (R12). The steps of ``accounts.services.connection_refresh``; no HTTP here."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import ConnectionState, SalesforceConnection
from accounts.salesforce import oauth
from accounts.salesforce.errors import NeedsReconnect, Transient

logger = logging.getLogger(__name__)


def issued_at(token_response: dict) -> datetime:
    """``issued_at`` is epoch milliseconds as a string. Salesforce Help, "OAuth 2.0 Web Server Flow
    for Web App Integration":
    https://help.salesforce.com/HTViewHelpDoc?id=remoteaccess_oauth_web_server_flow.htm&language=en_US
    """
    try:
        return datetime.fromtimestamp(int(token_response["issued_at"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError):
        return timezone.now()


def check_usable(connection: SalesforceConnection) -> None:
    if not connection.is_usable:
        raise NeedsReconnect(
            connection.state_reason or "Salesforce is not connected.", code=connection.state
        )


def refresh_claim(*, connection, version: int) -> bool:
    """One refresher at a time: with rotation, a second worker presenting the same refresh token
    gets invalid_grant before the first has stored the new one, and would mark a healthy
    connection "needs reconnect". The claim is a row update, not a transaction held over HTTP."""
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


def refreshed_elsewhere(*, connection, version: int) -> SalesforceConnection:
    connection.refresh_from_db()
    check_usable(connection)
    if connection.token_version != version:
        return connection  # someone already stored newer tokens: use them
    raise Transient(
        "Another worker is refreshing this Salesforce connection; try again shortly.",
        code="REFRESH_IN_PROGRESS",
    )


def refresh_release(*, connection, version: int, message: str) -> None:
    SalesforceConnection.objects.filter(pk=connection.pk, token_version=version).update(
        last_error=message[:1000], refresh_claimed_at=None
    )
    connection.last_error = message[:1000]
    logger.warning("Refreshing connection %s failed: %s", connection.pk, message)


def refresh_store(*, connection, version: int, body: dict) -> SalesforceConnection:
    updates = {
        "access_token": body["access_token"],
        "token_version": F("token_version") + 1,
        "issued_at": issued_at(body),
        "last_refreshed_at": timezone.now(),
        "last_error": "",
        "refresh_claimed_at": None,
    }
    # Only refresh token rotation sends a new refresh token (Salesforce Help, "OAuth 2.0 Refresh
    # Token Flow for Renewed Sessions", cited in accounts.salesforce.oauth).
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


def refresh_refused(*, connection, version: int, exc: oauth.OAuthError) -> SalesforceConnection:
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
