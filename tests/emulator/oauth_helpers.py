"""Drive the authorize page with plain requests, the way a browser would."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlparse

import requests

CALLBACK = "http://127.0.0.1:8000/settings/salesforce/callback/"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def browser() -> requests.Session:
    s = requests.Session()
    s.trust_env = False
    return s


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html))


def authorize(
    emu,
    *,
    username="demo@tasksync.example",
    password="demo",
    decision="allow",
    state="xyz",
    challenge=None,
    scope=None,
    redirect_uri=CALLBACK,
    client_id="tasksync-demo-client",
) -> requests.Response:
    """GET the page, log in, click Allow/Deny. Returns the final (redirect) response."""
    s = browser()
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if challenge:
        params["code_challenge"] = challenge
    if scope:
        params["scope"] = scope
    url = f"{emu.login_url}/services/oauth2/authorize"
    page = s.get(url, params=params)
    assert page.status_code == 200, page.text
    form = hidden_fields(page.text)
    form.update(username=username, password=password)
    consent = s.post(url, data=form)
    assert "Allow Access?" in consent.text, consent.text
    form = hidden_fields(consent.text)
    form["action"] = decision
    return s.post(url, data=form, allow_redirects=False)


def code_from(resp: requests.Response) -> dict[str, str]:
    assert resp.status_code == 302, resp.text
    query = parse_qs(urlparse(resp.headers["Location"]).query)
    return {k: v[0] for k, v in query.items()}


def exchange(
    emu, code: str, verifier: str | None = None, redirect_uri: str = CALLBACK, **extra
) -> requests.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": emu.demo.client_id,
        "client_secret": emu.demo.client_secret,
        "redirect_uri": redirect_uri,
        **extra,
    }
    if verifier:
        data["code_verifier"] = verifier
    return emu.session().post(f"{emu.login_url}/services/oauth2/token", data=data)
