"""One client for every Salesforce call, built from a user's stored connection.

It wraps unmodified simple-salesforce: a ``requests.Session`` with timeouts that trusts
``SALESFORCE_CA_BUNDLE``; one token refresh and one retry on 401 INVALID_SESSION_ID (R12); every
error classified by ``tasksync.salesforce.errors``; every call counted, and the org's
``Sforce-Limit-Info`` usage kept (R13).
"""

from __future__ import annotations

import functools
import logging
import random
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from simple_salesforce import Salesforce

from tasksync.salesforce import errors

logger = logging.getLogger(__name__)

COLLECTION_LIMIT = 200  # sObject Collections take at most 200 records a call (REST guide)


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


def sf_datetime(value: str | None) -> datetime | None:
    """Parse Salesforce's ``2026-11-28T13:36:10.000+0000``."""
    if not value:
        return None
    return _parse_sf_datetime(value)


@functools.lru_cache(maxsize=4096)
def _parse_sf_datetime(value: str) -> datetime:
    # Cached: the records of one page share a few timestamps, and datetimes are immutable.
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


_USAGE_RE = re.compile(r"api-usage=(?P<used>\d+)/(?P<max>\d+)")
_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")


def soql_id(value: str) -> str:
    """A Salesforce id checked for SOQL: 15 or 18 letters and digits, quoted."""
    if not _ID_RE.match(value or ""):
        raise ValueError("not a Salesforce id")
    return f"'{value}'"


def soql_datetime(value: datetime) -> str:
    """A SOQL dateTime literal, unquoted, in UTC (SOQL Date Formats)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceClient:
    """Every Salesforce call of one user's sync goes through here."""

    def __init__(self, connection, *, on_call: Callable[[], None] | None = None):
        self.connection = connection
        self.calls = 0
        self.api_used: int | None = None
        self.api_max: int | None = None
        self._on_call = on_call
        self._sf: Salesforce | None = None
        self.session = salesforce_session()
        self.transient_retries = settings.SALESFORCE_TRANSIENT_RETRIES
        self.backoff_base = settings.SALESFORCE_BACKOFF_SECONDS

    # --- plumbing ---------------------------------------------------------------------------

    def _build(self) -> Salesforce:
        if not self.connection.is_usable:
            raise errors.NeedsReconnect("Salesforce is not connected.")
        return Salesforce(
            instance_url=self.connection.instance_url,
            session_id=self.connection.access_token,
            version=settings.SALESFORCE_API_VERSION,
            session=self.session,
        )

    # --- Salesforce's clock (R16) -----------------------------------------------------------

    @property
    def skew(self) -> timedelta | None:
        """Salesforce's clock minus ours, as last measured (None before the first answer)."""
        return self.session.skew

    def server_time(self) -> datetime | None:
        """The time Salesforce gave its last answer (its Date header)."""
        return self.session.server_date

    def sf_now(self) -> datetime:
        """Now on Salesforce's clock: ours corrected by the measured skew."""
        return datetime.now(UTC) + (self.skew or timedelta(0))

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._build()
        return self._sf

    def _note_usage(self, sf: Salesforce) -> None:
        """R13: the org's usage from the last response, an error's too (a 403 carries it)."""
        match = _USAGE_RE.search(self.session.limit_info or "")
        if match:
            self.api_used, self.api_max = int(match["used"]), int(match["max"])

    def _call(self, fn: Callable[[Salesforce], object], *, idempotent: bool = True):
        """Run one API call (R12): on an expired session refresh once and retry once; on a
        transient error retry an idempotent call with exponential back-off and jitter, bounded.
        A create is never retried here: its outcome is unknown, and R10 recovers it instead."""
        from accounts.connections import connection_refresh

        refreshed = False
        transient_tries = 0
        while True:
            sf = self.sf
            self.calls += 1
            if self._on_call:
                self._on_call()
            try:
                result = fn(sf)
            except Exception as exc:  # noqa: BLE001 - classified just below, or re-raised
                problem = errors.classify(exc)
                self._note_usage(sf)
                if isinstance(problem, errors.SessionExpired):
                    if refreshed:
                        raise errors.NeedsReconnect(
                            "Salesforce refused the refreshed session."
                        ) from exc
                    self.connection = connection_refresh(connection=self.connection)
                    self._sf = None
                    refreshed = True
                    continue
                if (
                    isinstance(problem, errors.Transient)
                    and idempotent
                    and transient_tries < self.transient_retries
                ):
                    transient_tries += 1
                    time.sleep(self._backoff(transient_tries))
                    continue
                raise problem from exc
            self._note_usage(sf)
            return result

    def _backoff(self, attempt: int) -> float:
        ceiling = self.backoff_base * 2 ** (attempt - 1)
        return random.uniform(ceiling / 2, ceiling)

    # --- reads ------------------------------------------------------------------------------

    def query_page(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ):
        headers = {"Sforce-Query-Options": f"batchSize={batch_size}"} if batch_size else None
        return self._call(
            lambda sf: (
                sf.query(soql, include_deleted=include_deleted, headers=headers)
                if headers
                else sf.query(soql, include_deleted=include_deleted)
            )
        )

    def query_more(self, next_records_url: str, *, include_deleted: bool = False):
        return self._call(
            lambda sf: sf.query_more(
                next_records_url, identifier_is_url=True, include_deleted=include_deleted
            )
        )

    def iter_pages(
        self, soql: str, *, include_deleted: bool = False, batch_size: int | None = None
    ) -> Iterator[dict]:
        """Each page of a query, following nextRecordsUrl (REST Query resource)."""
        page = self.query_page(soql, include_deleted=include_deleted, batch_size=batch_size)
        yield page
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            page = self.query_more(page["nextRecordsUrl"], include_deleted=include_deleted)
            yield page

    def deleted(self, start: datetime, end: datetime) -> dict:
        """sObject Get Deleted: UTC window, seconds truncated, at most 15 days back."""
        params = {"start": _replication_time(start), "end": _replication_time(end)}
        return self._call(lambda sf: sf.restful("sobjects/Task/deleted/", params=params))

    def task_statuses(self) -> list[dict]:
        soql = "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus"
        return list(self.query_page(soql).get("records", []))

    # --- writes: sObject Collections, at most 200 records a call ----------------------------

    def create_many(self, records: list[dict]) -> list[dict]:
        _check_size(records)
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": "Task"}, **r} for r in records],
        }
        return self._call(
            lambda sf: sf.restful("composite/sobjects", method="POST", json=body),
            idempotent=False,
        )

    def update_many(self, records: list[dict]) -> list[dict]:
        _check_size(records)
        body = {
            "allOrNone": False,
            "records": [{"attributes": {"type": "Task"}, **r} for r in records],
        }
        return self._call(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body))

    def delete_many(self, ids: list[str]) -> list[dict]:
        _check_size(ids)
        params = {"ids": ",".join(ids), "allOrNone": "false"}
        return self._call(
            lambda sf: sf.restful("composite/sobjects", method="DELETE", params=params)
        )


def _check_size(items) -> None:
    if not 0 < len(items) <= COLLECTION_LIMIT:
        raise ValueError(f"a collection call takes 1 to {COLLECTION_LIMIT} records")


def _replication_time(value: datetime) -> str:
    # Get Updated/Deleted take UTC ISO-8601 and truncate seconds; requests URL-encodes the value.
    return (
        value.astimezone(UTC).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )
