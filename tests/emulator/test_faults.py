"""Fault injection through the Python API and the /__emulator__/ control endpoint."""

import threading
import time

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from salesforce_emulator.testing import EmulatorHandle


def test_it_fails_the_next_matching_call_then_recovers(sf, sf_emulator):
    sf_emulator.inject_fault("GET", r"/query", status=503, times=2)
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Task")
        assert exc.value.status == 503
        assert exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0


@pytest.mark.parametrize(
    ("status", "code", "exc_type"),
    [
        (401, "INVALID_SESSION_ID", SalesforceExpiredSession),
        (403, "REQUEST_LIMIT_EXCEEDED", SalesforceRefusedRequest),
        (500, "UNABLE_TO_LOCK_ROW", SalesforceGeneralError),
    ],
)
def test_it_injects_salesforce_error_shapes(sf, sf_emulator, status, code, exc_type):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    sf_emulator.inject_fault("PATCH", r"sobjects/Task/", status=status, error_code=code)
    with pytest.raises(exc_type) as exc:
        sf.Task.update(task_id, {"Subject": "y"})
    assert exc.value.content[0]["errorCode"] == code
    assert sf_emulator.get_task(task_id)["Subject"] == "x"  # a failed call changes nothing


def test_it_rejects_chosen_records_with_a_validation_rule(sf, sf_emulator):
    sf_emulator.reject_records(
        field="Subject", contains="BLOCK", message="Subject may not say BLOCK"
    )
    records = [{"attributes": {"type": "Task"}, "Subject": s} for s in ("ok", "BLOCK me", "ok2")]
    results = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": records}
    )
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"] == [
        {
            "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            "message": "Subject may not say BLOCK",
            "fields": [],
        }
    ]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Task.create({"Subject": "BLOCK again"})
    assert exc.value.content[0]["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"


def test_it_commits_then_drops_the_response(sf, sf_emulator):
    sf_emulator.drop_response("POST", r"sobjects/Task/?$")
    with pytest.raises(requests.exceptions.ConnectionError):
        sf.Task.create({"Subject": "saved but unanswered"})
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["saved but unanswered"]
    # The next call is answered normally.
    assert sf.Task.create({"Subject": "second"})["success"] is True


def test_it_adds_latency(sf, sf_emulator):
    sf_emulator.set_latency(0.3, "GET", "query")
    started = time.monotonic()
    sf.query("SELECT Id FROM Task")
    assert time.monotonic() - started >= 0.3
    sf_emulator.set_latency(0, "GET", "query")


def test_it_can_fail_the_token_endpoint(sf_emulator):
    sf_emulator.inject_fault("POST", "/services/oauth2/token", status=503)
    resp = sf_emulator.session().post(
        f"{sf_emulator.login_url}/services/oauth2/token", data={"grant_type": "refresh_token"}
    )
    assert resp.status_code == 503


def test_it_revokes_refresh_tokens_of_an_org(sf_emulator):
    tokens = sf_emulator.tokens()
    assert sf_emulator.revoke_refresh_tokens() == 1
    resp = sf_emulator.session().post(
        f"{sf_emulator.login_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": "tasksync-demo-client",
            "client_secret": "tasksync-demo-secret",
        },
    )
    assert resp.json()["error"] == "invalid_grant"


def test_it_exposes_the_same_api_over_the_control_endpoint(sf_emulator):
    remote = EmulatorHandle.remote(sf_emulator.login_url, sf_emulator.ca_bundle)
    assert remote.api_url == sf_emulator.api_url
    assert remote.demo.username == "demo@tasksync.example"
    task = remote.create_task(Subject="via HTTP")
    remote.inject_fault("GET", "query", status=500)
    assert sf_emulator.state()["faults"]["faults"][0]["status"] == 500
    assert sf_emulator.get_task(task["Id"])["Subject"] == "via HTTP"
    over_tls = requests.post(
        f"{sf_emulator.api_url}/__emulator__/api_call_total", json={}, verify=sf_emulator.ca_bundle
    )
    assert over_tls.json() == {"result": 0}
    bad = requests.post(f"{sf_emulator.login_url}/__emulator__/nope", json={})
    assert bad.status_code == 404


