"""The TaskChangeEvent Avro schema and its encoding (Change Data Capture Developer Guide,
"Change Event Message Structure", "ChangeEventHeader Fields"; Pub/Sub API guide, "Event
Deserialization Considerations").

The schema is a record whose first field is the ChangeEventHeader and whose other fields are the
Task fields, each optional (a union with null, default null). Change events leave out the record
Id (it is in the header's recordIds), IsDeleted and SystemModstamp. Dates travel as epoch values:
dateTimes as epoch milliseconds (long), dates as days since the epoch (int, logical type date).
`changedFields` and `nulledFields` are bitmaps: hexadecimal strings whose bit i stands for the
schema's top-level field i (the header is field 0).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
from functools import lru_cache

import fastavro

from ..schema import TASK_FIELDS

ENTITY = "Task"
EXCLUDED = {"Id", "IsDeleted", "SystemModstamp"}
CHANGE_TYPES = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
    "SNAPSHOT",
]

_STRINGS = {"array": {"type": "array", "items": "string"}}


def _avro_type(field_type: str):
    if field_type == "boolean":
        return "boolean"
    if field_type == "datetime":
        return "long"
    if field_type == "date":
        return {"type": "int", "logicalType": "date"}
    if field_type == "int":
        return "int"
    return "string"


EVENT_FIELDS = [f for f in TASK_FIELDS if f.name not in EXCLUDED]
FIELD_NAMES = ["ChangeEventHeader", *(f.name for f in EVENT_FIELDS)]

HEADER = {
    "type": "record",
    "name": "ChangeEventHeader",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": _STRINGS["array"]},
        {
            "name": "changeType",
            "type": {
                "type": "enum",
                "name": "ChangeType",
                "namespace": "com.sforce.eventbus",
                "symbols": CHANGE_TYPES,
            },
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": _STRINGS["array"]},
        {"name": "diffFields", "type": _STRINGS["array"]},
        {"name": "changedFields", "type": _STRINGS["array"]},
    ],
}

SCHEMA = {
    "type": "record",
    "name": "TaskChangeEvent",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "ChangeEventHeader", "type": HEADER},
        *(
            {"name": f.name, "type": ["null", _avro_type(f.type)], "default": None}
            for f in EVENT_FIELDS
        ),
    ],
}

SCHEMA_JSON = json.dumps(SCHEMA, separators=(",", ":"))
# A schema id is a fingerprint of the schema (Pub/Sub API, "SchemaInfo").
SCHEMA_ID = (
    base64.urlsafe_b64encode(hashlib.sha256(SCHEMA_JSON.encode()).digest()[:16])
    .decode("ascii")
    .rstrip("=")
)


@lru_cache(maxsize=1)
def _parsed():
    return fastavro.parse_schema(SCHEMA)


def bitmap(names: list[str]) -> list[str]:
    """The bitmap form of a list of top-level field names: ["0x..."], or [] for none."""
    value = 0
    for name in names:
        value |= 1 << FIELD_NAMES.index(name)
    if not value:
        return []
    digits = format(value, "X")
    return ["0x" + digits.zfill(len(digits) + len(digits) % 2)]


def _avro_value(field_type: str, value):
    if value is None:
        return None
    if field_type == "boolean":
        return bool(value)
    if field_type == "date":
        return dt.date.fromisoformat(str(value)[:10])
    if field_type in ("datetime", "int"):
        return int(value)
    return str(value)


def encode(
    *,
    change_type: str,
    record_id: str,
    commit_user: str,
    commit_ms: int,
    commit_number: int,
    transaction_key: str,
    sequence: int,
    values: dict,
    changed: list[str],
    nulled: list[str],
    origin: str = "",
) -> bytes:
    """One change event in Avro binary, `values` holding the fields the event carries."""
    event = {
        "ChangeEventHeader": {
            "entityName": ENTITY,
            "recordIds": [record_id],
            "changeType": change_type,
            "changeOrigin": origin,
            "transactionKey": transaction_key,
            "sequenceNumber": sequence,
            "commitTimestamp": commit_ms,
            "commitNumber": commit_number,
            "commitUser": commit_user,
            "nulledFields": bitmap(nulled),
            "diffFields": [],
            "changedFields": bitmap(changed),
        }
    }
    for field in EVENT_FIELDS:
        event[field.name] = _avro_value(field.type, values.get(field.name))
    out = io.BytesIO()
    fastavro.schemaless_writer(out, _parsed(), event)
    return out.getvalue()
