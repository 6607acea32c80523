"""query/queryAll, the SOQL subset and paging.

The Salesforce pages the emulator follows are cited in salesforce_emulator/api/ and soql/.
"""

import datetime as dt

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from salesforce_emulator import soql

UTC = dt.UTC


@pytest.fixture
def seeded(sf_emulator):
    at = dt.datetime(2026, 11, 28, 13, 0, tzinfo=UTC)
    rows = [
        {
            "Subject": "alpha",
            "ActivityDate": "2026-11-28",
            "Priority": "High",
            "SystemModstamp": at,
        },
        {
            "Subject": "Beta",
            "ActivityDate": None,
            "Status": "Completed",
            "SystemModstamp": at + dt.timedelta(minutes=1),
        },
        {
            "Subject": "it's gamma",
            "ActivityDate": "2026-12-01",
            "Status": "In Progress",
            "SystemModstamp": at + dt.timedelta(minutes=2),
        },
    ]
    return [sf_emulator.create_task(**r)["Id"] for r in rows]


def subjects(sf, where="", order="ORDER BY Subject"):
    result = sf.query(f"SELECT Subject FROM Task {where} {order}")
    return [r["Subject"] for r in result["records"]]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("WHERE Subject = 'ALPHA'", ["alpha"]),  # string comparison is case-insensitive
        ("WHERE Subject != 'alpha'", ["Beta", "it's gamma"]),
        ("WHERE Subject = 'it\\'s gamma'", ["it's gamma"]),
        ("WHERE IsClosed = true", ["Beta"]),
        ("WHERE ActivityDate = null", ["Beta"]),
        ("WHERE ActivityDate != NULL AND ActivityDate >= 2026-11-29", ["it's gamma"]),
        ("WHERE SystemModstamp > 2026-11-28T13:00:00Z", ["Beta", "it's gamma"]),
        ("WHERE SystemModstamp >= 2026-11-28T13:01:00.000Z", ["Beta", "it's gamma"]),
        ("WHERE SystemModstamp < 2026-11-28T14:01:00+01:00", ["alpha"]),
        ("WHERE Status IN ('Completed', 'In Progress')", ["Beta", "it's gamma"]),
        ("WHERE Status NOT IN ('Completed')", ["alpha", "it's gamma"]),
        ("WHERE NOT (Priority = 'High' OR IsClosed = true)", ["it's gamma"]),
        ("WHERE (Priority = 'High' OR IsClosed = true) AND Subject LIKE '%a'", ["alpha", "Beta"]),
    ],
)
def test_it_filters_with_the_soql_subset(sf, seeded, where, expected):
    assert subjects(sf, where) == expected


def test_it_orders_by_several_fields_with_nulls_placement(sf, seeded):
    assert subjects(sf, order="ORDER BY ActivityDate ASC NULLS LAST, Subject") == [
        "alpha",
        "it's gamma",
        "Beta",
    ]
    assert subjects(sf, order="ORDER BY ActivityDate DESC NULLS FIRST") == [
        "Beta",
        "it's gamma",
        "alpha",
    ]
    assert subjects(sf, order="ORDER BY SystemModstamp DESC LIMIT 1") == ["it's gamma"]


def test_it_returns_salesforce_record_shapes(sf, seeded):
    result = sf.query("SELECT Id, ActivityDate, SystemModstamp FROM Task ORDER BY Id LIMIT 1")
    assert result["totalSize"] == 1 and result["done"] is True
    record = result["records"][0]
    assert list(record) == ["attributes", "Id", "ActivityDate", "SystemModstamp"]
    assert record["attributes"]["url"] == f"/services/data/v59.0/sobjects/Task/{record['Id']}"


def test_it_counts_with_count(sf, seeded):
    assert sf.query("SELECT COUNT() FROM Task WHERE IsClosed = false")["totalSize"] == 2


