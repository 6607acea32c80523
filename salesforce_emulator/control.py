"""The control API: a Python class used in-process, exposed over HTTP at /__emulator__/<name>.

Every public method takes and returns JSON-friendly values (datetimes as strings in
Salesforce's format), so the HTTP endpoint is a thin mapping:
    POST /__emulator__/<method>   body: JSON object of keyword arguments
    GET  /__emulator__/<method>   query parameters as keyword arguments (strings)
answers 200 {"result": ...} or 400 {"error": "..."}. None of this counts as an API call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from . import ids, oauth, records
from .clock import coerce_ms, format_sf, truncate_seconds
from .faults import HOLD_SAFETY_SECONDS
from .records import RecordError
from .store import DEMO
from .web import Request, Response

if TYPE_CHECKING:
    from .core import Emulator


class Control:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def _store(self):
        return self.emu.store

    def _org(self, org_id: str | None) -> str:
        return ids.to18(org_id) if org_id else DEMO["org_id"]

    # -- general ------------------------------------------------------------------------------
    def reset(self) -> None:
        self.emu.reset()

    def demo(self) -> dict:
        return {
            k: DEMO[k]
            for k in (
                "org_id",
                "user_id",
                "username",
                "password",
                "client_id",
                "client_secret",
                "display_name",
                "email",
            )
        }

    def state(self) -> dict:
        return {
            "api_port": self.emu.api_port,
            "login_port": self.emu.login_port,
            "now": self.now(),
            "demo": self.demo(),
            "orgs": [self._org_view(o) for o in self._store.orgs()],
            "apps": self._store.apps(),
            "faults": self.emu.faults.describe(),
            "network": self.emu.network.describe(),
            "api_calls": self.api_calls(),
        }

    def _org_view(self, org: dict) -> dict:
        return {
            "id": org["id"],
            "name": org["name"],
            "org_type": org["org_type"],
            "daily_api_limit": org["daily_api_limit"],
            "api_usage": self._store.api_usage(org["id"]),
            "access_token_lifetime": org["access_token_lifetime"],
            "refresh_rotation": bool(org["refresh_rotation"]),
            "earliest_date_available": format_sf(org["earliest_available_ms"]),
            "users": [
                {k: u[k] for k in ("id", "username", "display_name", "email")}
                for u in self._store.users(org["id"])
            ],
            "statuses": self.picklist("status", org["id"]),
            "priorities": self.picklist("priority", org["id"]),
        }

    def add_callback_url(self, url: str, client_id: str = DEMO["client_id"]) -> None:
        self._store.add_callback_url(client_id, url)

    # -- API call accounting ------------------------------------------------------------------
    def api_calls(self) -> dict[str, int]:
        return self.emu.api_calls()

    def api_call_total(self) -> int:
        return sum(self.emu.api_calls().values())

    def reset_api_calls(self) -> None:
        self.emu.reset_api_calls()

    def set_api_limit(
        self,
        max: int,
        used: int | None = None,  # noqa: A002 - brief's name
        org_id: str | None = None,
    ) -> None:
        org = self._org(org_id)
        self._store.update_org(org, daily_api_limit=int(max))
        if used is not None:
            self._store.set_api_usage(org, int(used))

    def api_usage(self, org_id: str | None = None) -> dict:
        org = self._store.org(self._org(org_id))
        return {"used": self._store.api_usage(org["id"]), "max": org["daily_api_limit"]}

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
        return self.emu.faults.add_fault(
            method,
            path,
            status=int(status),
            error_code=error_code,
            message=message,
            times=times,
            body=body,
        )

    def drop_response(self, method: str = "*", path: str = ".*", times: int | None = 1) -> dict:
        return self.emu.faults.add_fault(method, path, times=times, drop=True)

    def reject_records(
        self,
        field: str | None = "Subject",
        contains: str | None = None,
        equals: object = None,
        record_ids: list[str] | None = None,
        operations: list[str] | tuple[str, ...] = ("create", "update"),
        message: str = "Rejected by a validation rule",
        error_code: str = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        fields: list[str] | None = None,
        times: int | None = None,
    ) -> dict:
        return self.emu.faults.add_reject(
            field=field,
            contains=contains,
            equals=equals,
            record_ids=record_ids,
            operations=tuple(operations),
            message=message,
            error_code=error_code,
            fields=fields,
            times=times,
        )

    def hold_response(
        self,
        method: str = "*",
        path: str = ".*",
        times: int | None = 1,
        safety_seconds: float = HOLD_SAFETY_SECONDS,
    ) -> dict:
        """The next `times` matching calls run and commit, then wait before answering until
        `release(id)`, `clear_faults()`/`reset()`, or `safety_seconds` (60 s) pass."""
        return self.emu.faults.add_hold(
            method, path, None if times is None else int(times), float(safety_seconds)
        )

    def wait_until_held(self, id: int, timeout: float = 10.0) -> bool:  # noqa: A002 - brief's name
        """True once a call matching hold `id` has committed and is being held."""
        return self.emu.faults.wait_until_held(id, float(timeout))

    def wait_until_idle(self, timeout: float = 10.0) -> bool:
        """True once no call is being handled: every request received so far, a dead client's
        too, has run to its end (committed, answered or failed). False after `timeout` s."""
        return self.emu.wait_until_idle(float(timeout))

    def release(self, id: int) -> dict:  # noqa: A002 - brief's name
        """Let the calls held by `id` answer normally; the hold catches no more calls."""
        return self.emu.faults.release(id)

    def set_latency(self, seconds: float, method: str = "*", path: str = ".*") -> None:
        self.emu.faults.set_latency(float(seconds), method, path)

    def set_network_model(self, latency_ms: float = 0.0, per_record_ms: float = 0.0) -> dict:
        """Every Salesforce call waits latency_ms (half before, half after it runs) plus
        per_record_ms for each record it returned or wrote. 0, 0 turns it off."""
        return self.emu.network.set(float(latency_ms), float(per_record_ms))

    def network_model(self) -> dict:
        return self.emu.network.describe()

    def clear_faults(self) -> None:
        self.emu.faults.clear()

    def faults(self) -> dict:
        return self.emu.faults.describe()

    # -- clock --------------------------------------------------------------------------------
    def now(self) -> str:
        return format_sf(self.emu.clock.now_ms())

    def set_now(self, when: str | dt.datetime, frozen: bool = False) -> str:
        self.emu.clock.set(when, frozen=frozen)
        return self.now()

    def advance(self, seconds: float | dt.timedelta) -> str:
        self.emu.clock.advance(seconds if isinstance(seconds, dt.timedelta) else float(seconds))
        return self.now()

    def reset_clock(self) -> str:
        self.emu.clock.reset()
        return self.now()

    # -- orgs, users, apps, picklists ---------------------------------------------------------
    def create_org(
        self,
        name: str,
        org_type: str = "production",
        daily_api_limit: int = 15000,
        access_token_lifetime: int = 7200,
        refresh_rotation: bool = False,
    ) -> dict:
        org = self._store.create_org(
            name,
            org_type,
            daily_api_limit=daily_api_limit,
            access_token_lifetime=access_token_lifetime,
            refresh_rotation=refresh_rotation,
        )
        return self._org_view(org)

    def create_user(
        self,
        org_id: str,
        username: str,
        password: str = "password",  # noqa: S107 - test users
        display_name: str | None = None,
        email: str | None = None,
    ) -> dict:
        user = self._store.create_user(
            ids.to18(org_id), username, password, display_name or username.split("@")[0], email
        )
        return {k: user[k] for k in ("id", "org_id", "username", "display_name", "email")}

    def create_connected_app(
        self,
        org_id: str,
        client_id: str,
        client_secret: str,
        callback_urls: list[str],
        pkce_required: bool = False,
        name: str = "tasksync",
    ) -> dict:
        return self._store.create_app(
            ids.to18(org_id),
            client_id,
            client_secret,
            list(callback_urls),
            pkce_required=pkce_required,
            name=name,
        )

    def set_pkce_required(self, required: bool, client_id: str = DEMO["client_id"]) -> None:
        self._store.set_app(client_id, pkce_required=int(bool(required)))

    def set_refresh_rotation(self, enabled: bool, org_id: str | None = None) -> None:
        self._store.update_org(self._org(org_id), refresh_rotation=int(bool(enabled)))

    def set_access_token_lifetime(self, seconds: int, org_id: str | None = None) -> None:
        self._store.update_org(self._org(org_id), access_token_lifetime=int(seconds))

    def picklist(self, kind: str = "status", org_id: str | None = None) -> list[dict]:
        return [
            {
                "api_name": p["api_name"],
                "label": p["label"],
                "is_closed": bool(p["is_closed"]),
                "is_default": bool(p["is_default"]),
                "is_high_priority": bool(p["is_high"]),
                "sort_order": p["sort_order"],
            }
            for p in self._store.picklist(self._org(org_id), kind)
        ]

    def rename_status(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        """Rename a TaskStatus value. Existing tasks keep the old text, like a real org."""
        self._store.update_picklist_value(
            self._org(org_id), "status", old, api_name=new, label=label or new
        )

    def add_status(
        self,
        api_name: str,
        is_closed: bool = False,
        is_default: bool = False,
        label: str | None = None,
        org_id: str | None = None,
    ) -> None:
        self._store.add_picklist_value(
            self._org(org_id),
            "status",
            api_name,
            label=label,
            is_closed=is_closed,
            is_default=is_default,
        )

    def update_status(self, api_name: str, org_id: str | None = None, **values) -> None:
        self._store.update_picklist_value(self._org(org_id), "status", api_name, **values)

    def remove_status(self, api_name: str, org_id: str | None = None) -> None:
        self._store.delete_picklist_value(self._org(org_id), "status", api_name)

    def rename_priority(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        self._store.update_picklist_value(
            self._org(org_id), "priority", old, api_name=new, label=label or new
        )

    def add_priority(
        self,
        api_name: str,
        is_high_priority: bool = False,
        is_default: bool = False,
        org_id: str | None = None,
    ) -> None:
        self._store.add_picklist_value(
            self._org(org_id), "priority", api_name, is_high=is_high_priority, is_default=is_default
        )

    # -- tokens -------------------------------------------------------------------------------
    def issue_tokens(
        self,
        user_id: str | None = None,
        scope: str = "api id refresh_token",
        client_id: str = DEMO["client_id"],
    ) -> dict:
        """Back door: a token response as if the OAuth flow had just completed."""
        user = self._store.user(user_id or DEMO["user_id"])
        app = self._store.app(client_id)
        with self._store.tx():
            refresh = None
            if {"refresh_token", "offline_access"} & set(scope.split()):
                refresh = oauth._new_refresh(self.emu, app, user, scope)
            resp = oauth._token_response(self.emu, None, app, user, scope, refresh, True)
        return json.loads(resp.body)

    def expire_access_tokens(self, org_id: str | None = None) -> int:
        return self._store.x(
            "UPDATE tokens SET expired = 1 WHERE kind = 'access' AND org_id = ?",
            (self._org(org_id),),
        )

    def revoke_refresh_tokens(self, org_id: str | None = None, user_id: str | None = None) -> int:
        sql = "SELECT token FROM tokens WHERE kind = 'refresh' AND revoked = 0 AND org_id = ?"
        params: list = [self._org(org_id)]
        if user_id:
            sql += " AND user_id = ?"
            params.append(ids.to18(user_id))
        rows = self._store.q(sql, params)
        for row in rows:
            self._store.revoke_token(row["token"])
        return len(rows)

    def revoke_token(self, token: str) -> None:
        self._store.revoke_token(token)

    def token_is_revoked(self, token: str) -> bool:
        row = self._store.token(token)
        return row is None or bool(row["revoked"])

    def token_is_valid(self, token: str) -> bool:
        """True for a live access token, or a refresh token that can still be used."""
        row = self._store.token(token)
        if row is None or row["revoked"]:
            return False
        return row["kind"] == "refresh" or oauth.access_token_row(self.emu, token) is not None

    def token_info(self, token: str) -> dict | None:
        row = self._store.token(token)
        if row is None:
            return None
        return {
            **row,
            "revoked": bool(row["revoked"]),
            "expired": bool(row["expired"]),
            "issued": format_sf(row["issued_ms"]),
        }

    # -- task back doors (no API call counted) ------------------------------------------------
    def _user(self, user_id: str | None, org_id: str | None) -> dict:
        if user_id:
            return self._store.user(user_id)
        if org_id and ids.to18(org_id) != DEMO["org_id"]:
            return self._store.users(ids.to18(org_id))[0]
        return self._store.user(DEMO["user_id"])

    def _task_user(self, task_id: str) -> tuple[dict, dict]:
        row = self._store.task(task_id)
        if row is None:
            raise KeyError(f"no task {task_id}")
        owner = self._store.user(row["OwnerId"])
        if owner is None or owner["org_id"] != row["org_id"]:
            owner = self._store.users(row["org_id"])[0]
        return row, owner

    def create_task(self, org_id: str | None = None, user_id: str | None = None, **fields) -> dict:
        user = self._user(user_id, org_id)
        with self._store.tx():
            row = records.build_new_task(
                self._store, user["org_id"], user["id"], dict(fields), backdoor=True
            )
            self._store.insert_task(user["org_id"], row)
        return self.get_task(row["Id"])

    def create_tasks(
        self, records_: list[dict], org_id: str | None = None, user_id: str | None = None
    ) -> list[str]:
        """Many tasks in one transaction (fast setup for paging tests)."""
        user = self._user(user_id, org_id)
        out = []
        with self._store.tx():
            for fields in records_:
                row = records.build_new_task(
                    self._store, user["org_id"], user["id"], dict(fields), backdoor=True
                )
                self._store.insert_task(user["org_id"], row)
                out.append(row["Id"])
        return out

    def update_task(self, task_id: str, **fields) -> dict:
        with self._store.tx():
            before, user = self._task_user(task_id)
            changes = records.apply_update(
                self._store, before["org_id"], user["id"], before, fields, backdoor=True
            )
            self._store.update_task(before["Id"], changes)
        return self.get_task(task_id)

    def automation_touch(self, task_id: str, **fields) -> dict:
        """An automated process rewrote the record: only SystemModstamp moves ("System Fields",
        SOAP API Developer Guide, https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/system_fields.htm)."""
        with self._store.tx():
            before, user = self._task_user(task_id)
            changes = records.apply_update(
                self._store, before["org_id"], user["id"], before, fields, automation=True
            )
            self._store.update_task(before["Id"], changes)
        return self.get_task(task_id)

    def delete_task(self, task_id: str, when: str | None = None) -> dict:
        with self._store.tx():
            row, user = self._task_user(task_id)
            now = coerce_ms(when) if when else truncate_seconds(self.emu.clock.now_ms())
            self._store.update_task(
                row["Id"],
                {
                    "IsDeleted": True,
                    "SystemModstamp": now,
                    "LastModifiedDate": now,
                    "LastModifiedById": user["id"],
                },
            )
            self._store.x('UPDATE tasks SET deleted_ms = ? WHERE "Id" = ?', (now, row["Id"]))
        return self.get_task(task_id)

    def undelete_task(self, task_id: str) -> dict:
        """ "User restored it from the Recycle Bin": IsDeleted false, dates bumped."""
        with self._store.tx():
            row, user = self._task_user(task_id)
            if not row["IsDeleted"]:
                raise RecordError("UNDELETE_FAILED", "Entity is not in the recycle bin")
            now = truncate_seconds(self.emu.clock.now_ms())
            self._store.update_task(
                row["Id"],
                {
                    "IsDeleted": False,
                    "SystemModstamp": now,
                    "LastModifiedDate": now,
                    "LastModifiedById": user["id"],
                },
            )
            self._store.x('UPDATE tasks SET deleted_ms = NULL WHERE "Id" = ?', (row["Id"],))
        return self.get_task(task_id)

    def get_task(self, task_id: str, include_deleted: bool = True) -> dict | None:
        row = self._store.task(task_id)
        if row is None or (row["IsDeleted"] and not include_deleted):
            return None
        return records.to_api_dict(row)

    def tasks(
        self, org_id: str | None = None, include_deleted: bool = True, include_archived: bool = True
    ) -> list[dict]:
        rows = self._store.tasks(self._org(org_id))
        return [
            records.to_api_dict(r)
            for r in rows
            if (include_deleted or not r["IsDeleted"]) and (include_archived or not r["IsArchived"])
        ]

    def archive_old(self, org_id: str | None = None) -> int:
        return records.archive_old(self._store, self._org(org_id))

    def run_maintenance(self, org_id: str | None = None) -> None:
        records.maintenance(self._store, self._org(org_id))


PUBLIC = {name for name in dir(Control) if not name.startswith("_")}


def handle(emu: Emulator, req: Request, segs: list[str]) -> Response:
    if not segs:
        return Response.json({"methods": sorted(PUBLIC)})
    name = segs[0].replace("-", "_")
    if name not in PUBLIC:
        return Response.json({"error": f"unknown control method {segs[0]!r}"}, 404)
    try:
        kwargs = (req.json() or {}) if req.method == "POST" else dict(req.query)
        if not isinstance(kwargs, dict):
            raise TypeError("body must be a JSON object of keyword arguments")
        result = getattr(Control(emu), name)(**kwargs)
    except RecordError as exc:
        return Response.json({"error": exc.message, "errorCode": exc.code}, 400)
    except (TypeError, ValueError, KeyError) as exc:
        return Response.json({"error": f"{type(exc).__name__}: {exc}"}, 400)
    return Response.json({"result": result})
