"""HTTP(S) servers: the same Emulator behind an HTTPS port (instance/API host) and a plain
HTTP port (login host, for browsers without certificate warnings). Stdlib only."""

from __future__ import annotations

import contextlib
import email.utils
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .certs import ensure_certificate
from .core import Emulator
from .web import Request

MAX_BODY = 64 * 1024 * 1024  # far above any real Salesforce request
MAX_LINE = 64 * 1024


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: simple-salesforce reuses its session
    # The headers and the body go out in two writes: with Nagle's algorithm on, the second waits
    # for the client's delayed ACK of the first, ~40 ms added to every call of a kept-alive
    # connection. TCP_NODELAY sends both at once.
    disable_nagle_algorithm = True
    server_version = "SalesforceEmulator/1.0"
    emulator: Emulator
    scheme: str
    port_kind: str

    def setup(self) -> None:
        super().setup()
        if self.port_kind == "api":
            self.emulator.count_connection()

    def handle_one_request(self) -> None:
        # A kept-alive connection left idle this long is closed, as servers do (None: never):
        # http.server closes the connection when the wait for the next request times out.
        self.connection.settimeout(self.emulator.keepalive_timeout)
        super().handle_one_request()

    def _read_body(self) -> bytes:
        """The request body, framed by Transfer-Encoding: chunked or Content-Length (RFC 9112
        §6). Every byte of it is consumed, so a kept-alive connection reads the next request
        from the right place. Raises ValueError on a malformed frame."""
        encodings = [
            e.strip().lower()
            for e in (self.headers.get("Transfer-Encoding") or "").split(",")
            if e.strip()
        ]
        if encodings:
            if encodings[-1] != "chunked" or any(
                e not in ("chunked", "identity") for e in encodings
            ):
                raise ValueError("unsupported Transfer-Encoding")
            return self._read_chunked()
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit():
            raise ValueError("bad Content-Length")
        length = int(raw)
        if length > MAX_BODY:
            raise ValueError("body too large")
        body = self.rfile.read(length) if length else b""
        if len(body) != length:
            raise ValueError("body shorter than its Content-Length")
        return body

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 1)
            if not line.endswith(b"\n") or len(line) > MAX_LINE:
                raise ValueError("bad chunk size line")
            size_text = line.split(b";", 1)[0].strip()  # chunk extensions are ignored
            try:
                size = int(size_text, 16)
            except ValueError:
                raise ValueError("bad chunk size") from None
            if size < 0:
                raise ValueError("bad chunk size")
            if size == 0:
                break
            total += size
            if total > MAX_BODY:
                raise ValueError("body too large")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.readline(MAX_LINE + 1).strip() != b"":
                raise ValueError("chunk shorter than its size")
            parts.append(chunk)
        while True:  # trailer fields, up to the empty line
            line = self.rfile.readline(MAX_LINE + 1)
            if not line or len(line) > MAX_LINE:
                raise ValueError("bad chunked trailer")
            if line in (b"\r\n", b"\n"):
                break
        return b"".join(parts)

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError as exc:
            # The framing is lost: answer 400 and close, never parse the rest as a request.
            self.close_connection = True
            self._write(400, [("Content-Type", "text/plain; charset=utf-8")], str(exc).encode())
            return
        path, _, qs = self.path.partition("?")
        req = Request(
            method=self.command,
            raw_path=path,
            query_string=qs,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            scheme=self.scheme,
            port_kind=self.port_kind,
        )
        resp = self.emulator.handle(req)
        if resp.drop:
            # "Commit the change but drop the response": the write is already committed;
            # close the socket so the client sees a ConnectionError.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._write(resp.status, resp.headers, resp.body)

    def _write(self, status: int, headers, body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = _serve

    def date_time_string(self, timestamp=None) -> str:
        """The Date header on the emulator's clock, as Salesforce's servers stamp theirs: a
        client measures the skew between its clock and Salesforce's from it (R16)."""
        if timestamp is None:
            timestamp = self.emulator.clock.now_ms() / 1000
        return email.utils.formatdate(timestamp, usegmt=True)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    verbose = False

    def handle_error(self, request, client_address) -> None:
        # TLS handshake failures and client resets are normal noise for an emulator.
        if self.verbose:
            super().handle_error(request, client_address)


class EmulatorServer:
    """Runs both listeners in background threads. Port 0 picks a free port."""

    def __init__(
        self,
        data_dir: str | Path,
        *,
        host: str = "127.0.0.1",
        port: int = 8443,
        login_port: int = 8444,
        reset: bool = False,
        callback_urls: list[str] | tuple[str, ...] = (),
        cert_hosts: list[str] | None = None,
        verbose: bool = False,
        pubsub_port: int | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.cert_path, self.key_path = ensure_certificate(self.data_dir, cert_hosts)
        self.emulator = Emulator(
            self.data_dir,
            api_port=port,
            login_port=login_port,
            callback_urls=callback_urls,
            reset=reset,
        )
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        self.https = self._make(host, port, "https", "api", verbose)
        # Handshake lazily in the handler thread, so one slow client can't block accept().
        self.https.socket = ctx.wrap_socket(
            self.https.socket, server_side=True, do_handshake_on_connect=False
        )
        self.http = self._make(host, login_port, "http", "login", verbose)
        self.emulator.api_port = self.https.server_address[1]
        self.emulator.login_port = self.http.server_address[1]
        # The Pub/Sub API (gRPC over TLS, same certificate) on its own port: 8445 beside 8443.
        from .pubsub.server import PubSubServer

        pubsub_port = (port + 2 if port else 0) if pubsub_port is None else pubsub_port
        self.pubsub = PubSubServer(self.emulator, host, pubsub_port, self.cert_path, self.key_path)
        self._threads: list[threading.Thread] = []

    def _make(self, host: str, port: int, scheme: str, kind: str, verbose: bool) -> _Server:
        handler = type(
            f"{kind}Handler",
            (_Handler,),
            {"emulator": self.emulator, "scheme": scheme, "port_kind": kind},
        )
        server = _Server((host, port), handler)
        server.verbose = verbose
        return server

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.emulator.api_port}"

    @property
    def login_url(self) -> str:
        return f"http://127.0.0.1:{self.emulator.login_port}"

    def start(self) -> EmulatorServer:
        for server in (self.https, self.http):
            t = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                daemon=True,
                name=f"sf-emulator-{server.server_address[1]}",
            )
            t.start()
            self._threads.append(t)
        self.pubsub.start()
        return self

    def serve_forever(self) -> None:
        self.start()
        try:
            for t in self._threads:
                while t.is_alive():
                    t.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self.pubsub.stop()
        for server in (self.https, self.http):
            server.shutdown()
            server.server_close()
        self.emulator.close()

    def banner(self) -> str:
        from .store import DEMO

        app = self.emulator.store.app(DEMO["client_id"])
        return "\n".join(
            [
                "Salesforce emulator running",
                f"  API / instance host (HTTPS): {self.api_url}",
                f"  Login host (HTTP):           {self.login_url}",
                f"  Web UI:                      {self.login_url}/ui/",
                f"  Pub/Sub API (gRPC, TLS):     {self.pubsub.target}",
                f"  Certificate to trust:        {self.cert_path}",
                f"  Data directory:              {self.data_dir}",
                "  Demo org:      Demo Org (production) " + DEMO["org_id"],
                f"  Demo user:     {DEMO['username']} / {DEMO['password']} "
                f"({DEMO['display_name']}, {DEMO['user_id']})",
                f"  Connected app: client_id={DEMO['client_id']} "
                f"client_secret={DEMO['client_secret']}",
                "  Callback URLs: " + ", ".join(app["callback_urls"] if app else []),
            ]
        )
