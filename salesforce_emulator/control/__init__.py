"""The control API: a Python class used in-process, exposed over HTTP at /__emulator__/<name>.

Control is composed of one mixin per concern (faults, orgs, tokens, tasks, related records);
the general, accounting and clock methods are here with the HTTP endpoint.

Every public method takes and returns JSON-friendly values (datetimes as strings in
Salesforce's format), so the HTTP endpoint is a thin mapping:
    POST /__emulator__/<method>   body: JSON object of keyword arguments
    GET  /__emulator__/<method>   query parameters as keyword arguments (strings)
answers 200 {"result": ...} or 400 {"error": "..."}. None of this counts as an API call.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from .. import ids
from ..clock import format_sf
from ..errors import RecordError
from ..store import DEMO
from ..web import Request, Response
from .faults import FaultsMixin
from .orgs import OrgsMixin
from .related import RelatedMixin
from .tasks import TasksMixin
from .tokens import TokensMixin

if TYPE_CHECKING:
    from ..core import Emulator


class Control(FaultsMixin, OrgsMixin, TokensMixin, TasksMixin, RelatedMixin):
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

    def records_read(self) -> dict[str, int]:
        """Records the queries returned since the last reset, by the query's field list (what
        a client read in full, and what as ids only)."""
        return self.emu.records_read()

    def connections_opened(self) -> int:
        """Connections clients opened to the API host since the last reset (a test control,
        not Salesforce's: whether a client keeps its connections alive across calls)."""
        return self.emu.connections_opened()

    def set_keepalive_timeout(self, seconds: float | None = None) -> None:
        """Close a kept-alive connection once it has been idle ``seconds`` (None: never, the
        default), as a server does between a client's calls: from each connection's next wait."""
        self.emu.keepalive_timeout = None if seconds is None else float(seconds)

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
