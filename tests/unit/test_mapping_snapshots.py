"""R1/R9: the snapshots that echo detection compares, as pure functions. No database, no network.

A push records ``remote_snapshot`` of what it sent (``synced_remote``); the next pull compares the
snapshot of what Salesforce returns with it. An echo is recognised only if the two are equal for
every record tasksync can write, whatever else the record holds; a real change must differ."""

import json
from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasksync.sync import mapping
from tasksync.sync.mapping import NOT_MAPPED, StatusMap

STATUSES = StatusMap()
RENAMED = StatusMap(open="Open", complete="Done")

# Local text never holds NUL: Django's form fields refuse it and PostgreSQL cannot store it.
local_text = st.characters(exclude_characters="\x00")
local_values = st.fixed_dictionaries(
    {
        "name": st.text(local_text, min_size=1, max_size=255),
        "status": st.sampled_from(["open", "complete"]),
        "priority": st.sampled_from(["normal", "high"]),
        "due_date": st.one_of(
            st.none(),
            st.dates(min_value=date(1700, 1, 1), max_value=date(4000, 12, 31)).map(date.isoformat),
        ),
        "details": st.text(local_text, max_size=300),
    }
)
templates = st.sampled_from(["{{activity_subject}}", "[ts] {{activity_subject}}", "Follow-up"])
status_maps = st.sampled_from([STATUSES, RENAMED])
# What Salesforce may hold for a Task that tasksync did not write (R1: unmapped values included).
remote_records = st.fixed_dictionaries(
    {
        "Subject": st.one_of(st.none(), st.text(max_size=255)),
        "Status": st.sampled_from(["Not Started", "Completed", "In Progress", "Deferred"]),
        "Priority": st.sampled_from(["Normal", "High", "Low"]),
        "ActivityDate": st.one_of(st.none(), st.just("2026-12-24")),
        "Description": st.one_of(st.none(), st.text(max_size=300)),
    }
)


def as_salesforce_returns(payload: dict, **extra) -> dict:
    """The record a query returns after Salesforce stored ``payload``: the same field values,
    plus attributes and system fields tasksync does not map."""
    return {
        "attributes": {"type": "Task", "url": "/services/data/v59.0/sobjects/Task/00T1"},
        "Id": "00T000000000001AAA",
        "OwnerId": "005000000000001AAA",
        "IsClosed": False,
        "SystemModstamp": "2026-12-01T10:00:00.000+0000",
        "LastModifiedDate": "2026-12-01T10:00:00.000+0000",
        **{k: v for k, v in payload.items() if k != "TaskSubtype"},
        **extra,
    }


@given(values=local_values, template=templates, statuses=status_maps)
def test_the_echo_of_a_create_is_recognised(values, template, statuses):
    # R9: what a create sent and what Salesforce then returns have the same snapshot.
    payload = mapping.create_payload(
        values, template=template, statuses=statuses, owner_id="005000000000001AAA"
    )
    synced_remote = mapping.remote_snapshot(payload)
    assert mapping.remote_snapshot(as_salesforce_returns(payload)) == synced_remote


@given(
    record=remote_records,
    values=local_values,
    fields=st.sets(st.sampled_from(mapping.LOCAL_FIELDS)),
    template=templates,
)
def test_the_echo_of_an_update_is_recognised(record, values, fields, template):
    # R9: after a push of some fields, the record Salesforce holds (its other fields untouched,
    # unmapped values included) matches synced_remote as the push recorded it.
    synced_remote = mapping.remote_snapshot(record)
    payload = mapping.update_payload(values, fields, template=template, statuses=STATUSES)
    synced_remote.update(mapping.remote_snapshot({**synced_remote, **payload}))
    after = as_salesforce_returns({**record, **payload})
    assert mapping.remote_snapshot(after) == synced_remote


@given(record=remote_records)
def test_a_record_compares_equal_to_itself_whatever_else_it_holds(record):
    # R9: attributes, system fields and unmapped fields never make a change.
    assert mapping.remote_snapshot(as_salesforce_returns(record)) == mapping.remote_snapshot(record)


@pytest.mark.parametrize(
    ("field", "before", "after"),
    [
        ("Subject", "Call Ana", "Call Ana!"),
        ("Status", "Not Started", "In Progress"),
        ("Priority", "Normal", "Low"),
        ("ActivityDate", None, "2026-12-24"),
        ("ActivityDate", "2026-12-24", "2026-12-25"),
        ("Description", None, "Bring the contract"),
        ("Description", "a", "b"),
    ],
)
def test_a_real_change_in_salesforce_is_not_taken_for_an_echo(field, before, after):
    # R5/R9: a change someone made in Salesforce differs from what was last synced.
    base = {
        "Subject": "Call Ana",
        "Status": "Not Started",
        "Priority": "Normal",
        "ActivityDate": None,
        "Description": None,
    }
    old = mapping.remote_snapshot({**base, field: before})
    new = mapping.remote_snapshot({**base, field: after})
    assert old != new
    assert [f for f in mapping.REMOTE_FIELDS if old[f] != new[f]] == [field]


