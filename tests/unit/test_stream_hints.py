"""R9/R19: which change events are tasksync's own writes coming back, and whose pull an event
asks for. Pure functions: no database, no network."""

import datetime as dt

import pytest

from tasksync.sync.stream_hints import KnownLink, is_echo, owners_named

SYNCED = {
    "Subject": "Call Ana",
    "Status": "Not Started",
    "Priority": "Normal",
    "ActivityDate": "2026-12-01",
    "Description": "",
}


def link(state="synced", sf_user_id="005A", **synced):
    return KnownLink(user_id=1, sf_user_id=sf_user_id, state=state, synced_remote=SYNCED | synced)


def echo(change_type="UPDATE", changed=("Subject",), values=None, known=None):
    return is_echo(
        change_type=change_type,
        changed_fields=list(changed),
        values=values if values is not None else {"Subject": "Call Ana"},
        link=known if known is not None else link(),
    )


def test_an_update_that_repeats_the_synced_values_is_an_echo():
    assert echo() is True


def test_fields_salesforce_derives_or_stamps_do_not_make_it_a_change():
    changed = ("Subject", "Status", "IsClosed", "CompletedDateTime", "LastModifiedDate")
    values = {"Subject": "Call Ana", "Status": "Not Started", "IsClosed": False}
    assert echo(changed=changed, values=values) is True


def test_values_compare_in_the_synced_form():
    # A date arrives as a date; a null Description is the empty text that was synced.
    values = {"ActivityDate": dt.date(2026, 12, 1), "Description": None}
    assert echo(changed=("ActivityDate", "Description"), values=values) is True


def test_a_value_that_differs_from_the_synced_one_is_a_real_change():
    assert echo(values={"Subject": "Call Ana today"}) is False


@pytest.mark.parametrize("field", ["OwnerId", "WhoId", "ReminderDateTime"])
def test_a_change_of_an_unmapped_field_is_left_to_the_pull(field):
    # R18: an owner change (or any field tasksync does not sync) is never skipped.
    assert echo(changed=("Subject", field), values={"Subject": "Call Ana", field: "x"}) is False


def test_an_event_that_names_no_field_is_left_to_the_pull():
    assert echo(changed=()) is False


def test_an_unknown_record_is_never_an_echo():
    assert is_echo(change_type="UPDATE", changed_fields=["Subject"], values={}, link=None) is False


@pytest.mark.parametrize(
    ("state", "expected"),
    [("remote_deleted", True), ("local_deleted", True), ("synced", False), ("creating", False)],
)
def test_a_delete_is_an_echo_only_of_a_deletion_already_known(state, expected):
    assert echo(change_type="DELETE", changed=(), values={}, known=link(state=state)) is expected


@pytest.mark.parametrize("change_type", ["CREATE", "UNDELETE", "GAP_UPDATE"])
def test_creates_undeletes_and_gaps_are_never_echoes(change_type):
    assert echo(change_type=change_type) is False


def test_an_update_of_a_record_known_as_deleted_is_left_to_the_pull():
    assert echo(known=link(state="remote_deleted")) is False


def test_the_owner_an_event_carries_and_the_owners_tasksync_knows_are_asked_to_pull():
    links = [link(sf_user_id="005A"), link(sf_user_id="005B")]
    assert owners_named(values={"OwnerId": "005C"}, commit_user="005Z", links=links) == {
        "005A",
        "005B",
        "005C",
    }


def test_the_user_who_made_the_change_is_asked_only_when_no_owner_is_known():
    assert owners_named(values={}, commit_user="005Z", links=[]) == {"005Z"}
    assert owners_named(values={}, commit_user="005Z", links=[link()]) == {"005A"}
    assert owners_named(values={}, commit_user="", links=[]) == set()
