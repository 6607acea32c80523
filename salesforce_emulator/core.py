"""The emulator: state + clock + faults + the request router shared by both ports."""

from __future__ import annotations

import secrets
import threading
import time
import traceback
from collections import Counter, OrderedDict
from pathlib import Path
from urllib.parse import quote

from . import api, housekeeping, ids, oauth
from .clock import Clock
from .errors import RecordError
from .faults import Faults
from .network import NetworkModel, records_in
from .store import Store
from .web import Request, Response, sf_error

SESSION_COOKIE = "sfemu_sid"
MAX_CURSORS = 500


class Emulator:
    def __init__(
        self,
        data_dir: str | Path,
        *,
        api_port: int = 8443,
        login_port: int = 8444,
        callback_urls: list[str] | tuple[str, ...] = (),
        reset: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.api_port = api_port
        self.login_port = login_port
        self.extra_callback_urls = list(callback_urls)
        self.clock = Clock()
        self.store = Store(self.data_dir / "emulator.sqlite3", self.clock)
        self.faults = Faults()
        self.network = NetworkModel()
        self._calls: Counter[str] = Counter()
        self._reads: Counter[str] = Counter()  # records a query returned, by its field list
        self._connections = 0  # connections opened to the API host
        self.keepalive_timeout: float | None = None  # idle seconds before a connection closes
        self._calls_lock = threading.Lock()
        self._busy = threading.Condition()  # Salesforce calls being handled (wait_until_idle)
        self._handling = 0
        self._cursors: OrderedDict[str, dict] = OrderedDict()
        self.created_demo = False
        if reset or self.store.is_empty():
            self.reset()
        else:
            for url in self.extra_callback_urls:
                if self.store.app("tasksync-demo-client"):
                    self.store.add_callback_url("tasksync-demo-client", url)

    # -- lifecycle ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Wipe everything and recreate the demo org (also clears faults, counters, clock)."""
        self.clock.reset()
        self.faults.clear()
        self.network.set(0, 0)
        self.keepalive_timeout = None
        with self._calls_lock:
            self._calls.clear()
            self._reads.clear()
            self._connections = 0
            self._cursors.clear()
        with self.store.tx():
            self.store.wipe()
            self.store.seed_demo(self.extra_callback_urls)
        self.created_demo = True

    def close(self) -> None:
        self.store.close()

    # -- URLs ---------------------------------------------------------------------------------
    def instance_base(self, req: Request | None) -> str:
        host = req.hostname if req else "127.0.0.1"
        return f"https://{host}" + ("" if self.api_port == 443 else f":{self.api_port}")

    def login_base(self, req: Request | None) -> str:
        host = req.hostname if req else "127.0.0.1"
        return f"http://{host}" + ("" if self.login_port == 80 else f":{self.login_port}")

    # -- counters and cursors -----------------------------------------------------------------
    def count_call(self, kind: str, n: int = 1) -> None:
        with self._calls_lock:
            self._calls[kind] += n

    def api_calls(self) -> dict[str, int]:
        with self._calls_lock:
            return dict(self._calls)

    def reset_api_calls(self) -> None:
        with self._calls_lock:
            self._calls.clear()
            self._reads.clear()
            self._connections = 0

    def count_connection(self) -> None:
        with self._calls_lock:
            self._connections += 1

    def connections_opened(self) -> int:
        with self._calls_lock:
            return self._connections

    def count_read(self, fields: list[str], n: int) -> None:
        with self._calls_lock:
            self._reads[", ".join(fields)] += n

    def records_read(self) -> dict[str, int]:
        with self._calls_lock:
            return dict(self._reads)

    def new_locator(self, cursor: dict) -> str:
        locator = ids.new_id(ids.QUERY_LOCATOR_PREFIX)
        cursor["locator"] = locator
        with self._calls_lock:
            self._cursors[locator] = cursor
            while len(self._cursors) > MAX_CURSORS:
                self._cursors.popitem(last=False)
        return locator

    def cursor(self, locator: str) -> dict | None:
        with self._calls_lock:
            return self._cursors.get(locator)

    # -- browser sessions (authorize page and UI) ---------------------------------------------
    def session_for(self, req: Request) -> dict | None:
        sid = req.cookies().get(SESSION_COOKIE)
        return self.store.session(sid) if sid else None

    def new_session(self, user_id: str) -> tuple[dict, str]:
        sid, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(16)
        self.store.insert_session(sid, user_id, csrf)
        cookie = f"{SESSION_COOKIE}={sid}; Path=/; HttpOnly; SameSite=Lax"
        return self.store.session(sid), cookie

    # -- routing ------------------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        segs = req.segments
        if segs[:1] == ["__emulator__"]:
            from . import control

            try:
                return control.handle(self, req, segs[1:])
            except Exception:  # noqa: BLE001 - an emulator bug must not kill the connection
                traceback.print_exc()
                return sf_error(500, "UNKNOWN_EXCEPTION", "emulator internal error")
        with self._busy:
            self._handling += 1
        try:
            # Salesforce's own endpoints cross the modelled network; the UI and control do not.
            on_network = segs[:1] in (["services"], ["id"]) and self.network.active
            if on_network:
                self.network.before()
            response = self._handle(req, segs)
            if on_network:
                self.network.after(records_in(req.method, response.status, response.body))
            return response
        finally:
            with self._busy:
                self._handling -= 1
                self._busy.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """True once no call (other than control calls) is being handled; False after timeout."""
        with self._busy:
            return self._busy.wait_for(lambda: self._handling == 0, timeout)

    def _handle(self, req: Request, segs: list[str]) -> Response:
        try:
            delay = self.faults.latency_for(req.method, req.path)
            if delay:
                time.sleep(delay)
            if segs[:2] == ["services", "data"]:
                return self._api(req, segs)
            fault = self.faults.take(req.method, req.path, drop=False)
            if fault:
                return _fault_response(fault, oauth_style=True)
            response = self._other(req, segs)
        except Exception:  # noqa: BLE001 - an emulator bug must not kill the connection
            traceback.print_exc()
            return sf_error(500, "UNKNOWN_EXCEPTION", "emulator internal error")
        return self._maybe_drop(req, response)

    def _maybe_drop(self, req: Request, response: Response) -> Response:
        """After the call has committed: hold its answer, drop it, or let it go."""
        hold = self.faults.take_hold(req.method, req.path)
        if hold is not None:
            # Committed and visible to other requests; this handler thread waits to answer.
            self.faults.wait_held(hold)
        if self.faults.take(req.method, req.path, drop=True):
            response.drop = True
        return response

    def _other(self, req: Request, segs: list[str]) -> Response:
        if segs[:2] == ["services", "oauth2"] and len(segs) == 3:
            name = segs[2]
            if name == "authorize":
                with self.store.tx():
                    return oauth.authorize(self, req)
            if name == "token":
                return oauth.token(self, req)
            if name == "revoke":
                return oauth.revoke(self, req)
            if name == "userinfo":
                return oauth.userinfo(self, req)
        if segs[:1] == ["id"] and len(segs) == 3:
            return oauth.identity(self, req, segs[1], segs[2])
        if segs[:3] == ["lightning", "r", "Task"] and len(segs) == 5 and segs[4] == "view":
            # A Lightning record page (an app's "Open in Salesforce"): the UI's page of the task.
            return Response.redirect(f"{self.login_base(req)}/ui/tasks/{quote(segs[3])}")
        if segs[:1] == ["ui"] or not segs:
            from . import ui

            return ui.handle(self, req, segs[1:])
        return Response.text("Not Found", 404)

    def _api(self, req: Request, segs: list[str]) -> Response:
        if len(segs) == 2:  # GET /services/data/ lists versions, no auth, no limit header
            return Response.json(
                [{"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}]
            )
        version, kind, rest = api.classify(req.method, segs)
        if version is None:
            return sf_error(404, "NOT_FOUND", "The requested resource does not exist")
        self.count_call(kind)
        token = oauth.access_token_row(self, req.bearer())
        fault = self.faults.take(req.method, req.path, drop=False)
        if fault:
            response = _fault_response(fault, oauth_style=False)
            if token:
                response.headers.append(self._limit_header(token["org_id"]))
            return response
        if token is None:
            return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid", None)
        org_id = token["org_id"]
        user = self.store.user(token["user_id"])
        with self.store.tx():
            housekeeping.maintenance(self.store, org_id)
            org = self.store.org(org_id)
            if self.store.api_usage(org_id) >= org["daily_api_limit"]:
                # Rolling 24 h org-wide allocation exhausted ("API Request Limits and Allocations",
                # https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html).
                response = sf_error(
                    403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", None
                )
                response.headers.append(self._limit_header(org_id))
                return response
            self.store.record_api_call(org_id)
        try:
            with self.store.tx():
                response = api.handle(self, req, version, rest, user)
        except RecordError as exc:
            response = Response.json([exc.as_error()], exc.status)
        response.headers.append(self._limit_header(org_id))
        return self._maybe_drop(req, response)

    def _limit_header(self, org_id: str) -> tuple[str, str]:
        org = self.store.org(org_id)
        used = self.store.api_usage(org_id)
        return ("Sforce-Limit-Info", f"api-usage={used}/{org['daily_api_limit']}")


def _fault_response(fault, *, oauth_style: bool) -> Response:
    if fault.body is not None:
        return Response.json(fault.body, fault.status)
    if oauth_style:
        return Response.json(
            {"error": fault.error_code.lower(), "error_description": fault.message}, fault.status
        )
    return sf_error(fault.status, fault.error_code, fault.message, None)
