"""The Composite resource (/composite) and Composite Batch (/composite/batch), as the REST API
Developer Guide documents them ("Send Multiple Requests Using Composite",
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-composite-post.html;
"Composite Batch"), with the limits and errors the engine relies on (issue 16)."""

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

V = "/services/data/v59.0"
HALTED_ROLLBACK = (
    "The transaction was rolled back since another operation in the same transaction failed."
)


def _composite(sf, subrequests, **extra):
    return sf.restful("composite", method="POST", json={"compositeRequest": subrequests, **extra})[
        "compositeResponse"
    ]


def _query(ref, soql="SELECT+Id,Subject+FROM+Task+ORDER+BY+Subject", **kwargs):
    return {"method": "GET", "url": f"{V}/query?q={soql}", "referenceId": ref, **kwargs}


def _create(ref, **body):
    return {"method": "POST", "url": f"{V}/sobjects/Task", "referenceId": ref, "body": body}


def test_query_pages_chain_through_next_records_url_in_one_api_call(sf, sf_emulator):
    sf_emulator.create_tasks([{"Subject": f"t{i:04d}"} for i in range(450)])
    sf_emulator.reset_api_calls()
    used = sf_emulator.api_usage()["used"]
    out = _composite(
        sf,
        [
            _query("p1", httpHeaders={"Sforce-Query-Options": "batchSize=200"}),
            {"method": "GET", "url": "@{p1.nextRecordsUrl}", "referenceId": "p2"},
            {"method": "GET", "url": "@{p2.nextRecordsUrl}", "referenceId": "p3"},
        ],
    )
    assert [r["httpStatusCode"] for r in out] == [200, 200, 200]
    assert [r["referenceId"] for r in out] == ["p1", "p2", "p3"]
    subjects = [rec["Subject"] for r in out for rec in r["body"]["records"]]
    assert subjects == [f"t{i:04d}" for i in range(450)]
    assert out[2]["body"]["done"] is True and "nextRecordsUrl" not in out[2]["body"]
    # Issue 16: one Composite call is ONE call toward the limit and in the counters.
    assert sf_emulator.api_calls() == {"composite": 1}
    assert sf_emulator.api_usage()["used"] == used + 1


def test_references_into_bodies_urls_records_and_nested_fields(sf, sf_emulator):
    sf_emulator.create_task(Subject="seed", Priority="High")
    out = _composite(
        sf,
        [
            _query("q", soql="SELECT+Id,Subject,Priority+FROM+Task"),
            _create(
                "made",
                Subject="copy of @{q.records[0].Subject}",
                Priority="@{q.records[0].Priority}",
            ),
            {
                "method": "PATCH",
                "url": f"{V}/sobjects/Task/@{{made.id}}",
                "referenceId": "edit",
                "body": {"Description": "made from @{q.records[0].Id}"},
            },
            {
                "method": "GET",
                "url": f"{V}/sobjects/Task/@{{made.id}}?fields=Subject,Description",
                "referenceId": "read",
            },
        ],
    )
    assert [r["httpStatusCode"] for r in out] == [200, 201, 204, 200]
    seed_id = out[0]["body"]["records"][0]["Id"]
    made_id = out[1]["body"]["id"]
    assert out[1]["httpHeaders"] == {"Location": f"{V}/sobjects/Task/{made_id}"}
    assert out[2]["body"] is None
    assert out[3]["body"]["Subject"] == "copy of seed"
    assert out[3]["body"]["Description"] == f"made from {seed_id}"
    assert sf_emulator.get_task(made_id)["Priority"] == "High"


