"""A Task field's input value (JSON) -> its stored value, refused with Salesforce's error codes
("Task", Object Reference; "Valid Date and DateTime Formats", REST API Developer Guide; both
cited in records.py). Runs inside the caller's store transaction (picklists and owners are read).
"""

from __future__ import annotations

from . import ids
from .clock import is_date, parse_datetime_ms
from .errors import RecordError
from .schema import Field
from .store import Store


def convert(field: Field, value, org_id: str, store: Store):
    """JSON input value -> stored value, with Salesforce's error codes."""
    if value is None:
        if not field.nillable:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{field.name}]",
                [field.name],
            )
        return None
    if field.type in ("string", "textarea", "combobox", "picklist"):
        return _text(field, value, org_id, store)
    if field.type == "boolean":
        if not isinstance(value, bool):
            raise _parser_error(field, value)
        return value
    if field.type == "date":
        # REST dates are yyyy-MM-dd with no offset ("Valid Date and DateTime Formats"); stored as
        # given, never shifted.
        if not is_date(value):
            raise _parser_error(field, value)
        return value
    if field.type == "datetime":
        try:
            return parse_datetime_ms(value) if isinstance(value, str) else _bad(field, value)
        except ValueError:
            raise _parser_error(field, value) from None
    if field.type == "reference":
        return _reference(field, value, org_id, store)
    raise _parser_error(field, value)


def _text(field: Field, value, org_id: str, store: Store) -> str:
    """A string, text area, combobox or picklist value: a JSON string or number, within length."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _parser_error(field, value)
    value = str(value)
    if field.length and len(value) > field.length:
        shown = value[:50] + ("..." if len(value) > 50 else "")
        raise RecordError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {shown} (max length={field.length})",
            [field.name],
        )
    if field.type == "picklist":
        return _picklist_value(field, value, org_id, store)
    return value


def _reference(field: Field, value, org_id: str, store: Store) -> str:
    """A record id, as its 18-character form; an owner must be a user of the org."""
    if not ids.is_valid(value):
        raise RecordError(
            "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
        )
    value = ids.to18(value)
    if field.name == "OwnerId":
        user = store.user(value)
        if user is None or user["org_id"] != org_id:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name]
            )
    return value


def _bad(field: Field, value):
    raise _parser_error(field, value)


def _parser_error(field: Field, value) -> RecordError:
    kind = {"datetime": "datetime", "date": "date", "boolean": "boolean"}.get(field.type, "string")
    return RecordError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from VALUE_STRING value {value} or request may be"
        f" missing a required field at [line:1, column:1]",
        [field.name],
    )


def _picklist_value(field: Field, value: str, org_id: str, store: Store) -> str:
    if field.name in ("Status", "Priority"):
        kind = "status" if field.name == "Status" else "priority"
        row = store.picklist_value(org_id, kind, value)
        if row is not None:
            return row["api_name"]
        # Whether Salesforce rejects an unknown Status is not documented ("Task" does not call it a
        # restricted picklist); we reject unknown values like a restricted
        # picklist so a hard-coded "Completed" fails loudly in a renamed org (docs/emulator.md).
    elif not field.restricted:
        return value
    else:
        for allowed in field.picklist:
            if allowed.lower() == value.lower():
                return allowed
    raise RecordError(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        f"{field.label}: bad value for restricted picklist field: {value}",
        [field.name],
    )