# -- "commit, then hold the response" --------------------------------------------------------
def _in_thread(fn, *args, **kwargs):
    """Run fn in a thread; returns (thread, outcome dict with "result" or "error")."""
    outcome: dict = {}

    def run():
        try:
            outcome["result"] = fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_a_held_call_is_committed_and_visible_before_it_answers(sf, sf_emulator):
    # R6/R11 race tests need "the write landed, the answer has not": the emulator holds it.
    hold = sf_emulator.hold_response("POST", r"sobjects/Task/?$")
    thread, outcome = _in_thread(sf.Task.create, {"Subject": "landed, unanswered"})
    assert sf_emulator.wait_until_held(hold["id"], timeout=10) is True
    assert thread.is_alive() and outcome == {}
    # Another request (a second client, over the API) sees the committed write.
    other = sf_emulator.salesforce()
    seen = other.query("SELECT Id, Subject FROM Task")["records"]
    assert [r["Subject"] for r in seen] == ["landed, unanswered"]
    sf_emulator.release(hold["id"])
    thread.join(10)
    assert not thread.is_alive()
    assert outcome["result"] == {"id": seen[0]["Id"], "success": True, "errors": []}
    # times=1: the next call is not held.
    assert sf.Task.create({"Subject": "second"})["success"] is True


def test_a_hold_catches_only_matching_calls_and_reports_false_when_none_came(sf, sf_emulator):
    hold = sf_emulator.hold_response("PATCH", r"sobjects/Task/")
    sf.Task.create({"Subject": "not a PATCH"})  # answered at once
    assert sf_emulator.wait_until_held(hold["id"], timeout=0.2) is False
    sf_emulator.release(hold["id"])


def test_clear_faults_and_reset_release_held_calls(sf, sf_emulator):
    task_id = sf.Task.create({"Subject": "x"})["id"]
    hold = sf_emulator.hold_response("PATCH", r"sobjects/Task/", times=2)
    first, out1 = _in_thread(sf.Task.update, task_id, {"Subject": "y"})
    assert sf_emulator.wait_until_held(hold["id"])
    sf_emulator.clear_faults()
    first.join(10)
    assert out1["result"] == 204
    hold = sf_emulator.hold_response("PATCH", r"sobjects/Task/")
    second, out2 = _in_thread(sf.Task.update, task_id, {"Subject": "z"})
    assert sf_emulator.wait_until_held(hold["id"])
    sf_emulator.reset()
    second.join(10)
    assert out2["result"] == 204


def test_a_forgotten_hold_lets_go_after_its_safety_timeout(sf, sf_emulator):
    sf_emulator.hold_response("GET", "query", safety_seconds=0.5)
    started = time.monotonic()
    assert sf.query("SELECT Id FROM Task")["totalSize"] == 0
    assert time.monotonic() - started >= 0.5


def test_holds_work_over_the_control_endpoint(sf, sf_emulator):
    remote = EmulatorHandle.remote(sf_emulator.login_url, sf_emulator.ca_bundle)
    hold = remote.hold_response("DELETE", r"sobjects/Task/")
    task_id = sf.Task.create({"Subject": "to delete"})["id"]
    thread, outcome = _in_thread(sf.Task.delete, task_id)
    assert remote.wait_until_held(hold["id"], timeout=10) is True
    assert sf_emulator.get_task(task_id)["IsDeleted"] is True  # committed while held
    assert remote.state()["faults"]["holds"][0]["waiting"] == 1
    remote.release(hold["id"])
    thread.join(10)
    assert outcome["result"] == 204


def _hang_up_after_sending(sf_emulator, body: dict) -> None:
    """A client that sends a create and dies before the answer (a killed worker): the request is
    on the wire, the socket is closed at once."""
    import json
    import socket
    import ssl
    from urllib.parse import urlsplit

    url = urlsplit(sf_emulator.api_url)
    payload = json.dumps(body).encode()
    request = (
        f"POST /services/data/v59.0/sobjects/Task HTTP/1.1\r\nHost: {url.netloc}\r\n"
        f"Authorization: Bearer {sf_emulator.tokens()['access_token']}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    context = ssl.create_default_context(cafile=sf_emulator.ca_bundle)
    with (
        socket.create_connection((url.hostname, url.port)) as raw,
        context.wrap_socket(raw, server_hostname=url.hostname) as tls,
    ):
        tls.sendall(request)


def test_it_tells_when_a_dead_clients_call_has_run_to_its_end(sf_emulator):
    # The crash test's event (R10): the create a killed worker sent has landed before the test
    # lets a survivor decide to send it again.
    sf_emulator.set_latency(0.5, method="POST", path="sobjects/Task")
    _hang_up_after_sending(sf_emulator, {"Subject": "Sent by a worker that died"})
    deadline = time.monotonic() + 5
    while sf_emulator.wait_until_idle(timeout=0) and time.monotonic() < deadline:
        pass  # until the server has read the request (a matter of milliseconds)
    assert sf_emulator.wait_until_idle(timeout=0.05) is False  # in its latency
    assert sf_emulator.tasks() == []
    assert sf_emulator.wait_until_idle(timeout=10) is True
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["Sent by a worker that died"]
