"""Orgs, users and connected apps (with their callback URLs)."""

from __future__ import annotations

from .. import ids
from ..schema import DEFAULT_PRIORITIES, DEFAULT_STATUSES
from .tables import DAY_MS


class OrgsMixin:
    def create_org(
        self,
        name: str,
        org_type: str = "production",
        *,
        org_id: str | None = None,
        daily_api_limit: int = 15000,
        access_token_lifetime: int = 7200,
        refresh_rotation: bool = False,
    ) -> dict:
        org_id = org_id or ids.new_id(ids.ORG_PREFIX)
        now = self.clock.now_ms()
        with self.tx():
            # earliestDateAvailable before any purge: 15 days before the org existed, so a
            # fresh org never reports a spurious gap (docs/emulator.md; "GetDeletedResult",
            # https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_getdeleted_getdeletedresult.htm).
            self.conn.execute(
                "INSERT INTO orgs VALUES (?,?,?,?,?,?,?,?)",
                (
                    org_id,
                    name,
                    org_type,
                    daily_api_limit,
                    access_token_lifetime,
                    int(refresh_rotation),
                    now - 15 * DAY_MS,
                    now,
                ),
            )
            for i, (api, closed, default) in enumerate(DEFAULT_STATUSES):
                self.add_picklist_value(
                    org_id, "status", api, is_closed=closed, is_default=default, sort_order=i + 1
                )
            for i, (api, high, default) in enumerate(DEFAULT_PRIORITIES):
                self.add_picklist_value(
                    org_id, "priority", api, is_high=high, is_default=default, sort_order=i + 1
                )
        return self.org(org_id)

    def org(self, org_id: str) -> dict | None:
        return self.q1("SELECT * FROM orgs WHERE id = ?", (ids.to18(org_id),))

    def orgs(self) -> list[dict]:
        return self.q("SELECT * FROM orgs ORDER BY created_ms, id")

    def update_org(self, org_id: str, **values) -> None:
        allowed = {
            "name",
            "daily_api_limit",
            "access_token_lifetime",
            "refresh_rotation",
            "earliest_available_ms",
        }
        for key, value in values.items():
            if key not in allowed:
                raise ValueError(f"unknown org setting {key}")
            self.x(f"UPDATE orgs SET {key} = ? WHERE id = ?", (value, org_id))  # noqa: S608

    def create_user(
        self,
        org_id: str,
        username: str,
        password: str,
        display_name: str,
        email: str | None = None,
        *,
        user_id: str | None = None,
    ) -> dict:
        user_id = user_id or ids.new_id(ids.USER_PREFIX)
        self.x(
            "INSERT INTO users (id, org_id, username, password, display_name, email)"
            " VALUES (?,?,?,?,?,?)",
            (user_id, org_id, username, password, display_name, email or username),
        )
        return self.user(user_id)

    def user(self, user_id: str) -> dict | None:
        return self.q1("SELECT * FROM users WHERE id = ?", (ids.to18(user_id),))

    def user_by_username(self, username: str) -> dict | None:
        return self.q1("SELECT * FROM users WHERE username = ?", (username,))

    def users(self, org_id: str) -> list[dict]:
        return self.q("SELECT * FROM users WHERE org_id = ? ORDER BY username", (org_id,))

    def create_app(self, app: dict, callback_urls: list[str]) -> dict:
        """A connected app from its row: client_id, org_id, client_secret, name, pkce_required."""
        with self.tx():
            self.conn.execute(
                "INSERT INTO apps (client_id, org_id, client_secret, name, pkce_required)"
                " VALUES (:client_id, :org_id, :client_secret, :name, :pkce_required)",
                app,
            )
            for url in callback_urls:
                self.add_callback_url(app["client_id"], url)
        return self.app(app["client_id"])

    def add_callback_url(self, client_id: str, url: str) -> None:
        self.x("INSERT OR IGNORE INTO callback_urls VALUES (?, ?)", (client_id, url))

    def app(self, client_id: str) -> dict | None:
        row = self.q1("SELECT * FROM apps WHERE client_id = ?", (client_id,))
        if row:
            urls = self.q("SELECT url FROM callback_urls WHERE client_id = ?", (client_id,))
            row["callback_urls"] = [u["url"] for u in urls]
        return row

    def apps(self) -> list[dict]:
        return [self.app(r["client_id"]) for r in self.q("SELECT client_id FROM apps")]

    def set_app(self, client_id: str, **values) -> None:
        for key, value in values.items():
            if key not in {"client_secret", "pkce_required", "name"}:
                raise ValueError(f"unknown app setting {key}")
            self.x(f"UPDATE apps SET {key} = ? WHERE client_id = ?", (value, client_id))  # noqa: S608
