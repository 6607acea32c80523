"""Identity URLs and userinfo ("Using Identity URLs", Mobile SDK Developer Guide,
https://developer.salesforce.com/docs/platform/mobile-sdk/guide/oauth-using-identity-urls.html)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import ids
from ..clock import format_sf
from ..web import Request, Response
from .tokens import access_token_row

if TYPE_CHECKING:
    from ..core import Emulator


def _bearer_or_param(req: Request) -> str | None:
    return req.bearer() or req.query.get("oauth_token") or req.form().get("access_token")


def _urls(emu: Emulator, req: Request, user: dict, version: str | None) -> dict:
    inst = emu.instance_base(req)
    v = version or "{version}"
    return {
        "enterprise": f"{inst}/services/Soap/c/{v}/{user['org_id']}",
        "metadata": f"{inst}/services/Soap/m/{v}/{user['org_id']}",
        "partner": f"{inst}/services/Soap/u/{v}/{user['org_id']}",
        "rest": f"{inst}/services/data/v{v}/",
        "sobjects": f"{inst}/services/data/v{v}/sobjects/",
        "search": f"{inst}/services/data/v{v}/search/",
        "query": f"{inst}/services/data/v{v}/query/",
        "recent": f"{inst}/services/data/v{v}/recent/",
        "tooling_rest": f"{inst}/services/data/v{v}/tooling/",
        "profile": f"{inst}/{user['id']}",
        "users": f"{inst}/services/data/v{v}/chatter/users",
        "custom_domain": inst,
    }


def identity(emu: Emulator, req: Request, org_id: str, user_id: str) -> Response:
    row = access_token_row(emu, _bearer_or_param(req))
    if row is None:
        return Response.text("Bad_OAuth_Token", 403)
    if not (ids.same(org_id, row["org_id"]) and ids.is_valid(user_id)):
        return Response.text("Bad_Id", 403)
    user = emu.store.user(user_id)
    if user is None or user["org_id"] != row["org_id"]:
        return Response.text("Bad_Id", 403)
    first, _, last = user["display_name"].partition(" ")
    version = req.query.get("version")
    return Response.json(
        {
            "id": f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}",
            "asserted_user": user["id"] == row["user_id"],
            "user_id": user["id"],
            "organization_id": user["org_id"],
            "username": user["username"],
            "nick_name": user["username"].split("@")[0],
            "display_name": user["display_name"],
            "email": user["email"],
            "email_verified": True,
            "first_name": first,
            "last_name": last,
            "timezone": "GMT",
            "photos": {},
            "urls": _urls(emu, req, user, version),
            "active": bool(user["is_active"]),
            "is_active": bool(user["is_active"]),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "last_modified_date": format_sf(emu.store.org(user["org_id"])["created_ms"]),
            "is_app_installed": True,
        }
    )


def userinfo(emu: Emulator, req: Request) -> Response:
    row = access_token_row(emu, _bearer_or_param(req))
    if row is None:
        return Response.text("Bad_OAuth_Token", 403)
    user = emu.store.user(row["user_id"])
    first, _, last = user["display_name"].partition(" ")
    return Response.json(
        {
            "sub": f"{emu.login_base(req)}/id/{user['org_id']}/{user['id']}",
            "user_id": user["id"],
            "organization_id": user["org_id"],
            "preferred_username": user["username"],
            "nickname": user["username"].split("@")[0],
            "name": user["display_name"],
            "given_name": first,
            "family_name": last,
            "email": user["email"],
            "email_verified": True,
            "zoneinfo": "GMT",
            "urls": _urls(emu, req, user, None),
            "active": bool(user["is_active"]),
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "utcOffset": 0,
            "is_app_installed": True,
        }
    )
