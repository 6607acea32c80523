"""The HTTP session every Salesforce REST call goes through: timeouts, the CA bundle, what each
answer's headers say about the org's usage (R13) and Salesforce's clock (R16), and one pool of
kept-alive connections per process, shared by every run."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

# Hosts whose connections the pool keeps (a worker serving several orgs talks to several
# instances), and connections kept per host: a run uses one, two while a read is fetched ahead,
# without Composite up to CALLS_AT_ONCE more for a packed request's calls made at once, and a
# worker runs SYNC_POLL_THREADS polls at once.
POOL_HOSTS = 32
POOL_PER_HOST = 4
# Calls on the wire at once when a packed request goes without Composite (the client's
# ``together``): as many as a Composite call's queries and collections, five.
CALLS_AT_ONCE = 5


def _per_host() -> int:
    per_run = 2 if getattr(settings, "SALESFORCE_COMPOSITE", True) else CALLS_AT_ONCE + 1
    return max(POOL_PER_HOST, per_run * getattr(settings, "SYNC_POLL_THREADS", 1))


_pool_lock = threading.Lock()
_pool: tuple[int, HTTPAdapter] | None = None


def shared_adapter() -> HTTPAdapter:
    """This process's connection pool. A worker runs one sync after another; each used to open
    its own TLS connection (a handshake, a round trip or two to a real org, ~10% of an idle
    poll's CPU here). A connection carries no one's credentials: every request sends its own
    Authorization header, and urllib3 keys its pools by host and TLS settings (the CA bundle
    included). A forked child (django-q2's workers) starts a pool of its own: sockets inherited
    from the parent are the parent's. urllib3 drops a kept connection the server has closed
    before reusing it."""
    global _pool
    pid = os.getpid()
    with _pool_lock:
        if _pool is None or _pool[0] != pid:
            _pool = (pid, HTTPAdapter(pool_connections=POOL_HOSTS, pool_maxsize=_per_host()))
        return _pool[1]


class SalesforceSession(requests.Session):
    """Timeouts on every call, and the CA bundle passed per request.

    requests lets REQUESTS_CA_BUNDLE override ``Session.verify`` (``merge_environment_settings``;
    requests' "Advanced Usage", SSL Cert Verification,
    https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification, and
    https://github.com/psf/requests/issues/3829), so the bundle is set on each request instead.
    """

    def __init__(self, *, ca_bundle: str = "", timeout: float = 30.0):
        super().__init__()
        adapter = shared_adapter()
        self.mount("https://", adapter)
        self.mount("http://", adapter)
        self.ca_bundle = ca_bundle
        self.default_timeout = timeout
        # Read off every response, errors included: R13's usage and R16's clock.
        self.limit_info: str | None = None
        self.skew: timedelta | None = None
        self.server_date: datetime | None = None
        self.local = threading.local()  # this thread's last Date, for calls made at once

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        if self.ca_bundle:
            kwargs["verify"] = self.ca_bundle
        sent = time.time()
        response = super().request(method, url, *args, **kwargs)
        self._observe(response, sent, time.time())
        return response

    def close(self) -> None:
        """The pool outlives the session: other runs of this process use it."""

    def _observe(self, response, sent: float, received: float) -> None:
        self.limit_info = response.headers.get("Sforce-Limit-Info") or self.limit_info
        date = response.headers.get("Date")
        if not date:
            return
        try:
            server = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        # R16: Salesforce's clock, measured. The Date header counts whole seconds (rounded
        # down), so the server's moment is taken as half a second later, against the middle of
        # the round trip.
        self.server_date = self.local.server_date = server.astimezone(UTC)
        middle = datetime.fromtimestamp((sent + received) / 2, UTC)
        self.skew = server + timedelta(milliseconds=500) - middle


def salesforce_session() -> SalesforceSession:
    return SalesforceSession(
        ca_bundle=settings.SALESFORCE_CA_BUNDLE, timeout=settings.SALESFORCE_TIMEOUT
    )