def test_all_or_none_rolls_everything_back_and_halts_the_rest(sf, sf_emulator):
    out = _composite(
        sf,
        [
            _create("ok", Subject="would be rolled back"),
            _create("bad", Subject="x", Status="Nope"),
            _create("after", Subject="never runs"),
        ],
        allOrNone=True,
    )
    assert [r["httpStatusCode"] for r in out] == [400, 400, 400]
    assert out[1]["body"][0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    for r in (out[0], out[2]):
        assert r["body"] == [{"errorCode": "PROCESSING_HALTED", "message": HALTED_ROLLBACK}]
    assert sf_emulator.tasks() == []


def test_without_all_or_none_only_dependents_of_a_failure_are_halted(sf, sf_emulator):
    out = _composite(
        sf,
        [
            _create("bad", Subject="x" * 300),
            {"method": "GET", "url": f"{V}/sobjects/Task/@{{bad.id}}", "referenceId": "dep"},
            _create("indep", Subject="independent"),
        ],
    )
    assert [r["httpStatusCode"] for r in out] == [400, 400, 201]
    assert out[0]["body"][0]["errorCode"] == "STRING_TOO_LONG"
    halted = out[1]["body"][0]
    assert halted["errorCode"] == "PROCESSING_HALTED"
    assert "refers to a failed subrequest" in halted["message"]
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["independent"]


@pytest.mark.parametrize(
    "url",
    [
        "@{q.nextRecordsUrl}",  # the last page has none: chaining past the end
        "@{q.records[5].Id}",  # index out of range
        "@{nope.id}",  # no such referenceId
        "@{q.Records}",  # references are case-sensitive
    ],
)
def test_a_reference_that_does_not_resolve_halts_its_subrequest(sf, sf_emulator, url):
    sf_emulator.create_task(Subject="only one")
    out = _composite(sf, [_query("q"), {"method": "GET", "url": url, "referenceId": "next"}])
    assert out[0]["httpStatusCode"] == 200
    assert out[1]["httpStatusCode"] == 400
    assert out[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert out[1]["body"][0]["message"].startswith("Invalid reference specified.")


def test_at_most_25_subrequests(sf, sf_emulator):
    assert len(_composite(sf, [_create(f"c{i}", Subject=f"s{i}") for i in range(25)])) == 25
    sf_emulator.reset()
    sf = sf_emulator.salesforce()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _composite(sf, [_create(f"c{i}", Subject=f"s{i}") for i in range(26)])
    assert exc.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
    assert sf_emulator.tasks() == []  # refused whole, nothing ran


def _collection(ref):
    return {
        "method": "POST",
        "url": f"{V}/composite/sobjects",
        "referenceId": ref,
        "body": {"records": [{"attributes": {"type": "Task"}, "Subject": ref}]},
    }


def test_at_most_5_query_or_collection_subrequests(sf, sf_emulator):
    five = [_query("q1"), _collection("c1"), _query("q2"), _collection("c2")]
    five.append(
        {"method": "GET", "url": f"{V}/queryAll?q=SELECT+Id+FROM+Task", "referenceId": "qa"}
    )
    out = _composite(sf, [*five, _create("single", Subject="not counted")])
    assert [r["httpStatusCode"] for r in out] == [200] * 5 + [201]
    sixth = {"method": "GET", "url": "@{q1.nextRecordsUrl}", "referenceId": "more"}  # a queryMore
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _composite(sf, [*five, sixth])
    assert exc.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"


def test_a_collection_with_failed_records_is_not_a_failed_subrequest(sf, sf_emulator):
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Task"}, "Subject": "good"},
            {"attributes": {"type": "Task"}, "Subject": "y" * 300},
        ],
    }
    out = _composite(
        sf,
        [
            {
                "method": "POST",
                "url": f"{V}/composite/sobjects",
                "referenceId": "col",
                "body": body,
            },
            {"method": "GET", "url": f"{V}/sobjects/Task/@{{col[0].id}}", "referenceId": "first"},
        ],
        allOrNone=True,
    )
    assert [r["httpStatusCode"] for r in out] == [200, 200]
    assert [r["success"] for r in out[0]["body"]] == [True, False]
    assert out[1]["body"]["Subject"] == "good"


