"""Issue 17: the emulator answers a second, unmodified Salesforce client, not only
simple-salesforce.

Two layers, on purpose:
- `test_jsforce_session_*` drives real jsforce 3 under Node (tests/emulator/jsforce/). It runs
  where Node and the pinned jsforce are installed (`npm ci --prefix tests/emulator/jsforce`)
  and is skipped with that line where they are not.
- `test_jsforce_shaped_*` replays the same session as raw HTTP shaped exactly as jsforce sends
  it (Node's fetch: chunked OAuth forms, its headers, `POST composite/sobjects/Task` with ids
  and the described fields, one kept-alive connection), so the contract is proved on every
  machine, CI included, with Python alone.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

from .oauth_helpers import CALLBACK, authorize, code_from
from .raw_http import KeptAlive

JSFORCE_DIR = Path(__file__).parent / "jsforce"
V = "/services/data/v59.0"
BULK = 2100  # more than one 2,000-record page: jsforce follows nextRecordsUrl


def _jsforce_missing() -> str | None:
    if shutil.which("node") is None:
        return "jsforce contract test skipped: Node is not installed (apt-get install nodejs npm)"
    if not (JSFORCE_DIR / "node_modules" / "jsforce" / "package.json").exists():
        return (
            "jsforce contract test skipped: jsforce is not installed"
            " (npm ci --prefix tests/emulator/jsforce)"
        )
    return None


def test_jsforce_session_behaves_as_salesforce_documents(sf_emulator):
    missing = _jsforce_missing()
    if missing:
        pytest.skip(missing)
    code = code_from(authorize(sf_emulator))["code"]
    contract = {
        "loginUrl": sf_emulator.login_url,
        "clientId": sf_emulator.demo.client_id,
        "clientSecret": sf_emulator.demo.client_secret,
        "redirectUri": CALLBACK,
        "code": code,
        "bulk": [f"bulk {i:05d}" for i in range(BULK)],
    }
    env = {
        **os.environ,
        "CONTRACT": json.dumps(contract),
        "NODE_EXTRA_CA_CERTS": sf_emulator.ca_bundle,
        "NODE_NO_WARNINGS": "1",
    }
    proc = subprocess.run(
        ["node", str(JSFORCE_DIR / "contract.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    demo = sf_emulator.demo
    expected = {
        "authorize": {
            "ok": {"userId": demo.user_id, "orgId": demo.org_id, "instanceUrl": sf_emulator.api_url}
        },
        "identity": {"ok": {"username": demo.username, "userId": demo.user_id}},
        "createOne": {"ok": True},
        "createMany": {"ok": [True, True]},
        "retrieveOne": {"ok": "js two"},
        "retrieveMany": {"ok": ["js three", "js two"]},
        "retrieveManyFields": {"ok": ["js two", None]},
        "updateOne": {"ok": True},
        "updateMany": {"ok": [True, True]},
        "upsert": {"ok": True},
        "describe": {"ok": {"name": "Task", "hasStatus": True}},
        "queryAutoFetch": {"ok": BULK},
        "updated": {"ok": True},
        "autoRefresh": {"ok": {"totalSize": BULK + 4, "refreshed": 1}},
        "destroyMany": {"ok": [True, True]},
        "composite": {"ok": [201, 200]},
        "revoke": {"ok": True},
    }
    for step, want in expected.items():
        assert out[step] == want, (step, out[step])
    assert {"DailyApiRequests", "DailyBulkApiBatches", "DataStorageMB"} <= set(out["limits"]["ok"])
    # Revoke errors come form-encoded; jsforce reads them with querystring.parse.
    assert out["revokeAgain"]["error"] == "invalid_token"
    assert out["refreshAfterRevoke"]["error"] == "invalid_grant"


# -- the same session, as raw HTTP shaped like jsforce's ----------------------------------------
def _json_headers(body: bytes) -> dict:
    # jsforce's HttpApi sets Content-Length on REST bodies; only its OAuth forms go chunked.
    return {"content-type": "application/json", "content-length": str(len(body))}


def test_jsforce_shaped_session_over_one_kept_alive_connection_per_host(sf_emulator):
    demo = sf_emulator.demo
    code = code_from(authorize(sf_emulator))["code"]
    login = KeptAlive(sf_emulator.login_url)
    # OAuth2.requestToken: querystring.stringify'd form, streamed (chunked), no Accept JSON.
    token = login.form(
        "/services/oauth2/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": demo.client_id,
            "client_secret": demo.client_secret,
            "redirect_uri": CALLBACK,
        },
    )
    assert token.status == 200, token.text
    tokens = token.json()
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    api = KeptAlive(tokens["instance_url"], sf_emulator.ca_bundle)

    def call(method, path, payload=None, *, access_token=None):
        body = None if payload is None else json.dumps(payload).encode()
        headers = _json_headers(body) if body is not None else {}
        return api.request(
            method, path, body=body, chunked=False, headers=headers, token=access_token or access
        )

    # Connection#identity with no userInfo: GET the version's resources, follow `identity`.
    resources = call("GET", V).json()
    identity_url = resources["identity"] + f"?format=json&oauth_token={quote(access, safe='')}"
    parts = urlsplit(identity_url)
    who = login.request("GET", f"{parts.path}?{parts.query}", token=access)
    assert who.status == 200 and who.json()["user_id"] == demo.user_id

    created = call(
        "POST",
        f"{V}/composite/sobjects",
        {
            "allOrNone": False,
            "records": [{"attributes": {"type": "Task"}, "Subject": s} for s in ("a", "b")],
        },
    ).json()
    ids = [r["id"] for r in created]
    # Connection#_retrieveMany: the fields are every field the describe lists.
    fields = [f["name"] for f in call("GET", f"{V}/sobjects/Task/describe").json()["fields"]]
    got = call("POST", f"{V}/composite/sobjects/Task", {"ids": [ids[1], ids[0]], "fields": fields})
    assert got.status == 200 and [r["Subject"] for r in got.json()] == ["b", "a"]
    assert set(fields) <= set(got.json()[0]) | {"attributes"}
    patched = call(
        "PATCH",
        f"{V}/composite/sobjects",
        {
            "allOrNone": False,
            "records": [
                {"id": i, "attributes": {"type": "Task"}, "Status": "Completed"} for i in ids
            ],
        },
    )
    assert [r["success"] for r in patched.json()] == [True, True]
    # Connection#_destroyMany: DELETE .../composite/sobjects?ids=a,b (no allOrNone when false).
    deleted = call("DELETE", f"{V}/composite/sobjects?ids=" + ",".join(ids))
    assert [r["success"] for r in deleted.json()] == [True, True]
    limits = call("GET", f"{V}/limits").json()
    assert limits["DailyApiRequests"]["Max"] == 15000

    # SessionRefreshDelegate: on 401 post the refresh form (chunked), then retry the call.
    sf_emulator.expire_access_tokens()
    expired = call("GET", f"{V}/query?q=" + quote("SELECT COUNT() FROM Task"))
    assert expired.status == 401
    again = login.form(
        "/services/oauth2/token",
        {
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "client_id": demo.client_id,
            "client_secret": demo.client_secret,
        },
    )
    assert again.status == 200, again.text
    access = again.json()["access_token"]
    retried = call("GET", f"{V}/query?q=" + quote("SELECT COUNT() FROM Task"))
    assert retried.status == 200 and retried.json()["totalSize"] == 0

    # OAuth2#revokeToken: chunked form; success 200, then the refresh token is dead.
    assert login.form("/services/oauth2/revoke", {"token": refresh}).status == 200
    assert not sf_emulator.token_is_valid(refresh) and not sf_emulator.token_is_valid(access)
    bad = login.form("/services/oauth2/revoke", {"token": refresh})
    assert bad.status == 400
    assert dict(p.split("=", 1) for p in bad.text.split("&"))["error"] == "invalid_token"
    login.close()
    api.close()
