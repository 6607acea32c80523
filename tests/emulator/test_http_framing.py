"""Issue 17: request bodies framed with Transfer-Encoding: chunked (what Node's fetch sends for
jsforce's OAuth forms) are read on every endpoint, and the kept-alive connection stays usable.
The Python suite never sent one: `requests` always sets Content-Length."""

import socket
import ssl

from .raw_http import KeptAlive

V = "/services/data/v59.0"


def test_token_and_revoke_forms_sent_chunked_are_read_and_the_connection_survives(sf_emulator):
    demo = sf_emulator.demo
    tokens = sf_emulator.tokens()
    for base in (sf_emulator.login_url, sf_emulator.api_url):  # both ports serve OAuth
        conn = KeptAlive(base, sf_emulator.ca_bundle)
        refreshed = conn.form(
            "/services/oauth2/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": demo.client_id,
                "client_secret": demo.client_secret,
            },
        )
        assert refreshed.status == 200, refreshed.text
        access = refreshed.json()["access_token"]
        assert sf_emulator.token_is_valid(access)
        # Same connection: revoke the new access token, chunked too.
        revoked = conn.form("/services/oauth2/revoke", {"token": access})
        assert revoked.status == 200, revoked.text
        assert not sf_emulator.token_is_valid(access)  # a revoke that was read really revokes
        again = conn.form("/services/oauth2/revoke", {"token": access})
        assert again.status == 400 and again.text.startswith("error=invalid_token")
        conn.close()


def test_rest_and_collection_writes_sent_chunked_are_read(sf_emulator):
    token = sf_emulator.tokens()["access_token"]
    conn = KeptAlive(sf_emulator.api_url, sf_emulator.ca_bundle)
    created = conn.json("POST", f"{V}/sobjects/Task", {"Subject": "chunked " * 30}, token=token)
    assert created.status == 201, created.text
    task_id = created.json()["id"]
    patched = conn.json("PATCH", f"{V}/sobjects/Task/{task_id}", {"Priority": "High"}, token=token)
    assert patched.status == 204 and sf_emulator.get_task(task_id)["Priority"] == "High"
    many = conn.json(
        "POST",
        f"{V}/composite/sobjects",
        {"allOrNone": False, "records": [{"attributes": {"type": "Task"}, "Subject": "c1"}]},
        token=token,
    )
    assert many.status == 200 and many.json()[0]["success"] is True
    updated = conn.json(
        "PATCH",
        f"{V}/composite/sobjects",
        {"records": [{"attributes": {"type": "Task"}, "id": task_id, "Subject": "renamed"}]},
        token=token,
    )
    assert updated.json()[0]["success"] is True
    upserted = conn.json(
        "PATCH",
        f"{V}/composite/sobjects/Task/TasksyncId__c",
        {"records": [{"attributes": {"type": "Task"}, "TasksyncId__c": "k1", "Subject": "u"}]},
        token=token,
    )
    assert upserted.json()[0]["created"] is True
    fetched = conn.json(
        "POST",
        f"{V}/composite/sobjects/Task",
        {"ids": [task_id], "fields": ["Id", "Subject"]},
        token=token,
    )
    assert [r["Subject"] for r in fetched.json()] == ["renamed"]
    upsert_one = conn.json(
        "PATCH", f"{V}/sobjects/Task/TasksyncId__c/k2", {"Subject": "one"}, token=token
    )
    assert upsert_one.status == 201
    composite = conn.json(
        "POST",
        f"{V}/composite",
        {
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": f"{V}/sobjects/Task",
                    "referenceId": "a",
                    "body": {"Subject": "cc"},
                },
                {"method": "DELETE", "url": f"{V}/sobjects/Task/@{{a.id}}", "referenceId": "b"},
            ]
        },
        token=token,
    )
    assert [r["httpStatusCode"] for r in composite.json()["compositeResponse"]] == [201, 204]
    batch = conn.json(
        "POST",
        f"{V}/composite/batch",
        {
            "batchRequests": [
                {
                    "method": "PATCH",
                    "url": f"v59.0/sobjects/Task/{task_id}",
                    "richInput": {"Subject": "b"},
                }
            ]
        },
        token=token,
    )
    assert batch.json()["results"][0]["statusCode"] == 204
    # A bodiless call on the same connection is still parsed from the right byte.
    query = conn.request("GET", f"{V}/query?q=SELECT+Id+FROM+Task", token=token)
    assert query.status == 200 and query.json()["totalSize"] == 4
    conn.close()


def test_control_endpoint_reads_chunked_bodies_too(sf_emulator):
    conn = KeptAlive(sf_emulator.login_url)
    answer = conn.json("POST", "/__emulator__/create_task", {"Subject": "via control"})
    assert answer.status == 200 and answer.json()["result"]["Subject"] == "via control"
    assert conn.request("GET", "/__emulator__/api_call_total").json() == {"result": 0}


def _raw(sf_emulator, payload: bytes) -> bytes:
    host, port = sf_emulator.login_url.split("//", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while chunk := sock.recv(65536):  # the server closes after answering
            data += chunk
    return data


def test_a_malformed_chunked_body_gets_400_and_a_closed_connection(sf_emulator):
    bad = (
        b"POST /services/oauth2/revoke HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\ntoken=abc\r\n0\r\n\r\n"
        b"GET /__emulator__/now HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    data = _raw(sf_emulator, bad)
    assert data.startswith(b"HTTP/1.1 400")
    assert b"Connection: close" in data
    assert data.count(b"HTTP/1.1 ") == 1  # what followed the broken body was not run


def test_chunk_extensions_and_trailers_are_accepted(sf_emulator):
    body = b'{"Subject": "trailer"}'
    request = (
        b"POST /__emulator__/create_task HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
        + f"{len(body):x};ext=1\r\n".encode()
        + body
        + b"\r\n0\r\nX-Trailer: yes\r\n\r\n"
        + b"GET /__emulator__/api_call_total HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    data = _raw(sf_emulator, request)
    assert data.count(b"HTTP/1.1 200") == 2, data
    assert [t["Subject"] for t in sf_emulator.tasks()] == ["trailer"]


def test_an_unsupported_transfer_coding_is_refused(sf_emulator):
    data = _raw(
        sf_emulator,
        b"POST /__emulator__/now HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    )
    assert data.startswith(b"HTTP/1.1 400")


def test_https_port_reads_chunked_bodies_on_a_raw_tls_socket(sf_emulator):
    host, port = sf_emulator.api_url.split("//", 1)[1].rsplit(":", 1)
    ctx = ssl.create_default_context(cafile=sf_emulator.ca_bundle)
    body = b"token=not-a-token"
    with (
        socket.create_connection((host, int(port)), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=host) as sock,
    ):
        sock.sendall(
            b"POST /services/oauth2/revoke HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
            + b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (body[:5], body[5:]))
            + b"0\r\n\r\nGET /__emulator__/api_call_total HTTP/1.1\r\nHost: x\r\n"
            b"Connection: close\r\n\r\n"
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 400") and b"error=invalid_token" in data
    assert data.count(b"HTTP/1.1 ") == 2 and b'{"result": 0}' in data
