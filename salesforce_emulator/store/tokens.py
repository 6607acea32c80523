"""OAuth artefacts: access and refresh tokens, authorization codes, login sessions."""

from __future__ import annotations


class TokensMixin:
    def insert_token(
        self,
        token: str,
        kind: str,
        org_id: str,
        user_id: str,
        client_id: str,
        scope: str,
        refresh_token: str | None = None,
    ) -> None:
        self.x(
            "INSERT INTO tokens (token, kind, org_id, user_id, client_id, scope, issued_ms,"
            " refresh_token) VALUES (?,?,?,?,?,?,?,?)",
            (token, kind, org_id, user_id, client_id, scope, self.clock.now_ms(), refresh_token),
        )

    def token(self, token: str) -> dict | None:
        return self.q1("SELECT * FROM tokens WHERE token = ?", (token,))

    def revoke_token(self, token: str) -> None:
        with self.tx():
            self.conn.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (token,))
            # Revoking a refresh token revokes every access token issued from it ("Revoke OAuth
            # Tokens Programmatically", https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5).
            self.conn.execute("UPDATE tokens SET revoked = 1 WHERE refresh_token = ?", (token,))

    def insert_code(
        self,
        code: str,
        client_id: str,
        user_id: str,
        redirect_uri: str,
        challenge: str | None,
        scope: str,
    ) -> None:
        self.x(
            "INSERT INTO codes VALUES (?,?,?,?,?,?,?,0)",
            (code, client_id, user_id, redirect_uri, challenge, scope, self.clock.now_ms()),
        )

    def code(self, code: str) -> dict | None:
        return self.q1("SELECT * FROM codes WHERE code = ?", (code,))

    def insert_session(self, sid: str, user_id: str, csrf: str) -> None:
        self.x("INSERT INTO sessions VALUES (?,?,?,?)", (sid, user_id, csrf, self.clock.now_ms()))

    def session(self, sid: str) -> dict | None:
        return self.q1("SELECT * FROM sessions WHERE sid = ?", (sid,))

    def delete_session(self, sid: str) -> None:
        self.x("DELETE FROM sessions WHERE sid = ?", (sid,))
