"""R12: Salesforce's answers sorted into the few classes the engine reacts to. Pure: no database,
no network. The exceptions are the ones simple-salesforce raises, built with the bodies Salesforce
sends ("Status Codes and Error Responses", REST API Developer Guide:
https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html)."""

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from accounts.salesforce import errors

URL = "https://example.my.salesforce.com/services/data/v59.0/sobjects/Task/00T000000000001AAA"


def sf_error(cls, status, content):
    return cls(URL, status, "Task", content)


def body(code, message, fields=None):
    error = {"message": message, "errorCode": code}
    if fields is not None:
        error["fields"] = fields
    return [error]


def test_an_expired_access_token_is_refreshed_not_failed():
    # R12: 401 INVALID_SESSION_ID -> refresh once and retry.
    problem = errors.classify(
        sf_error(
            SalesforceExpiredSession,
            401,
            body("INVALID_SESSION_ID", "Session expired or invalid"),
        )
    )
    assert type(problem) is errors.SessionExpired
    assert (problem.code, problem.status, problem.message) == (
        "INVALID_SESSION_ID",
        401,
        "Session expired or invalid",
    )


def test_any_401_is_a_session_to_refresh_even_without_a_body():
    # R12
    problem = errors.classify(sf_error(SalesforceExpiredSession, 401, ""))
    assert type(problem) is errors.SessionExpired
    assert problem.message == "Session expired or invalid"


def test_the_org_over_its_api_limit_pauses_the_org():
    # R12/R13: 403 REQUEST_LIMIT_EXCEEDED -> OverLimit, never a record failure.
    problem = errors.classify(
        sf_error(
            SalesforceRefusedRequest,
            403,
            body("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
        )
    )
    assert type(problem) is errors.OverLimit
    assert (problem.code, problem.status) == ("REQUEST_LIMIT_EXCEEDED", 403)
    assert problem.message == "TotalRequests Limit exceeded."


def test_a_403_for_another_reason_is_a_rejection_not_a_limit():
    # R12: no access to one record fails that record only.
    problem = errors.classify(
        sf_error(
            SalesforceRefusedRequest,
            403,
            body("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id"),
        )
    )
    assert type(problem) is errors.RecordRejected


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient_whatever_the_body(status):
    # R12: 5xx and maintenance pages (HTML, not JSON) are retried with back-off.
    problem = errors.classify(
        sf_error(SalesforceGeneralError, status, "<html><body>Down for maintenance</body></html>")
    )
    assert type(problem) is errors.Transient
    assert problem.status == status
    assert problem.message == "<html><body>Down for maintenance</body></html>"


@pytest.mark.parametrize(
    ("cls", "status"), [(SalesforceMalformedRequest, 400), (SalesforceGeneralError, 500)]
)
def test_a_locked_row_is_transient_with_either_status(cls, status):
    # R12: UNABLE_TO_LOCK_ROW comes back as 400 from some endpoints and 500 from others.
    problem = errors.classify(
        sf_error(
            cls,
            status,
            body("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", []),
        )
    )
    assert type(problem) is errors.Transient
    assert problem.code == "UNABLE_TO_LOCK_ROW"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ENTITY_IS_DELETED", "entity is deleted"),
        ("NOT_FOUND", "The requested resource does not exist"),
    ],
)
def test_a_record_already_gone_means_the_goal_is_reached(code, message):
    # R12: 404 ENTITY_IS_DELETED / NOT_FOUND -> done, not failed.
    problem = errors.classify(sf_error(SalesforceResourceNotFound, 404, body(code, message, [])))
    assert type(problem) is errors.AlreadyDeleted
    assert (problem.code, problem.status, problem.message) == (code, 404, message)


def test_a_bad_reference_is_a_rejection_never_a_deletion():
    # R12: INVALID_CROSS_REFERENCE_KEY (an id the org does not know, or no access) marks the
    # record failed; taking it for "already deleted" would tombstone a live task.
    problem = errors.classify(
        sf_error(
            SalesforceMalformedRequest,
            400,
            body("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"]),
        )
    )
    assert type(problem) is errors.RecordRejected
    assert problem.fields == ["OwnerId"]


def test_a_rejected_record_keeps_salesforces_message_and_fields():
    # R12: one record refused -> failed with Salesforce's own words.
    message = "Subject: data value too large: xxxx (max length=255)"
    problem = errors.classify(
        sf_error(SalesforceMalformedRequest, 400, body("STRING_TOO_LONG", message, ["Subject"]))
    )
    assert type(problem) is errors.RecordRejected
    assert (problem.code, problem.message, problem.fields) == (
        "STRING_TOO_LONG",
        message,
        ["Subject"],
    )
    assert str(problem) == message


def test_a_validation_rule_is_a_rejection():
    # R12
    problem = errors.classify(
        sf_error(
            SalesforceMalformedRequest,
            400,
            body("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Due date must be in the future", []),
        )
    )
    assert type(problem) is errors.RecordRejected
    assert problem.fields == []


def test_an_error_body_without_fields_or_message_still_says_something():
    # Salesforce sometimes leaves "fields" out; the user still sees a message.
    problem = errors.classify(sf_error(SalesforceMalformedRequest, 400, [{"errorCode": "X"}]))
    assert type(problem) is errors.RecordRejected
    assert problem.fields == []
    assert problem.message == "HTTP 400"


