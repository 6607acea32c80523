"""Control: tokens as if the OAuth flow had run, and their expiry or revocation."""

from __future__ import annotations

import json

from .. import ids, oauth
from ..clock import format_sf
from ..store import DEMO


class TokensMixin:
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
                refresh = oauth.new_refresh_token(self.emu, app, user, scope)
            resp = oauth.token_response(self.emu, None, app, user, scope, refresh, True)
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
