"""Tiny request/response types shared by the HTTP adapter and the handlers (no framework)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, unquote

JSON_TYPE = "application/json;charset=UTF-8"


@dataclass
class Request:
    method: str
    raw_path: str  # path without the query string, still percent-encoded
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    scheme: str = "http"
    port_kind: str = "login"  # "api" (HTTPS instance host) or "login" (plain HTTP)

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    @property
    def segments(self) -> list[str]:
        """Path segments, each percent-decoded on its own (so %2F stays inside a segment)."""
        return [unquote(s) for s in self.raw_path.strip("/").split("/") if s != ""]

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.query_string, keep_blank_values=True).items()}

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    @property
    def hostname(self) -> str:
        host = self.header("host", "127.0.0.1")
        if host.startswith("["):
            return host.split("]")[0] + "]"
        return host.rsplit(":", 1)[0] if ":" in host else host

    def form(self) -> dict[str, str]:
        """Form fields from an x-www-form-urlencoded body, falling back to the query string."""
        out = dict(self.query)
        if self.body and "json" not in self.header("content-type"):
            out.update(
                {
                    k: v[-1]
                    for k, v in parse_qs(
                        self.body.decode("utf-8", "replace"), keep_blank_values=True
                    ).items()
                }
            )
        return out

    def json(self):
        return json.loads(self.body.decode("utf-8")) if self.body else None

    def cookies(self) -> dict[str, str]:
        jar = SimpleCookie()
        try:
            jar.load(self.header("cookie"))
        except Exception:  # noqa: BLE001 - a malformed cookie header just means "no cookies"
            return {}
        return {k: m.value for k, m in jar.items()}

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.header("authorization")
        if not value.lower().startswith("basic "):
            return None
        try:
            user, _, pwd = base64.b64decode(value[6:]).decode("utf-8").partition(":")
        except Exception:  # noqa: BLE001
            return None
        return unquote(user), unquote(pwd)

    def bearer(self) -> str | None:
        value = self.header("authorization")
        for prefix in ("bearer ", "oauth "):
            if value.lower().startswith(prefix):
                return value[len(prefix) :].strip()
        return None


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    drop: bool = False  # fault injection: commit, then close the socket without answering

    @classmethod
    def json(cls, data, status: int = 200, headers=None) -> Response:
        body = json.dumps(data, indent=None, ensure_ascii=False).encode("utf-8")
        return cls(status, body, [("Content-Type", JSON_TYPE), *(headers or [])])

    @classmethod
    def html(cls, text: str, status: int = 200, headers=None) -> Response:
        return cls(
            status,
            text.encode("utf-8"),
            [("Content-Type", "text/html; charset=utf-8"), *(headers or [])],
        )

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, text.encode("utf-8"), [("Content-Type", "text/plain; charset=utf-8")])

    @classmethod
    def redirect(cls, location: str, headers=None) -> Response:
        return cls(302, b"", [("Location", location), *(headers or [])])

    @classmethod
    def empty(cls, status: int = 204) -> Response:
        return cls(status, b"", [])


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None) -> Response:
    """Salesforce REST error shape: a JSON array ("Status Codes and Error Responses",
    REST API Developer Guide, https://developer.salesforce.com/docs/platform/api-rest/guide/errorcodes.html)."""
    item = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return Response.json([item], status)