def test_a_body_that_is_not_json_is_kept_short():
    problem = errors.classify(sf_error(SalesforceMalformedRequest, 400, "x" * 2_000))
    assert type(problem) is errors.RecordRejected
    assert problem.message == "x" * 500


def test_a_json_body_given_as_text_is_parsed():
    problem = errors.classify(
        sf_error(
            SalesforceGeneralError,
            409,
            '[{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED"}]',
        )
    )
    assert type(problem) is errors.AlreadyDeleted


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("refused"),
        requests.Timeout("slow"),
        requests.exceptions.ReadTimeout("slow"),
        requests.exceptions.ConnectTimeout("slow"),
        requests.exceptions.ChunkedEncodingError("cut"),
    ],
)
def test_network_trouble_is_transient(exc):
    # R12: timeouts and lost connections are retried.
    problem = errors.classify(exc)
    assert type(problem) is errors.Transient
    assert problem.message.endswith(type(exc).__name__)


def test_a_problem_already_classified_passes_through_unchanged():
    problem = errors.OverLimit("over", code="REQUEST_LIMIT_EXCEEDED")
    assert errors.classify(problem) is problem


def test_an_error_that_is_not_from_salesforce_is_raised_again():
    # A bug in our own code must not be mistaken for a Salesforce answer and retried for a day.
    with pytest.raises(KeyError):
        errors.classify(KeyError("Subject"))


def test_any_simple_salesforce_error_class_is_read_by_its_status_and_body():
    # The class simple-salesforce picked does not matter; the status and errorCode do.
    problem = errors.classify(
        sf_error(SalesforceError, 400, body("REQUEST_LIMIT_EXCEEDED", "over", []))
    )
    assert type(problem) is errors.OverLimit


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("UNABLE_TO_LOCK_ROW", errors.Transient),
        ("ENTITY_IS_DELETED", errors.AlreadyDeleted),
        ("REQUEST_LIMIT_EXCEEDED", errors.OverLimit),
        ("STRING_TOO_LONG", errors.RecordRejected),
        ("DUPLICATES_DETECTED", errors.RecordRejected),
        ("FIELD_CUSTOM_VALIDATION_EXCEPTION", errors.RecordRejected),
        ("INVALID_CROSS_REFERENCE_KEY", errors.RecordRejected),
    ],
)
def test_each_record_of_a_collection_is_classified_by_its_status_code(code, expected):
    # R12: a collection's per-record errors use the key "statusCode" ("Create Records Using
    # sObject Collections"); one rejected record does not fail the batch.
    problem = errors.classify_record_error(
        {"statusCode": code, "message": f"{code} message", "fields": ["Subject"]}
    )
    assert type(problem) is expected
    assert (problem.code, problem.message) == (code, f"{code} message")


def test_a_rejected_record_of_a_collection_keeps_its_fields():
    problem = errors.classify_record_error(
        {"statusCode": "STRING_TOO_LONG", "message": "too long", "fields": ["Description"]}
    )
    assert problem.fields == ["Description"]


def test_a_collection_error_without_a_message_shows_its_code():
    problem = errors.classify_record_error({"statusCode": "DUPLICATES_DETECTED"})
    assert problem.message == "DUPLICATES_DETECTED"
    assert problem.fields == []


def test_an_answer_the_library_cannot_read_is_transient_but_our_own_type_error_is_raised():
    # R12: a 2xx answer simple-salesforce cannot read (its own TypeError or a JSON error) is like a
    # lost answer; the same error class raised by our code is a bug and is raised again.
    import json

    try:
        json.loads("<html>maintenance</html>")
    except ValueError as exc:
        assert isinstance(errors.classify(exc), errors.Transient)
    with pytest.raises(TypeError):
        errors.classify(TypeError("ours"))


# --- a failed token refresh (R12) ---------------------------------------------------------------

# (OAuth error code, HTTP status, what it means). "OAuth 2.0 Authorization Errors" (Salesforce
# Help): invalid_grant, inactive_user and inactive_org mean the grant is gone for good.
REFRESH_ANSWERS = [
    ("invalid_grant", 400, errors.NeedsReconnect),
    ("inactive_user", 400, errors.NeedsReconnect),
    ("inactive_org", 400, errors.NeedsReconnect),
    ("unknown_error", 503, errors.Transient),  # Salesforce failed: try again later
    ("invalid_client_id", 400, errors.SalesforceProblem),  # misconfigured: neither
]


@pytest.mark.parametrize(("error", "status", "expected"), REFRESH_ANSWERS)
def test_a_refused_refresh_is_terminal_only_when_the_grant_is_gone(error, status, expected):
    problem = errors.classify_refresh(errors.OAuthError(error, "Salesforce's words", status=status))
    assert type(problem) is expected
    assert (problem.code, problem.status, problem.message) == (error, status, "Salesforce's words")


def test_a_refresh_that_cannot_reach_salesforce_is_transient():
    problem = errors.classify_refresh(errors.Unreachable("ConnectTimeout"))
    assert type(problem) is errors.Transient
    assert problem.message == "connection problem while refreshing: Unreachable"
