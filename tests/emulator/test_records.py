"""sObject Task CRUD, validation, replication and collections through unmodified
simple-salesforce.

The Salesforce pages the emulator follows are cited in salesforce_emulator/api/ and records.py.
"""

import datetime as dt
import re

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
UTC = dt.UTC


def test_it_creates_a_task_with_salesforce_defaults_and_formats(sf, sf_emulator):
    result = sf.Task.create({"Subject": "Call Ana", "ActivityDate": "2026-11-28"})
    assert result["success"] is True and result["errors"] == []
    task_id = result["id"]
    assert task_id.startswith("00T") and len(task_id) == 18
    task = sf.Task.get(task_id)
    assert task["attributes"] == {
        "type": "Task",
        "url": f"/services/data/v59.0/sobjects/Task/{task_id}",
    }
    assert task["Status"] == "Not Started" and task["Priority"] == "Normal"
    assert task["IsClosed"] is False and task["CompletedDateTime"] is None
    assert task["ActivityDate"] == "2026-11-28"
    assert task["TaskSubtype"] == "Task" and task["IsArchived"] is False
    assert task["OwnerId"] == sf_emulator.demo.user_id == task["CreatedById"]
    for name in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
        assert SF_DATETIME.match(task[name]), task[name]


def test_it_answers_create_with_201_and_update_delete_with_204(sf, sf_emulator):
    created = sf_emulator.session().post(
        f"{sf.base_url}sobjects/Task/", json={"Subject": "x"}, headers=sf.headers
    )
    assert created.status_code == 201
    task_id = created.json()["id"]
    assert sf.Task.update(task_id, {"Subject": "y"}) == 204
    assert sf.Task.delete(task_id) == 204


def test_it_returns_only_requested_fields(sf):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    task = sf.Task.get(task_id, params={"fields": "Subject,Status"})
    assert set(task) == {"attributes", "Subject", "Status"}


def test_it_accepts_15_char_ids(sf):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    assert sf.Task.get(task_id[:15])["Id"] == task_id