@pytest.mark.parametrize(
    ("subrequest", "code"),
    [
        ({"method": "GET", "url": f"{V}/limits"}, "JSON_PARSER_ERROR"),  # no referenceId
        (
            {"method": "get", "url": f"{V}/query?q=SELECT+Id+FROM+Task", "referenceId": "a"},
            "JSON_PARSER_ERROR",
        ),
        (
            {"method": "GET", "url": f"{V}/query?q=SELECT+Id+FROM+Task", "referenceId": "a.b"},
            "INVALID_INPUT",
        ),
        ({"method": "GET", "url": "/services/oauth2/userinfo", "referenceId": "a"}, "INVALID_URL"),
        ({"method": "GET", "url": f"{V}/limits", "referenceId": "a"}, "INVALID_URL"),
        (
            {
                "method": "GET",
                "url": f"{V}/query?q=SELECT+Id+FROM+Task",
                "referenceId": "a",
                "httpHeaders": {"Authorization": "Bearer x"},
            },
            "INVALID_INPUT",
        ),
    ],
)
def test_a_malformed_request_is_refused_whole(sf, sf_emulator, subrequest, code):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _composite(sf, [_create("first", Subject="not written"), subrequest])
    assert exc.value.content[0]["errorCode"] == code
    assert sf_emulator.tasks() == []


def test_duplicate_reference_ids_and_a_missing_composite_request_are_refused(sf, sf_emulator):
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _composite(sf, [_create("same", Subject="a"), _create("same", Subject="b")])
    assert exc.value.content[0]["errorCode"] == "INVALID_INPUT"
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite", method="POST", json={"requests": []})
    assert exc.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_get_composite_lists_the_composite_resources(sf):
    listed = sf.restful("composite")
    assert listed == {"batch": f"{V}/composite/batch", "sobjects": f"{V}/composite/sobjects"}


def test_composite_is_refused_past_the_daily_limit_before_anything_runs(sf, sf_emulator):
    from simple_salesforce.exceptions import SalesforceRefusedRequest

    sf_emulator.set_api_limit(10, used=10)
    with pytest.raises(SalesforceRefusedRequest):
        _composite(sf, [_create("c", Subject="no")])
    assert sf_emulator.tasks() == []


# -- /composite/batch ---------------------------------------------------------------------------
def _batch(sf, requests, **extra):
    return sf.restful("composite/batch", method="POST", json={"batchRequests": requests, **extra})


def test_batch_runs_independent_subrequests_and_charges_each_one(sf, sf_emulator):
    task_id = sf_emulator.create_task(Subject="x")["Id"]
    used = sf_emulator.api_usage()["used"]
    out = _batch(
        sf,
        [
            {
                "method": "PATCH",
                "url": f"v59.0/sobjects/Task/{task_id}",
                "richInput": {"Subject": "y"},
            },
            {"method": "GET", "url": f"v59.0/sobjects/Task/{task_id}?fields=Subject"},
            {"method": "POST", "url": "v59.0/sobjects/Task", "richInput": {"Subject": "z" * 300}},
            {"method": "GET", "url": "v59.0/limits"},
        ],
    )
    assert out["hasErrors"] is True
    assert [r["statusCode"] for r in out["results"]] == [204, 200, 400, 200]
    assert out["results"][0]["result"] is None
    assert out["results"][1]["result"]["Subject"] == "y"  # committed before the next ran
    assert out["results"][2]["result"][0]["errorCode"] == "STRING_TOO_LONG"
    # "Each subrequest counts against rate limits": four calls toward the limit and counters.
    assert sf_emulator.api_usage()["used"] == used + 4
    assert sf_emulator.api_calls() == {"composite/batch": 4}


def test_batch_halt_on_error_answers_412_for_the_rest(sf, sf_emulator):
    out = _batch(
        sf,
        [
            {"method": "POST", "url": "v59.0/sobjects/Task", "richInput": {"Subject": "a"}},
            {"method": "GET", "url": "v59.0/sobjects/Task/00T8a00000000000AAA"},
            {"method": "POST", "url": "v59.0/sobjects/Task", "richInput": {"Subject": "b"}},
        ],
        haltOnError=True,
    )
    assert [r["statusCode"] for r in out["results"]] == [201, 404, 412]
    assert out["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["a"]  # the first stays committed


def test_batch_takes_at_most_25_subrequests(sf, sf_emulator):
    get = {"method": "GET", "url": "v59.0/limits"}
    assert len(_batch(sf, [get] * 25)["results"]) == 25
    with pytest.raises(SalesforceMalformedRequest) as exc:
        _batch(sf, [get] * 26)
    assert exc.value.content[0]["errorCode"] == "LIMIT_EXCEEDED"
