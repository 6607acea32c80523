"""What the OAuth endpoints share: scopes, random token text, the JSON error answer."""

from __future__ import annotations

import secrets
import string

from ..web import Response

CODE_LIFETIME_MS = 15 * 60 * 1000  # authorization codes are short-lived and single-use
KNOWN_SCOPES = {
    "api",
    "refresh_token",
    "offline_access",
    "id",
    "profile",
    "email",
    "address",
    "phone",
    "openid",
    "web",
    "full",
    "chatter_api",
    "visualforce",
    "custom_permissions",
}
# No scope parameter: the connected app's selected scopes (an emulator choice, docs/emulator.md).
DEFAULT_SCOPE = "api id refresh_token"
_TOKEN_CHARS = string.ascii_letters + string.digits + "._"


def random_text(n: int) -> str:
    return "".join(secrets.choice(_TOKEN_CHARS) for _ in range(n))


def oauth_error(status: int, error: str, description: str) -> Response:
    return Response.json({"error": error, "error_description": description}, status)
