"""Salesforce errors, classified once, here (R12). The engine reacts to the class, never to a code.

Sources: REST "Status Codes and Error Responses" (errorcodes.htm), the OAuth refresh-token flow
(invalid_grant), and simple-salesforce's exception mapping (util.exception_handler). The errors of
the OAuth endpoints (``OAuthError``, ``Unreachable``) are here too, beside what a refresh's
failure means for the sync (``classify_refresh``).
"""

from __future__ import annotations

import json

import requests
from simple_salesforce.exceptions import SalesforceError


class SalesforceProblem(Exception):
    """Base class. ``message`` is Salesforce's own words (never a token); ``code`` its errorCode."""

    def __init__(self, message: str = "", *, code: str = "", status: int | None = None):
        super().__init__(message or code)
        self.message = message or code
        self.code = code
        self.status = status


class NeedsReconnect(SalesforceProblem):
    """The refresh token is revoked or expired (invalid_grant): the user must connect again."""


class OverLimit(SalesforceProblem):
    """The org ran out of API calls (403 REQUEST_LIMIT_EXCEEDED): pause the org, don't spin."""


class RecordRejected(SalesforceProblem):
    """Salesforce refused this record (validation rule, too long, bad picklist, no access)."""

    def __init__(self, message="", *, code="", status=None, fields=()):
        super().__init__(message, code=code, status=status)
        self.fields = list(fields or ())


class Transient(SalesforceProblem):
    """Worth retrying with back-off: 5xx, timeouts, lost connections, UNABLE_TO_LOCK_ROW."""


class AlreadyDeleted(SalesforceProblem):
    """The record is already gone (404 ENTITY_IS_DELETED / NOT_FOUND): a delete's goal is met."""


class SessionExpired(SalesforceProblem):
    """401 INVALID_SESSION_ID: refresh the access token once and retry."""


class OAuthError(Exception):
    """Salesforce answered an OAuth call with an error. ``error`` is its code (invalid_grant…),
    ``description`` its own words; neither ever holds a token."""

    def __init__(self, error: str, description: str = "", *, status: int | None = None):
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description
        self.status = status


class Unreachable(Exception):
    """Salesforce could not be reached for an OAuth call (connection refused, timeout, TLS):
    nothing was decided there. The message names the kind of failure, never a token."""


# Terminal answers to a refresh: the user must authorise again. Salesforce Help, "OAuth 2.0
# Authorization Errors":
# https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_flow_errors.htm&language=en_US&type=5
TERMINAL_GRANT_ERRORS = {"invalid_grant", "inactive_user", "inactive_org"}


def classify_refresh(exc: OAuthError | Unreachable) -> SalesforceProblem:
    """A failed token refresh (R12): NeedsReconnect when the grant is gone, Transient when
    Salesforce failed or could not be reached, SalesforceProblem otherwise."""
    if isinstance(exc, Unreachable):
        return Transient(f"connection problem while refreshing: {type(exc).__name__}")
    if exc.error in TERMINAL_GRANT_ERRORS:
        return NeedsReconnect(exc.description or exc.error, code=exc.error, status=exc.status)
    if exc.status is not None and exc.status >= 500:
        return Transient(exc.description or exc.error, code=exc.error, status=exc.status)
    return SalesforceProblem(exc.description or exc.error, code=exc.error, status=exc.status)


TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "REQUEST_RUNNING_TOO_LONG"}
# R12: only these mean "already deleted". INVALID_CROSS_REFERENCE_KEY (an id this org does not
# know, or no access to it) is a rejection: the record is marked failed, never tombstoned.
DELETED_CODES = {"ENTITY_IS_DELETED", "NOT_FOUND"}
LIMIT_CODES = {"REQUEST_LIMIT_EXCEEDED", "TOTAL_REQUESTS_LIMIT_EXCEEDED"}


def _first_error(content) -> tuple[str, str, list]:
    """(errorCode, message, fields) from Salesforce's error list body, whatever its shape."""
    if isinstance(content, (bytes, str)):
        try:
            content = json.loads(content)
        except ValueError:
            return "", str(content)[:500], []
    if isinstance(content, list) and content and isinstance(content[0], dict):
        first = content[0]
        code = first.get("errorCode") or first.get("statusCode") or ""
        return code, first.get("message", ""), first.get("fields") or []
    if isinstance(content, dict):
        code = content.get("errorCode") or content.get("error") or ""
        message = content.get("message") or content.get("error_description") or ""
        return code, message, content.get("fields") or []
    return "", "", []


def classify_record_error(error: dict) -> SalesforceProblem:
    """One entry of a collection's per-record ``errors`` list (key ``statusCode``)."""
    code = error.get("statusCode") or error.get("errorCode") or ""
    message = error.get("message") or code
    if code in TRANSIENT_CODES:
        return Transient(message, code=code)
    if code in DELETED_CODES:
        return AlreadyDeleted(message, code=code)
    if code in LIMIT_CODES:
        return OverLimit(message, code=code)
    return RecordRejected(message, code=code, fields=error.get("fields") or [])


def classify(exc: BaseException) -> SalesforceProblem:
    """Map an exception raised while talking to Salesforce to one of the classes above."""
    if isinstance(exc, SalesforceProblem):
        return exc
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return Transient(f"connection problem: {type(exc).__name__}")
    if isinstance(exc, SalesforceError):
        code, message, fields = _first_error(exc.content)
        status = exc.status
        if status == 401 or code == "INVALID_SESSION_ID":
            return SessionExpired(message or "Session expired or invalid", code=code, status=status)
        if code in LIMIT_CODES:
            return OverLimit(message, code=code, status=status)
        if code in TRANSIENT_CODES or (status is not None and status >= 500):
            return Transient(message or f"HTTP {status}", code=code, status=status)
        if status == 404 or code in DELETED_CODES:
            return AlreadyDeleted(message, code=code, status=status)
        return RecordRejected(message or f"HTTP {status}", code=code, status=status, fields=fields)
    if isinstance(exc, requests.RequestException):
        return Transient(f"HTTP problem: {type(exc).__name__}")
    if _unreadable_answer(exc):
        # The library could not read a 2xx answer (not JSON, not the shape documented: a proxy's
        # page, a truncated body). Nothing says the call did not commit: like a lost answer (R10,
        # R12), transient.
        name = type(exc).__name__
        return Transient(f"Salesforce returned an answer that cannot be read ({name})")
    raise exc


def _unreadable_answer(exc: BaseException) -> bool:
    """A ValueError or TypeError raised inside simple-salesforce or the JSON decoder while it read
    an answer; the same error raised by our own code is a bug, and is raised again."""
    if not isinstance(exc, (ValueError, TypeError)):
        return False
    frame = exc.__traceback__
    while frame is not None and frame.tb_next is not None:
        frame = frame.tb_next
    where = frame.tb_frame.f_code.co_filename if frame is not None else ""
    return "simple_salesforce" in where or where.endswith(("json/decoder.py", "json/__init__.py"))
