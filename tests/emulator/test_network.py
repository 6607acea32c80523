"""The network model (issue 16 "Network floor"): a per-call latency plus a per-record cost for
the records a call returned or wrote, on every Salesforce endpoint including Composite. Wall
times are measured with lower bounds only (the machine is shared and noisy)."""

import time

import pytest

from salesforce_emulator.network import records_in
from salesforce_emulator.testing import EmulatorHandle

V = "/services/data/v59.0"


def _timed(fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    return result, time.monotonic() - started


def test_every_api_call_pays_the_latency(sf, sf_emulator):
    sf_emulator.set_network_model(latency_ms=150)
    _, took = _timed(sf.query, "SELECT Id FROM Task")
    assert took >= 0.15
    _, took = _timed(sf.Task.create, {"Subject": "x"})
    assert took >= 0.15


def test_records_returned_cost_per_record(sf, sf_emulator):
    sf_emulator.create_tasks([{"Subject": f"t{i}"} for i in range(400)])
    sf_emulator.set_network_model(latency_ms=0, per_record_ms=1.0)
    result, took = _timed(sf.query, "SELECT Id FROM Task")
    assert len(result["records"]) == 400 and took >= 0.4
    _, took_count = _timed(sf.query, "SELECT COUNT() FROM Task")  # no record comes back
    print(f"400 records: {took:.3f} s, COUNT(): {took_count:.3f} s")


def test_records_written_cost_per_record(sf, sf_emulator):
    sf_emulator.set_network_model(latency_ms=20, per_record_ms=2.0)
    records = [{"attributes": {"type": "Task"}, "Subject": f"s{i}"} for i in range(200)]
    _, took = _timed(sf.restful, "composite/sobjects", method="POST", json={"records": records})
    assert took >= 0.02 + 200 * 0.002


def test_composite_pays_one_latency_and_every_subrequests_records(sf, sf_emulator):
    sf_emulator.create_tasks([{"Subject": f"t{i}"} for i in range(300)])
    sf_emulator.set_network_model(latency_ms=100, per_record_ms=1.0)
    body = {
        "compositeRequest": [
            {
                "method": "GET",
                "url": f"{V}/query?q=SELECT+Id+FROM+Task",
                "referenceId": "a",
                "httpHeaders": {"Sforce-Query-Options": "batchSize=200"},
            },
            {"method": "GET", "url": "@{a.nextRecordsUrl}", "referenceId": "b"},
        ]
    }
    out, took = _timed(sf.restful, "composite", method="POST", json=body)
    assert [len(r["body"]["records"]) for r in out["compositeResponse"]] == [200, 100]
    assert took >= 0.1 + 300 * 0.001


def test_oauth_and_identity_cross_the_network_too(sf_emulator):
    tokens = sf_emulator.tokens()
    sf_emulator.set_network_model(latency_ms=120)
    session = sf_emulator.session()
    _, took = _timed(
        session.post,
        f"{sf_emulator.login_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": sf_emulator.demo.client_id,
            "client_secret": sf_emulator.demo.client_secret,
        },
    )
    assert took >= 0.12
    _, took = _timed(
        session.get, tokens["id"], headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert took >= 0.12


def test_control_calls_are_not_slowed_and_reset_clears_the_model(sf_emulator):
    remote = EmulatorHandle.remote(sf_emulator.login_url, sf_emulator.ca_bundle)
    assert remote.set_network_model(latency_ms=500, per_record_ms=0.1) == {
        "latency_ms": 500.0,
        "per_record_ms": 0.1,
    }
    _, took = _timed(remote.tasks)
    assert took < 0.5  # the control API is not Salesforce: no modelled network
    sf_emulator.clear_faults()  # configuration, not a fault: it stays
    assert sf_emulator.network_model()["latency_ms"] == 500.0
    sf_emulator.reset()
    assert sf_emulator.network_model() == {"latency_ms": 0.0, "per_record_ms": 0.0}


def test_negative_costs_are_refused(sf_emulator):
    with pytest.raises(ValueError, match=">= 0"):
        sf_emulator.set_network_model(latency_ms=-1)


# -- what counts as a record -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "status", "body", "n"),
    [
        ("GET", 200, b'{"totalSize": 3, "done": true, "records": [{}, {}, {}]}', 3),
        ("GET", 200, b'{"totalSize": 9, "done": true, "records": []}', 0),  # COUNT()
        ("POST", 201, b'{"id": "00T", "success": true, "errors": []}', 1),
        ("PATCH", 204, b"", 1),
        ("DELETE", 204, b"", 1),
        ("GET", 200, b'{"attributes": {"type": "Task"}, "Id": "00T"}', 1),
        ("POST", 200, b'[{"success": true}, {"success": false}]', 2),  # collection results
        ("GET", 200, b'[{"attributes": {}}, null, {"attributes": {}}]', 2),  # retrieve
        ("GET", 200, b'{"ids": ["a", "b"], "latestDateCovered": "x"}', 2),
        ("GET", 200, b'{"deletedRecords": [{"id": "a"}], "earliestDateAvailable": "x"}', 1),
        ("GET", 200, b'{"DailyApiRequests": {"Max": 1, "Remaining": 1}}', 0),  # limits
        ("GET", 400, b'[{"errorCode": "MALFORMED_QUERY"}]', 0),
        (
            "POST",
            200,
            b'{"compositeResponse": [{"httpStatusCode": 200, "body": {"records": [{}, {}]}},'
            b' {"httpStatusCode": 204, "body": null},'
            b' {"httpStatusCode": 400, "body": [{"errorCode": "X"}]}]}',
            3,
        ),
        (
            "POST",
            200,
            b'{"hasErrors": false, "results": [{"statusCode": 201,'
            b' "result": {"id": "00T", "success": true}}]}',
            1,
        ),
    ],
)
def test_records_in_counts_what_a_call_returned_or_wrote(method, status, body, n):
    assert records_in(method, status, body) == n
