"""Test helpers: a handle over the control API (in-process or over HTTP) and a requests
session that trusts the emulator's certificate.

REQUESTS_CA_BUNDLE overrides Session.verify (requests' ``Session.merge_environment_settings``;
"Advanced Usage", SSL Cert Verification, https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification,
and https://github.com/psf/requests/issues/3829), so the session passes
verify= on every request instead.
"""

from __future__ import annotations

import datetime as dt
import json
from types import SimpleNamespace
from typing import Any

import requests

from .clock import parse_datetime


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
            # wait_until_held blocks server-side for up to its own timeout.
            timeout=30 + (float(kwargs.get("timeout") or 0) if name == "wait_until_held" else 0),
        )
        payload = resp.json()
        if resp.status_code != 200:
            raise RuntimeError(f"emulator control {name} failed: {payload}")
        return payload["result"]


class EmulatorHandle:
    """What the `sf_emulator` fixture returns. All task back doors skip API accounting."""

    def __init__(self, backend, api_url: str, login_url: str, ca_bundle: str) -> None:
        self._b = backend
        self.api_url = api_url
        self.login_url = login_url
        self.ca_bundle = str(ca_bundle)
        self.demo = Namespace(**backend.call("demo"))

    @classmethod
    def in_process(cls, server) -> EmulatorHandle:
        from .control import Control

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

    # -- clients ------------------------------------------------------------------------------
    def session(self) -> CASession:
        return CASession(self.ca_bundle)

    def tokens(self, user_id: str | None = None, scope: str = "api id refresh_token") -> dict:
        """Back door: a fresh token response for a user (demo user by default)."""
        return self.call("issue_tokens", user_id=user_id, scope=scope)

    def salesforce(self, session_id: str | None = None, version: str = "59.0"):
        """An unmodified simple_salesforce.Salesforce pointed at the emulator."""
        from simple_salesforce import Salesforce

        token = session_id or self.tokens()["access_token"]
        return Salesforce(
            instance_url=self.api_url, session_id=token, version=version, session=self.session()
        )

    # -- state --------------------------------------------------------------------------------
    def reset(self) -> None:
        self.call("reset")

    def state(self) -> dict:
        return self.call("state")

    def add_callback_url(self, url: str, client_id: str | None = None) -> None:
        self.call("add_callback_url", url=url, **({"client_id": client_id} if client_id else {}))

    def api_calls(self) -> dict[str, int]:
        return self.call("api_calls")

    def api_call_total(self) -> int:
        return self.call("api_call_total")

    def reset_api_calls(self) -> None:
        self.call("reset_api_calls")

    def set_api_limit(
        self,
        max: int,
        used: int | None = None,  # noqa: A002
        org_id: str | None = None,
    ) -> None:
        self.call("set_api_limit", max=max, used=used, org_id=org_id)

    def api_usage(self, org_id: str | None = None) -> dict:
        return self.call("api_usage", org_id=org_id)

    # -- faults -------------------------------------------------------------------------------
    def inject_fault(
        self,
        method: str = "*",
        path: str = ".*",
        status: int = 500,
        error_code: str | None = None,
        message: str | None = None,
        times: int | None = 1,
        body: object = None,
    ) -> dict:
        return self.call(
            "inject_fault",
            method=method,
            path=path,
            status=status,
            error_code=error_code,
            message=message,
            times=times,
            body=body,
        )

    def drop_response(self, method: str = "*", path: str = ".*", times: int | None = 1) -> dict:
        return self.call("drop_response", method=method, path=path, times=times)

    def reject_records(self, **kwargs) -> dict:
        return self.call("reject_records", **kwargs)

    def hold_response(
        self, method: str = "*", path: str = ".*", times: int | None = 1, **kwargs
    ) -> dict:
        """Matching calls commit, then wait to answer until `release(id)` (or clear_faults,
        reset, or a 60 s safety timeout). Returns the hold, with its "id"."""
        return self.call("hold_response", method=method, path=path, times=times, **kwargs)

    def wait_until_held(self, id: int, timeout: float = 10.0) -> bool:  # noqa: A002
        return self.call("wait_until_held", id=id, timeout=timeout)

    def release(self, id: int) -> dict:  # noqa: A002
        return self.call("release", id=id)

    def set_latency(self, seconds: float, method: str = "*", path: str = ".*") -> None:
        self.call("set_latency", seconds=seconds, method=method, path=path)

    def set_network_model(self, latency_ms: float = 0.0, per_record_ms: float = 0.0) -> dict:
        """Model the network: each Salesforce call costs latency_ms plus per_record_ms per record
        returned or written. Cleared by reset(), not by clear_faults()."""
        return self.call("set_network_model", latency_ms=latency_ms, per_record_ms=per_record_ms)

    def network_model(self) -> dict:
        return self.call("network_model")

    def clear_faults(self) -> None:
        self.call("clear_faults")

    # -- tasks (back doors) -------------------------------------------------------------------
    def create_task(self, **fields) -> dict:
        return self.call("create_task", **fields)

    def create_tasks(self, records: list[dict], **kwargs) -> list[str]:
        return self.call("create_tasks", records_=records, **kwargs)

    def update_task(self, task_id: str, **fields) -> dict:
        return self.call("update_task", task_id=task_id, **fields)

    def delete_task(self, task_id: str, when: dt.datetime | str | None = None) -> dict:
        return self.call("delete_task", task_id=task_id, when=when)

    def undelete_task(self, task_id: str) -> dict:
        return self.call("undelete_task", task_id=task_id)

    def get_task(self, task_id: str, include_deleted: bool = True) -> dict | None:
        return self.call("get_task", task_id=task_id, include_deleted=include_deleted)

    def tasks(
        self, org_id: str | None = None, include_deleted: bool = True, include_archived: bool = True
    ) -> list[dict]:
        return self.call(
            "tasks",
            org_id=org_id,
            include_deleted=include_deleted,
            include_archived=include_archived,
        )

    def automation_touch(self, task_id: str, **fields) -> dict:
        return self.call("automation_touch", task_id=task_id, **fields)

    def archive_old(self, org_id: str | None = None) -> int:
        return self.call("archive_old", org_id=org_id)

    def run_maintenance(self, org_id: str | None = None) -> None:
        self.call("run_maintenance", org_id=org_id)

    # -- clock --------------------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return parse_datetime(self.call("now"))

    def set_now(self, when: dt.datetime | str, frozen: bool = False) -> dt.datetime:
        return parse_datetime(self.call("set_now", when=when, frozen=frozen))

    def advance(self, delta: dt.timedelta | float) -> dt.datetime:
        return parse_datetime(self.call("advance", seconds=delta))

    # -- orgs, tokens, picklists --------------------------------------------------------------
    def set_refresh_rotation(self, enabled: bool, org_id: str | None = None) -> None:
        self.call("set_refresh_rotation", enabled=enabled, org_id=org_id)

    def set_access_token_lifetime(self, seconds: int, org_id: str | None = None) -> None:
        self.call("set_access_token_lifetime", seconds=seconds, org_id=org_id)

    def set_pkce_required(self, required: bool, client_id: str | None = None) -> None:
        self.call(
            "set_pkce_required",
            required=required,
            **({"client_id": client_id} if client_id else {}),
        )

    def expire_access_tokens(self, org_id: str | None = None) -> int:
        return self.call("expire_access_tokens", org_id=org_id)

    def revoke_refresh_tokens(self, org_id: str | None = None, user_id: str | None = None) -> int:
        return self.call("revoke_refresh_tokens", org_id=org_id, user_id=user_id)

    def revoke_token(self, token: str) -> None:
        self.call("revoke_token", token=token)

    def token_is_revoked(self, token: str) -> bool:
        return self.call("token_is_revoked", token=token)

    def token_is_valid(self, token: str) -> bool:
        return self.call("token_is_valid", token=token)

    def create_org(self, name: str, **kwargs) -> dict:
        return self.call("create_org", name=name, **kwargs)

    def create_user(
        self,
        org_id: str,
        username: str,
        password: str = "password",  # noqa: S107 - test users
        display_name: str | None = None,
        email: str | None = None,
    ) -> dict:
        return self.call(
            "create_user",
            org_id=org_id,
            username=username,
            password=password,
            display_name=display_name,
            email=email,
        )

    def create_connected_app(
        self,
        org_id: str,
        client_id: str,
        client_secret: str,
        callback_urls: list[str],
        pkce_required: bool = False,
    ) -> dict:
        return self.call(
            "create_connected_app",
            org_id=org_id,
            client_id=client_id,
            client_secret=client_secret,
            callback_urls=callback_urls,
            pkce_required=pkce_required,
        )

    def picklist(self, kind: str = "status", org_id: str | None = None) -> list[dict]:
        return self.call("picklist", kind=kind, org_id=org_id)

    def rename_status(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        self.call("rename_status", old=old, new=new, label=label, org_id=org_id)

    def add_status(
        self,
        api_name: str,
        is_closed: bool = False,
        is_default: bool = False,
        org_id: str | None = None,
    ) -> None:
        self.call(
            "add_status",
            api_name=api_name,
            is_closed=is_closed,
            is_default=is_default,
            org_id=org_id,
        )

    def update_status(self, api_name: str, org_id: str | None = None, **values) -> None:
        self.call("update_status", api_name=api_name, org_id=org_id, **values)

    def rename_priority(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        self.call("rename_priority", old=old, new=new, label=label, org_id=org_id)
