"""Control: orgs, users, connected apps and picklist values (TaskStatus, TaskPriority)."""

from __future__ import annotations

from .. import ids
from ..store import DEMO


class OrgsMixin:
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
        app = {
            "client_id": client_id,
            "org_id": ids.to18(org_id),
            "client_secret": client_secret,
            "name": name,
            "pkce_required": int(pkce_required),
        }
        return self._store.create_app(app, list(callback_urls))

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

    def add_status(
        self,
        api_name: str,
        is_closed: bool = False,
        is_default: bool = False,
        label: str | None = None,
        org_id: str | None = None,
    ) -> None:
        values = {"label": label, "is_closed": is_closed, "is_default": is_default}
        self._store.add_picklist_value(self._org(org_id), "status", api_name, **values)

    def update_status(self, api_name: str, org_id: str | None = None, **values) -> None:
        self._store.update_picklist_value(self._org(org_id), "status", api_name, **values)

    def rename_status(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        """Rename a TaskStatus value. Existing tasks keep the old text, like a real org."""
        self._rename_value("status", old, new, label, org_id)

    def remove_status(self, api_name: str, org_id: str | None = None) -> None:
        self._store.delete_picklist_value(self._org(org_id), "status", api_name)

    def add_priority(
        self,
        api_name: str,
        is_high_priority: bool = False,
        is_default: bool = False,
        org_id: str | None = None,
    ) -> None:
        values = {"is_high": is_high_priority, "is_default": is_default}
        self._store.add_picklist_value(self._org(org_id), "priority", api_name, **values)

    def rename_priority(
        self, old: str, new: str, label: str | None = None, org_id: str | None = None
    ) -> None:
        """Rename a TaskPriority value. Existing tasks keep the old text, like a real org."""
        self._rename_value("priority", old, new, label, org_id)

    def _rename_value(
        self, kind: str, old: str, new: str, label: str | None, org_id: str | None
    ) -> None:
        self._store.update_picklist_value(
            self._org(org_id), kind, old, api_name=new, label=label or new
        )
