"""Test helpers: a handle over the control API (in-process or over HTTP) and a requests
session that trusts the emulator's certificate.

REQUESTS_CA_BUNDLE overrides Session.verify (requests' ``Session.merge_environment_settings``;
"Advanced Usage", SSL Cert Verification, https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification,
and https://github.com/psf/requests/issues/3829), so the session passes
verify= on every request instead.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from types import SimpleNamespace
from typing import Any

import requests

from .clock import parse_datetime
from .control import PUBLIC, Control


class CASession(requests.Session):
    """A requests.Session that verifies against `ca_bundle` on every request."""

    def __init__(self, ca_bundle: str) -> None:
        super().__init__()
        self.ca_bundle = str(ca_bundle)

    def request(self, method, url, *args, **kwargs):  # noqa: D102
        kwargs.setdefault("verify", self.ca_bundle)
        return super().request(method, url, *args, **kwargs)


class Namespace(SimpleNamespace):
    """Attribute and item access (`demo.org_id` or `demo["org_id"]`)."""

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def keys(self):
        return vars(self).keys()


def _jsonable(value):
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class _LocalBackend:
    def __init__(self, control) -> None:
        self.control = control

    def call(self, name: str, /, **kwargs):
        return getattr(self.control, name)(**_jsonable(kwargs))


class _RemoteBackend:
    """Talks to /__emulator__/<name> on the login (HTTP) port of a separate process."""

    def __init__(self, login_url: str) -> None:
        self.base = login_url.rstrip("/") + "/__emulator__/"
        self.session = requests.Session()
        self.session.trust_env = False

    def call(self, name: str, /, **kwargs):
        resp = self.session.post(
            self.base + name,
            data=json.dumps(_jsonable(kwargs)),
            headers={"Content-Type": "application/json"},
            # wait_until_held/_idle block server-side for up to their own timeout.
            timeout=30 + (float(kwargs.get("timeout") or 0) if name.startswith("wait_") else 0),
        )
        payload = resp.json()
        if resp.status_code != 200:
            raise RuntimeError(f"emulator control {name} failed: {payload}")
        return payload["result"]


# Control methods whose answer is a Salesforce dateTime string: the handle gives a datetime.
_RETURNS_DATETIME = frozenset({"now", "set_now", "advance", "reset_clock"})


def _keyword_arguments(signature: inspect.Signature, args: tuple, kwargs: dict) -> dict:
    """The call's arguments by name, checked against the Control method's signature (so a wrong
    call fails the same way in-process and over HTTP); **extra keywords are spread out."""
    bound = signature.bind(None, *args, **kwargs)  # None stands for Control's `self`
    out: dict = {}
    for name, value in list(bound.arguments.items())[1:]:
        if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
            out.update(value)
        else:
            out[name] = value
    return out


class EmulatorHandle:
    """What the `sf_emulator` fixture returns. All task back doors skip API accounting.

    Every public method of salesforce_emulator.control.Control is a method of the handle with
    the same signature (`handle.create_task(Subject="x")`), forwarded to the in-process Control
    or to /__emulator__/<name> of a separate process; the clock's answers come back as
    datetimes. `demo` is the demo org/user/app as a Namespace. Besides: `session()`,
    `salesforce()` and `tokens()` (issue_tokens with the demo user's defaults).
    """

    def __init__(self, backend, api_url: str, login_url: str, ca_bundle: str) -> None:
        self._b = backend
        self.api_url = api_url
        self.login_url = login_url
        self.ca_bundle = str(ca_bundle)
        self.demo = Namespace(**backend.call("demo"))

    @classmethod
    def in_process(cls, server) -> EmulatorHandle:
        return cls(
            _LocalBackend(Control(server.emulator)),
            server.api_url,
            server.login_url,
            str(server.cert_path),
        )

    @classmethod
    def remote(cls, login_url: str, ca_bundle: str) -> EmulatorHandle:
        backend = _RemoteBackend(login_url)
        state = backend.call("state")
        host = login_url.split("//", 1)[1].rsplit(":", 1)[0]
        return cls(backend, f"https://{host}:{state['api_port']}", login_url, ca_bundle)

    def call(self, name: str, /, **kwargs):
        """Any control method by name (see salesforce_emulator.control.Control)."""
        return self._b.call(name, **kwargs)

    def __getattr__(self, name: str):
        if name.startswith("_") or name not in PUBLIC:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        method = getattr(Control, name)
        signature = inspect.signature(method)

        def forward(*args, **kwargs):
            result = self._b.call(name, **_keyword_arguments(signature, args, kwargs))
            return parse_datetime(result) if name in _RETURNS_DATETIME else result

        forward.__name__ = forward.__qualname__ = name
        forward.__doc__ = method.__doc__
        forward.__signature__ = signature.replace(
            parameters=list(signature.parameters.values())[1:]
        )
        return forward

    def __dir__(self):
        return sorted({*super().__dir__(), *PUBLIC})

    # -- clients ------------------------------------------------------------------------------
    def session(self) -> CASession:
        return CASession(self.ca_bundle)

    def tokens(self, user_id: str | None = None, scope: str = "api id refresh_token") -> dict:
        """Back door: a fresh token response for a user (demo user by default)."""
        return self.issue_tokens(user_id=user_id, scope=scope)

    def salesforce(self, session_id: str | None = None, version: str = "59.0"):
        """An unmodified simple_salesforce.Salesforce pointed at the emulator."""
        from simple_salesforce import Salesforce

        token = session_id or self.tokens()["access_token"]
        return Salesforce(
            instance_url=self.api_url, session_id=token, version=version, session=self.session()
        )