def test_it_derives_closed_state_and_completed_date_from_status(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf.Task.update(task_id, {"Status": "Completed"})
    task = sf.Task.get(task_id)
    assert task["IsClosed"] is True and task["CompletedDateTime"] is not None
    sf_emulator.advance(60)
    sf.Task.update(task_id, {"Subject": "still done"})
    assert sf.Task.get(task_id)["CompletedDateTime"] == task["CompletedDateTime"]
    sf.Task.update(task_id, {"Status": "In Progress"})
    reopened = sf.Task.get(task_id)
    assert reopened["IsClosed"] is False and reopened["CompletedDateTime"] is None


def test_it_bumps_last_modified_and_systemmodstamp_on_every_write(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    before = sf.Task.get(task_id)
    sf_emulator.advance(5)
    sf.Task.update(task_id, {"Description": "more"})
    after = sf.Task.get(task_id)
    assert after["LastModifiedDate"] > before["LastModifiedDate"]
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["CreatedDate"] == before["CreatedDate"]


def test_it_bumps_only_systemmodstamp_for_automation(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    before = sf.Task.get(task_id)
    sf_emulator.advance(5)
    sf_emulator.automation_touch(task_id, Description="set by a flow")
    after = sf.Task.get(task_id)
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == before["LastModifiedDate"]
    assert after["Description"] == "set by a flow"


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        ({"Subject": "x" * 256}, "STRING_TOO_LONG", ["Subject"]),
        ({"Description": "x" * 32001}, "STRING_TOO_LONG", ["Description"]),
        ({"Status": "Done-ish"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Status"]),
        ({"Priority": "Urgent"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Priority"]),
        ({"IsClosed": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsClosed"]),
        ({"ActivityDate": "2026-11-28T00:00:00Z"}, "JSON_PARSER_ERROR", ["ActivityDate"]),
        ({"Foo__c": 1}, "INVALID_FIELD", []),
        ({"Status": None}, "REQUIRED_FIELD_MISSING", ["Status"]),
    ],
)
def test_it_rejects_invalid_writes_with_salesforce_errors(sf, body, code, fields):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"Subject": "ok", **body})
    [error] = exc.value.content
    assert error["errorCode"] == code
    assert error["fields"] == fields
    assert error["message"]


def test_it_accepts_exactly_255_and_32000_characters(sf):
    task_id = sf.Task.create({"Subject": "s" * 255, "Description": "d" * 32000})["id"]
    assert len(sf.Task.get(task_id)["Description"]) == 32000


def test_it_does_not_allow_updating_tasksubtype(sf):
    task_id = sf.Task.create({"Subject": "x", "TaskSubtype": "Call"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.update(task_id, {"TaskSubtype": "Task"})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_it_uses_the_orgs_renamed_closed_status(sf, sf_emulator):
    sf_emulator.rename_status("Completed", "Done")
    with pytest.raises(SalesforceMalformedRequest):
        sf.Task.create({"Subject": "x", "Status": "Completed"})
    rows = sf.query(
        "SELECT ApiName, IsClosed FROM TaskStatus WHERE IsClosed = true ORDER BY SortOrder LIMIT 1"
    )["records"]
    assert rows[0]["ApiName"] == "Done"
    task_id = sf.Task.create({"Subject": "x", "Status": "Done"})["id"]
    assert sf.Task.get(task_id)["IsClosed"] is True


def test_it_reports_deleted_and_unknown_ids_with_404(sf):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf.Task.delete(task_id)
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Task.get(task_id)
    assert exc.value.content == [
        {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    ]
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Task.delete(task_id)
    assert exc.value.content[0]["errorCode"] == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Task.get("00T8a00000000000AAA")
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"


def test_it_restores_from_the_recycle_bin_through_the_back_door(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf.Task.delete(task_id)
    deleted = sf_emulator.get_task(task_id)
    sf_emulator.advance(5)
    restored = sf_emulator.undelete_task(task_id)
    assert restored["IsDeleted"] is False
    assert restored["SystemModstamp"] > deleted["SystemModstamp"]
    assert sf.Task.get(task_id)["Subject"] == "x"


def test_it_purges_the_recycle_bin_after_15_days(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf.Task.delete(task_id)
    deleted_at = sf_emulator.get_task(task_id)["SystemModstamp"]
    sf_emulator.advance(dt.timedelta(days=15, minutes=1))
    sf = sf_emulator.salesforce()  # the old access token expired meanwhile
    start = sf_emulator.now() - dt.timedelta(days=14)
    result = sf.Task.deleted(start, sf_emulator.now())
    assert result["deletedRecords"] == []
    assert sf_emulator.get_task(task_id) is None
    # earliestDateAvailable moves to the purged record's deletion (minute-truncated).
    assert result["earliestDateAvailable"] == deleted_at[:17] + "00.000+0000"


def test_it_lists_updated_and_deleted_ids_in_minute_windows(sf, sf_emulator):
    sf_emulator.set_now(dt.datetime(2026, 11, 28, 13, 0, 30, tzinfo=UTC), frozen=True)
    keep = sf.Task.create({"Subject": "keep"})["id"]
    gone = sf.Task.create({"Subject": "gone"})["id"]
    sf_emulator.advance(60)
    sf.Task.delete(gone)
    sf_emulator.advance(120)
    start, end = dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC), sf_emulator.now()
    updated = sf.Task.updated(start, end)
    assert updated["ids"] == [keep]
    assert updated["latestDateCovered"] == "2026-11-28T13:03:00.000+0000"
    deleted = sf.Task.deleted(start, end)
    assert deleted["deletedRecords"] == [
        {"id": gone, "deletedDate": "2026-11-28T13:01:30.000+0000"}
    ]
    assert "earliestDateAvailable" in deleted
    assert deleted["latestDateCovered"] == "2026-11-28T13:03:00.000+0000"


def test_replication_reads_the_window_not_the_whole_org(sf, sf_emulator, sf_emulator_server):
    # A poll's delete-log check rides in every cycle that is due for it: the emulator answers
    # it from the recycle bin's index and the modstamp index, not by loading every task of the
    # org (B4: 3,000 tasks a call in an org of 1,000 reps). Same answers, oldest first.
    if sf_emulator_server is None:
        pytest.skip("needs the in-process emulator (to trace its store's SQL)")
    sf_emulator.set_now(dt.datetime(2026, 11, 28, 13, 0, 30, tzinfo=UTC), frozen=True)
    old = sf_emulator.create_tasks([{"Subject": f"older {i}"} for i in range(30)])
    sf_emulator.delete_task(old[0])
    sf_emulator.advance(3600)
    start = sf_emulator.now()
    new = [sf.Task.create({"Subject": f"new {i}"})["id"] for i in range(3)]
    sf_emulator.advance(30)
    for task_id in (new[2], old[5], new[0]):  # deleted in this order, a second apart
        sf.Task.delete(task_id)
        sf_emulator.advance(1)
    sf_emulator.advance(120)
    end = sf_emulator.now()
    selects: list[str] = []
    store = sf_emulator_server.emulator.store
    store.conn.set_trace_callback(lambda sql: selects.append(sql) if "FROM tasks" in sql else 0)
    try:
        deleted = sf.Task.deleted(start, end)
        updated = sf.Task.updated(start, end)
    finally:
        store.conn.set_trace_callback(None)
    assert [r["id"] for r in deleted["deletedRecords"]] == [new[2], old[5], new[0]]
    assert updated["ids"] == [new[1]]
    assert selects and all("SystemModstamp" in sql or "deleted_ms" in sql for sql in selects)


def test_it_rejects_replication_windows_outside_the_limits(sf, sf_emulator):
    now = sf_emulator.now()
    for start, end, call in [
        (now - dt.timedelta(days=31), now, sf.Task.updated),
        (now - dt.timedelta(days=16), now, sf.Task.deleted),
        (now, now - dt.timedelta(minutes=5), sf.Task.updated),
    ]:
        with pytest.raises(SalesforceMalformedRequest) as exc:
            call(start, end)
        assert exc.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_it_describes_task_fields(sf):
    describe = sf.Task.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Subject"]["length"] == 255
    assert fields["Description"]["length"] == 32000 and not fields["Description"]["filterable"]
    assert fields["TaskSubtype"]["updateable"] is False
    assert [v["value"] for v in fields["Status"]["picklistValues"] if v["defaultValue"]] == [
        "Not Started"
    ]


def test_it_upserts_by_external_id(sf):
    created = sf.Task.upsert("TasksyncId__c/r-1", {"Subject": "first"}, raw_response=True)
    assert created.status_code == 201 and created.json()["created"] is True
    updated = sf.Task.upsert("TasksyncId__c/r-1", {"Subject": "second"}, raw_response=True)
    assert updated.status_code == 200 and updated.json()["created"] is False
    assert sf.Task.get_by_custom_id("TasksyncId__c", "r-1")["Subject"] == "second"


def test_it_answers_300_when_an_external_id_matches_several_tasks(sf, sf_emulator):
    sf_emulator.create_task(Subject="a", TasksyncId__c="dup")
    sf_emulator.create_task(Subject="b", TasksyncId__c="dup")
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Task.upsert("TasksyncId__c/dup", {"Subject": "c"})


def test_it_creates_updates_and_deletes_collections_in_order(sf):
    records = [{"attributes": {"type": "Task"}, "Subject": f"t{i}"} for i in range(3)]
    records.insert(1, {"attributes": {"type": "Task"}, "Subject": "x" * 300})
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )
    assert [r["success"] for r in results] == [True, False, True, True]
    assert results[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert results[1]["errors"][0]["fields"] == ["Subject"]
    ids = [r["id"] for r in results if r["success"]]
    updates = [{"attributes": {"type": "Task"}, "id": i, "Status": "Completed"} for i in ids]
    updates.append({"attributes": {"type": "Task"}, "id": "00T8a00000000000AAA", "Status": "Done"})
    results = sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": updates}
    )
    assert [r["success"] for r in results] == [True, True, True, False]
    assert sf.Task.get(ids[0])["IsClosed"] is True
    results = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": ",".join([*ids, ids[0]]), "allOrNone": "false"},
    )
    assert [r["success"] for r in results] == [True, True, True, False]
    assert results[3]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_it_rolls_back_everything_with_all_or_none(sf, sf_emulator):
    records = [
        {"attributes": {"type": "Task"}, "Subject": "fine"},
        {"attributes": {"type": "Task"}, "Subject": "bad", "Status": "Nope"},
    ]
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": True, "records": records}
    )
    assert results[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert results[1]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf_emulator.tasks() == []


def test_it_refuses_collections_over_200_records(sf):
    records = [{"attributes": {"type": "Task"}, "Subject": "x"}] * 201
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="POST", json={"records": records})


def test_it_reports_limits_and_the_usage_header(sf, sf_emulator):
    sf_emulator.set_api_limit(100, used=10)
    limits = sf.limits()
    assert limits["DailyApiRequests"] == {"Max": 100, "Remaining": 89}
    assert sf.api_usage["api-usage"].used == 11 and sf.api_usage["api-usage"].total == 100


def test_it_refuses_calls_past_the_daily_limit(sf, sf_emulator):
    from simple_salesforce.exceptions import SalesforceRefusedRequest

    sf_emulator.set_api_limit(5, used=4)
    sf.query("SELECT Id FROM Task")
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.query("SELECT Id FROM Task")
    assert exc.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    sf_emulator.advance(dt.timedelta(hours=24, minutes=2))
    sf = sf_emulator.salesforce()
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0


def test_it_counts_api_calls_by_endpoint_kind(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf.Task.update(task_id, {"Subject": "y"})
    sf.query("SELECT Id FROM Task")
    sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Task"}, "Subject": "z"}]},
    )
    sf_emulator.create_task(Subject="back door, not counted")
    assert sf_emulator.api_calls() == {
        "sobjects/Task POST": 1,
        "sobjects/Task/{id} PATCH": 1,
        "query": 1,
        "composite/sobjects POST": 1,
    }
    assert sf_emulator.api_call_total() == 4
    sf_emulator.reset_api_calls()
    assert sf_emulator.api_calls() == {}


def test_it_keeps_orgs_apart(sf, sf_emulator):
    org = sf_emulator.create_org("Other Org", daily_api_limit=50)
    user = sf_emulator.create_user(org["id"], "other@example.com", "pw", "Olly Other")
    assert org["id"].startswith("00D") and user["id"].startswith("005")
    sf_emulator.create_task(Subject="demo org task")
    other = sf_emulator.salesforce(sf_emulator.tokens(user_id=user["id"])["access_token"])
    assert other.query("SELECT Id FROM Task")["totalSize"] == 0
    other.Task.create({"Subject": "mine"})
    assert [t["Subject"] for t in sf_emulator.tasks(org_id=org["id"])] == ["mine"]
    assert other.limits()["DailyApiRequests"]["Max"] == 50


def test_it_keeps_explicit_dates_set_through_the_back_door(sf, sf_emulator):
    old = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    task = sf_emulator.create_task(
        Subject="old", CreatedDate=old, LastModifiedDate=old, SystemModstamp=old
    )
    fetched = sf.Task.get(task["Id"])
    assert fetched["CreatedDate"] == fetched["SystemModstamp"] == "2026-01-02T03:04:05.000+0000"
