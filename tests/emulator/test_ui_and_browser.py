"""The people-facing pages: the web UI over plain HTTP, and the authorize page in Chromium."""

import re
import socket
from urllib.parse import parse_qs, urlparse

import pytest

from .conftest import chromium_available
from .oauth_helpers import browser, exchange, pkce_pair


def _csrf(html):
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_it_lets_a_person_manage_tasks_in_the_ui(sf_emulator):
    s = browser()
    ui = f"{sf_emulator.login_url}/ui"
    assert "Log in" in s.get(f"{sf_emulator.login_url}/").text
    page = s.post(f"{ui}/login", data={"username": "demo@tasksync.example", "password": "demo"})
    assert "My Tasks" in page.text
    s.post(
        f"{ui}/new",
        data={
            "csrf": _csrf(page.text),
            "Subject": "<b>Buy milk</b>",
            "ActivityDate": "2026-12-24",
            "Status": "Not Started",
            "Priority": "High",
        },
    )
    page = s.get(f"{ui}/")
    assert "&lt;b&gt;Buy milk&lt;/b&gt;" in page.text and "<b>Buy milk" not in page.text
    [task] = sf_emulator.tasks()
    assert task["ActivityDate"] == "2026-12-24" and task["Priority"] == "High"
    s.post(f"{ui}/tasks/{task['Id']}/complete", data={"csrf": _csrf(page.text)})
    assert sf_emulator.get_task(task["Id"])["IsClosed"] is True
    s.post(f"{ui}/tasks/{task['Id']}/delete", data={"csrf": _csrf(page.text)})
    assert sf_emulator.get_task(task["Id"])["IsDeleted"] is True
    assert "Buy milk" in s.get(f"{ui}/recycle-bin").text
    s.post(f"{ui}/tasks/{task['Id']}/undelete", data={"csrf": _csrf(page.text)})
    assert sf_emulator.get_task(task["Id"])["IsDeleted"] is False
    assert "API requests used" in s.get(f"{ui}/usage").text
    assert sf_emulator.api_call_total() == 0  # UI actions are not API calls


def test_it_refuses_ui_posts_without_the_form_token(sf_emulator):
    s = browser()
    s.post(
        f"{sf_emulator.login_url}/ui/login",
        data={"username": "demo@tasksync.example", "password": "demo"},
    )
    resp = s.post(f"{sf_emulator.login_url}/ui/new", data={"Subject": "x"})
    assert resp.status_code == 403 and sf_emulator.tasks() == []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.browser
@pytest.mark.skipif(not chromium_available(), reason="/usr/bin/chromium is not installed")
def test_it_signs_in_and_allows_access_in_a_real_browser(sf_emulator, page):
    verifier, challenge = pkce_pair()
    # The app's callback on a free port, never the demo's 8000 (`make run` may be serving it);
    # the browser's request to it is caught and answered here.
    callback = f"http://127.0.0.1:{_free_port()}/settings/salesforce/callback/"
    sf_emulator.add_callback_url(callback)
    page.route(f"{callback}**", lambda route: route.fulfill(status=200, body="ok"))
    page.goto(
        f"{sf_emulator.login_url}/services/oauth2/authorize?response_type=code"
        f"&client_id=tasksync-demo-client&redirect_uri={callback}&state=br"
        f"&code_challenge={challenge}"
    )
    page.get_by_label("Username").fill("demo@tasksync.example")
    page.get_by_label("Password").fill("demo")
    page.get_by_role("button", name="Log In").click()
    with page.expect_request(lambda request: request.url.startswith(callback)) as caught:
        page.get_by_role("button", name="Allow").click()
    query = parse_qs(urlparse(caught.value.url).query)
    assert query["state"] == ["br"]
    assert (
        exchange(sf_emulator, query["code"][0], verifier, redirect_uri=callback).status_code == 200
    )
