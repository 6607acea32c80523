"""Issue 17: resources a second client relies on, answered as Salesforce documents them
(collections retrieve by ids, 405 naming the allowed methods, `identity` in the resource list,
the documented set of limits)."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

V = "/services/data/v59.0"


def _get(sf_emulator, path, token, **kwargs):
    return sf_emulator.session().get(
        f"{sf_emulator.api_url}{V}/{path}", headers={"Authorization": f"Bearer {token}"}, **kwargs
    )


def test_it_retrieves_several_records_by_id_with_get_and_post(sf, sf_emulator):
    keep = sf_emulator.create_task(Subject="keep", Priority="High")["Id"]
    gone = sf_emulator.create_task(Subject="gone")["Id"]
    sf_emulator.delete_task(gone)
    unknown = "00T8a00000000000AAA"
    got = sf.restful(
        "composite/sobjects/Task",
        params={"ids": f"{keep},{gone},{unknown},{keep[:15]}", "fields": "id,subject,Priority"},
    )
    assert got[1:3] == [None, None]  # deleted and unknown ids answer null, in place
    assert (
        got[0]
        == got[3]
        == {
            "attributes": {"type": "Task", "url": f"{V}/sobjects/Task/{keep}"},
            "Id": keep,
            "Subject": "keep",
            "Priority": "High",
        }
    )
    posted = sf.restful(
        "composite/sobjects/Task",
        method="POST",
        json={"ids": [unknown, keep], "fields": ["Subject"]},
    )
    assert [r and r["Subject"] for r in posted] == [None, "keep"]
    assert sf_emulator.api_calls() == {
        "composite/sobjects/Task GET": 1,
        "composite/sobjects/Task POST": 1,
    }


def test_retrieve_refuses_bad_fields_missing_arguments_and_more_than_2000_ids(sf):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects/Task", params={"ids": "00T8a00000000000AAA", "fields": "No"})
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects/Task", method="POST", json={"ids": ["x"]})
    assert exc.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects/Task", params={"fields": "Id"})
    assert exc.value.content[0]["errorCode"] == "MISSING_ARGUMENT"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful(
            "composite/sobjects/Task",
            method="POST",
            json={"ids": ["00T8a00000000000AAA"] * 2001, "fields": ["Id"]},
        )
    assert exc.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_it_retrieves_picklist_records_by_id(sf):
    status = sf.query("SELECT Id, ApiName FROM TaskStatus")["records"][0]
    got = sf.restful(
        "composite/sobjects/TaskStatus", params={"ids": status["Id"], "fields": "ApiName"}
    )
    assert got[0]["ApiName"] == status["ApiName"]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "composite/sobjects", "POST,PATCH,DELETE"),  # the old undocumented address
        ("PUT", "composite/sobjects", "POST,PATCH,DELETE"),
        ("DELETE", "composite/sobjects/Task", "GET,POST"),
        ("POST", "composite/sobjects/Task/TasksyncId__c", "PATCH"),
        ("PUT", "sobjects/Task/00T8a00000000000AAA", "GET,PATCH,DELETE"),
        ("PUT", "sobjects/Task", "GET,POST"),
        ("PUT", "sobjects/Task/TasksyncId__c/k", "GET,PATCH,POST,DELETE"),
        ("POST", "limits", "GET"),
        ("POST", "query", "GET"),
        ("POST", "sobjects", "GET"),
        ("POST", "sobjects/Task/describe", "GET"),
        ("POST", "sobjects/Task/updated", "GET"),
        ("DELETE", "", "GET"),
    ],
)
def test_405_names_the_methods_the_resource_allows(sf_emulator, method, path, allowed):
    token = sf_emulator.tokens()["access_token"]
    resp = sf_emulator.session().request(
        method, f"{sf_emulator.api_url}{V}/{path}", headers={"Authorization": f"Bearer {token}"}
    )
    assert resp.status_code == 405
    assert resp.json() == [
        {
            "message": f"HTTP Method '{method}' not allowed. Allowed are {allowed}",
            "errorCode": "METHOD_NOT_ALLOWED",
        }
    ]


def test_the_resource_list_gives_the_callers_identity_url(sf_emulator):
    tokens = sf_emulator.tokens()
    resources = _get(sf_emulator, "", tokens["access_token"]).json()
    assert resources["identity"] == tokens["id"]
    # A client rebuilt from stored tokens follows it (jsforce adds format and oauth_token).
    who = sf_emulator.session().get(
        resources["identity"], params={"format": "json", "oauth_token": tokens["access_token"]}
    )
    assert who.status_code == 200 and who.json()["username"] == sf_emulator.demo.username
    assert {"sobjects", "query", "queryAll", "limits", "composite"} <= set(resources)


def test_limits_lists_the_documented_set_and_tracks_api_calls_and_storage(sf, sf_emulator):
    limits = sf.limits()
    for name in (
        "DailyApiRequests",
        "DailyBulkApiBatches",
        "DailyBulkV2QueryJobs",
        "DailyStreamingApiEvents",
        "DailyDurableStreamingApiEvents",
        "StreamingApiConcurrentClients",
        "DailyAsyncApexExecutions",
        "DataStorageMB",
        "FileStorageMB",
        "SingleEmail",
        "MassEmail",
    ):
        entry = limits[name]
        assert set(entry) == {"Max", "Remaining"} and 0 <= entry["Remaining"] <= entry["Max"]
    assert limits["DataStorageMB"]["Remaining"] == limits["DataStorageMB"]["Max"]
    sf_emulator.create_tasks([{"Subject": f"t{i}"} for i in range(1100)])  # 2 KB each
    after = sf.limits()
    assert after["DataStorageMB"]["Remaining"] == after["DataStorageMB"]["Max"] - 3
    assert after["DailyApiRequests"]["Remaining"] == limits["DailyApiRequests"]["Remaining"] - 1
