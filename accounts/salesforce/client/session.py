"""The HTTP session every Salesforce REST call goes through: timeouts, the CA bundle, and what
each answer's headers say about the org's usage (R13) and Salesforce's clock (R16)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings


class SalesforceSession(requests.Session):
    """Timeouts on every call, and the CA bundle passed per request.

    requests lets REQUESTS_CA_BUNDLE override ``Session.verify`` (``merge_environment_settings``;
    requests' "Advanced Usage", SSL Cert Verification,
    https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification, and
    https://github.com/psf/requests/issues/3829), so the bundle is set on each request instead.
    """

    def __init__(self, *, ca_bundle: str = "", timeout: float = 30.0):
        super().__init__()
        self.ca_bundle = ca_bundle
        self.default_timeout = timeout
        # Read off every response, errors included: R13's usage and R16's clock.
        self.limit_info: str | None = None
        self.skew: timedelta | None = None
        self.server_date: datetime | None = None

    def request(self, method, url, *args, **kwargs):
        kwargs.setdefault("timeout", self.default_timeout)
        if self.ca_bundle:
            kwargs["verify"] = self.ca_bundle
        sent = time.time()
        response = super().request(method, url, *args, **kwargs)
        self._observe(response, sent, time.time())
        return response

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
        self.server_date = server.astimezone(UTC)
        middle = datetime.fromtimestamp((sent + received) / 2, UTC)
        self.skew = server + timedelta(milliseconds=500) - middle


def salesforce_session() -> SalesforceSession:
    return SalesforceSession(
        ca_bundle=settings.SALESFORCE_CA_BUNDLE, timeout=settings.SALESFORCE_TIMEOUT
    )
