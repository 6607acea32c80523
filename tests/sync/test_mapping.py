"""R1, R2, R8 decisions as pure functions: no database, no network."""

from datetime import UTC, datetime

from tasksync.sync import decide, mapping

STATUSES = mapping.StatusMap()
VALUES = {
    "name": "Call Ana",
    "status": "complete",
    "priority": "high",
    "due_date": "2026-12-24",
    "details": "",
}


def test_it_maps_every_field_for_a_create():
    # R1
    payload = mapping.create_payload(
        VALUES, template="[ts] {{activity_subject}}", statuses=STATUSES, owner_id="005x"
    )
    assert payload == {
        "Subject": "[ts] Call Ana",
        "Status": "Completed",
        "Priority": "High",
        "ActivityDate": "2026-12-24",
        "Description": None,
        "OwnerId": "005x",
        "TaskSubtype": "Task",
    }


def test_it_sends_only_the_changed_fields():
    # R1: an unmapped Salesforce value survives a change of another field.
    payload = mapping.update_payload(
        VALUES, ["name"], template="{{activity_subject}}", statuses=STATUSES
    )
    assert payload == {"Subject": "Call Ana"}


def test_a_rename_does_not_travel_without_the_placeholder():
    # R2
    assert mapping.update_payload(VALUES, ["name"], template="Follow-up", statuses=STATUSES) == {}


def test_unmapped_status_and_low_priority_change_nothing():
    # R1
    snapshot = {"Status": "In Progress", "Priority": "Low", "Subject": "x"}
    assert mapping.local_value("Status", snapshot, statuses=STATUSES) is mapping.NOT_MAPPED
    assert mapping.local_value("Priority", snapshot, statuses=STATUSES) is mapping.NOT_MAPPED
    assert mapping.local_value("Subject", snapshot, statuses=STATUSES) is mapping.NOT_MAPPED


def test_an_import_with_unmapped_values_creates_open_normal():
    # R1
    values = mapping.import_values(
        {
            "Subject": "Call\nBen",
            "Status": "Deferred",
            "Priority": "Low",
            "ActivityDate": None,
            "Description": "",
        },
        statuses=STATUSES,
    )
    assert values["status"] == "open" and values["priority"] == "normal"
    assert values["name"] == "Call Ben"


def test_renamed_statuses_are_used_both_ways():
    # R1 (beyond): an org that renamed its statuses.
    statuses = mapping.StatusMap(open="Open", complete="Done")
    assert statuses.to_remote("complete") == "Done"
    assert statuses.to_local("Done") == "complete"
    assert statuses.to_local("Completed") is None


def test_the_later_change_wins_and_a_tie_goes_to_salesforce():
    # R8
    early = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    late = datetime(2026, 11, 28, 10, 1, tzinfo=UTC)
    assert decide.winner(late, early) == "local"
    assert decide.winner(early, late) == "salesforce"
    assert decide.winner(early, early) == "salesforce"


def test_nul_characters_from_salesforce_are_dropped():
    # Bad input: PostgreSQL text cannot hold NUL; the rest of the text is kept.
    snapshot = mapping.remote_snapshot({"Subject": "a\x00b", "Description": "c\x00d"})
    assert (snapshot["Subject"], snapshot["Description"]) == ("ab", "cd")
