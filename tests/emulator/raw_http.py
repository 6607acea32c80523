"""A kept-alive HTTP/1.1 connection that sends bodies the way Node's fetch (undici) does when
jsforce hands it a stream: `Transfer-Encoding: chunked`, no Content-Length. Stdlib only, so
every test sees the bytes on the wire and can tell whether the connection survived."""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

# Headers undici adds to every fetch (jsforce 3 sends its requests through it).
UNDICI_HEADERS = {
    "accept": "*/*",
    "accept-language": "*",
    "sec-fetch-mode": "cors",
    "user-agent": "node",
    "accept-encoding": "gzip, deflate",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self):
        return json.loads(self.body)


def chunks(data: bytes, size: int = 7) -> Iterator[bytes]:
    """Cut a body into several small chunks (a stream rarely sends one)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


class KeptAlive:
    """One TCP (and TLS) connection reused for every request, like a Node agent keeps it."""

    def __init__(self, base_url: str, ca_bundle: str | None = None) -> None:
        parts = urlsplit(base_url)
        if parts.scheme == "https":
            ctx = ssl.create_default_context(cafile=ca_bundle)
            self.conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx)
        else:
            self.conn = http.client.HTTPConnection(parts.hostname, parts.port)
        self.conn.connect()
        self.sock = self.conn.sock  # the same socket must serve every request

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        chunked: bool = True,
        headers: dict[str, str] | None = None,
        token: str | None = None,
    ) -> Answer:
        sent = {**UNDICI_HEADERS, **(headers or {})}
        if token:
            sent["authorization"] = f"Bearer {token}"
        if body is not None and chunked:
            # An iterable body and no Content-Length: http.client frames it chunked.
            self.conn.request(method, path, body=chunks(body), headers=sent, encode_chunked=True)
        else:
            self.conn.request(method, path, body=body, headers=sent)
        resp = self.conn.getresponse()
        answer = Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        assert self.conn.sock is self.sock, "the connection was closed and reopened"
        return answer

    def form(self, path: str, fields: dict[str, str], **kwargs) -> Answer:
        return self.request(
            "POST",
            path,
            body=urlencode(fields).encode(),
            headers={"content-type": "application/x-www-form-urlencoded"},
            **kwargs,
        )

    def json(self, method: str, path: str, payload, **kwargs) -> Answer:
        return self.request(
            method,
            path,
            body=json.dumps(payload).encode(),
            headers={"content-type": "application/json"},
            **kwargs,
        )

    def close(self) -> None:
        self.conn.close()