@pytest.mark.parametrize(
    ("q", "code"),
    [
        ("SELECT Foo FROM Task", "INVALID_FIELD"),
        ("SELECT Id FROM Task WHERE Description = 'x'", "INVALID_FIELD"),
        ("SELECT Id FROM Task WHERE SystemModstamp > '2026-01-01T00:00:00Z'", "INVALID_FIELD"),
        ("SELECT Id FROM Task WHERE ActivityDate > 2026-01-01T00:00:00Z", "INVALID_FIELD"),
        ("SELECT Id FROM Task WHERE", "MALFORMED_QUERY"),
        ("SELECT Id Task", "MALFORMED_QUERY"),
        ("SELECT Id FROM Task LIMIT x", "MALFORMED_QUERY"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
    ],
)
def test_it_rejects_bad_queries_with_400(sf, q, code):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query(q)
    assert exc.value.content[0]["errorCode"] == code


def test_it_names_the_unknown_column(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, Foo FROM Task")
    assert "No such column 'Foo' on entity 'Task'" in exc.value.content[0]["message"]


def test_it_pages_2500_rows_in_two_batches(sf, sf_emulator):
    sf_emulator.create_tasks([{"Subject": f"t{i:04d}"} for i in range(2500)])
    first = sf.query("SELECT Id, Subject FROM Task ORDER BY Subject")
    assert first["totalSize"] == 2500 and first["done"] is False
    assert len(first["records"]) == 2000
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True and len(second["records"]) == 500
    assert "nextRecordsUrl" not in second
    assert second["records"][-1]["Subject"] == "t2499"
    assert len(list(sf.query_all_iter("SELECT Id FROM Task"))) == 2500
    assert sf_emulator.api_calls() == {"query": 2, "queryMore": 2}


def test_it_counts_the_records_each_field_list_returned(sf, sf_emulator):
    # A test control, not Salesforce's: what a client read in full and what as ids only.
    sf_emulator.create_tasks([{"Subject": f"t{i:04d}"} for i in range(2500)])
    sf_emulator.reset_api_calls()
    assert len(list(sf.query_all_iter("SELECT Id, Subject FROM Task"))) == 2500
    sf.query("SELECT Id FROM Task WHERE Subject = 't0001'")
    assert sf_emulator.records_read() == {"Id, Subject": 2500, "Id": 1}
    sf_emulator.reset_api_calls()
    assert sf_emulator.records_read() == {}


def test_it_honours_the_batch_size_header(sf, sf_emulator):
    sf_emulator.create_tasks([{"Subject": "x"}] * 450)
    headers = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query("SELECT Id FROM Task", headers=headers)
    assert len(first["records"]) == 200
    assert len(sf.query_all("SELECT Id FROM Task", headers=headers)["records"]) == 450
    tiny = sf.query("SELECT Id FROM Task", headers={"Sforce-Query-Options": "batchSize=10"})
    assert len(tiny["records"]) == 200  # the minimum is 200


def test_it_hides_deleted_and_archived_tasks_from_query_but_not_query_all(sf, sf_emulator):
    live = sf_emulator.create_task(Subject="live")["Id"]
    gone = sf_emulator.create_task(Subject="gone")["Id"]
    sf_emulator.delete_task(gone)
    old = sf_emulator.create_task(Subject="old", Status="Completed", ActivityDate="2025-01-01")[
        "Id"
    ]
    assert sf_emulator.archive_old() == 1
    assert [r["Id"] for r in sf.query("SELECT Id FROM Task")["records"]] == [live]
    rows = sf.query_all(
        "SELECT Id, IsDeleted, IsArchived FROM Task ORDER BY Subject", include_deleted=True
    )["records"]
    assert {r["Id"]: (r["IsDeleted"], r["IsArchived"]) for r in rows} == {
        live: (False, False),
        gone: (True, False),
        old: (False, True),
    }


def test_it_queries_task_status_and_priority_picklists(sf):
    statuses = sf.query("SELECT ApiName, IsClosed, IsDefault FROM TaskStatus ORDER BY SortOrder")
    assert [r["ApiName"] for r in statuses["records"]][:3] == [
        "Not Started",
        "In Progress",
        "Completed",
    ]
    high = sf.query("SELECT ApiName FROM TaskPriority WHERE IsHighPriority = true")
    assert [r["ApiName"] for r in high["records"]] == ["High"]


def test_the_parser_handles_escapes_and_rejects_bad_escapes():
    q = soql.parse("SELECT Id FROM Task WHERE Subject = 'a\\\\b\\n'")
    assert q.where.value == "a\\b\n"
    with pytest.raises(soql.SoqlError):
        soql.parse("SELECT Id FROM Task WHERE Subject = 'a\\qb'")