def test_null_and_empty_text_are_the_same_value():
    # R9: Salesforce returns null for an empty Description; tasksync sends null for empty details.
    empty = {"Subject": None, "Description": None, "ActivityDate": ""}
    blank = {"Subject": "", "Description": "", "ActivityDate": None}
    assert mapping.remote_snapshot(empty) == mapping.remote_snapshot(blank)


def test_a_snapshot_holds_only_the_mapped_fields():
    snapshot = mapping.remote_snapshot(as_salesforce_returns({"Subject": "x"}))
    assert set(snapshot) == set(mapping.REMOTE_FIELDS)


@given(values=local_values)
def test_a_local_snapshot_is_json_and_round_trips_through_it(values):
    # synced_local lives in a JSONField: dates as ISO strings, details never None.
    task = SimpleNamespace(
        name=values["name"],
        status=values["status"],
        priority=values["priority"],
        due_date=date.fromisoformat(values["due_date"]) if values["due_date"] else None,
        details=values["details"] or None,
    )
    snapshot = mapping.local_snapshot(task)
    assert json.loads(json.dumps(snapshot)) == snapshot
    assert snapshot == {**values, "details": values["details"] or ""}


@given(values=local_values, statuses=status_maps)
def test_an_import_of_what_tasksync_created_gives_back_the_same_task(values, statuses):
    # R1: status, priority, due date and details survive the trip to Salesforce and back; the
    # name too under the default template once its blanks are normalised.
    payload = mapping.create_payload(
        values, template="{{activity_subject}}", statuses=statuses, owner_id="005x"
    )
    imported = mapping.import_values(
        mapping.remote_snapshot(as_salesforce_returns(payload)), statuses=statuses
    )
    assert {k: imported[k] for k in ("status", "priority", "due_date", "details")} == {
        k: values[k] for k in ("status", "priority", "due_date", "details")
    }
    assert imported["name"] == (" ".join(values["name"].split()) or mapping.UNTITLED)


@given(
    values=local_values,
    fields=st.sets(st.sampled_from(mapping.LOCAL_FIELDS)),
    template=templates,
)
def test_a_push_carries_only_the_fields_that_changed(values, fields, template):
    # R1: unmapped Salesforce values survive because untouched fields never travel; R2: without
    # the placeholder the Subject never travels after the create.
    payload = mapping.update_payload(values, fields, template=template, statuses=STATUSES)
    expected = {mapping.FIELD_MAP[f] for f in fields}
    if "{{activity_subject}}" not in template:
        expected.discard("Subject")
    assert set(payload) == expected


def test_unmapped_salesforce_values_change_nothing_locally():
    # R1: In Progress, Deferred, Low and an edited Subject leave the local task alone.
    snapshot = mapping.remote_snapshot(
        {"Subject": "Renamed there", "Status": "In Progress", "Priority": "Low"}
    )
    for field in ("Subject", "Status", "Priority"):
        assert mapping.local_value(field, snapshot, statuses=STATUSES) is NOT_MAPPED
    assert mapping.local_value("Status", {"Status": "Deferred"}, statuses=STATUSES) is NOT_MAPPED


def test_mapped_salesforce_values_come_back_in_local_words():
    snapshot = mapping.remote_snapshot(
        {
            "Status": "Completed",
            "Priority": "High",
            "ActivityDate": "2026-12-24",
            "Description": None,
        }
    )
    assert mapping.local_value("Status", snapshot, statuses=STATUSES) == "complete"
    assert mapping.local_value("Priority", snapshot, statuses=STATUSES) == "high"
    assert mapping.local_value("ActivityDate", snapshot, statuses=STATUSES) == "2026-12-24"
    assert mapping.local_value("Description", snapshot, statuses=STATUSES) == ""


def test_an_import_of_an_untitled_or_overlong_task_is_made_valid():
    values = mapping.import_values(
        {
            "Subject": " \n ",
            "Status": "Waiting on someone else",
            "Priority": "Low",
            "ActivityDate": None,
            "Description": "d" * 40_000,
        },
        statuses=STATUSES,
    )
    assert values["name"] == mapping.UNTITLED
    assert (values["status"], values["priority"]) == ("open", "normal")
    assert values["details"] == "d" * 32_000
    long_name = mapping.import_values(
        {**mapping.remote_snapshot({"Subject": "n" * 300}), "Status": "Completed"},
        statuses=STATUSES,
    )["name"]
    assert long_name == "n" * 255


def test_snapshot_values_convert_to_model_values():
    assert mapping.as_model_value("due_date", "2026-12-24") == date(2026, 12, 24)
    assert mapping.as_model_value("due_date", "2026-12-24T00:00:00.000+0000") == date(2026, 12, 24)
    assert mapping.as_model_value("due_date", None) is None
    assert mapping.as_model_value("details", "text") == "text"
