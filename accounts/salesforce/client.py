"""One client for every Salesforce call, built from a user's stored connection.

It wraps unmodified simple-salesforce: a ``requests.Session`` with timeouts that trusts
``SALESFORCE_CA_BUNDLE``; one token refresh and one retry on 401 INVALID_SESSION_ID (R12); every
error classified by ``accounts.salesforce.errors``; every call counted, and the org's
``Sforce-Limit-Info`` usage kept (R13).
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote_plus

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from accounts.salesforce import errors, retry

logger = logging.getLogger(__name__)

# An in-run retry never waits longer than this (the outbox's own back-off takes over after).
IN_RUN_BACKOFF_CAP = 30.0
COLLECTION_LIMIT = 200  # sObject Collections take at most 200 records a call (REST guide)
# Composite ("Send Multiple Requests Using Composite", REST API Developer Guide): one call toward
# the limit for up to 25 subrequests, at most 5 of them query/queryAll/queryMore or sObject
# Collections operations.
COMPOSITE_SUBREQUESTS = 25
COMPOSITE_HEAVY = 5


TASK_STATUS_SOQL = "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus"


@dataclass
class Chained:
    """The pages one Composite call brought back, and where the query goes on."""

    pages: list[dict]
    extras: dict[str, dict] = field(default_factory=dict)  # referenceId -> subrequest result
    next_url: str | None = None  # None once the query is done
    answered_at: datetime | None = None  # Salesforce's Date header of the answer (R16)

    @property
    def total_size(self) -> int | None:
        return self.pages[0].get("totalSize") if self.pages else None


class _Ahead(threading.Thread):
    """One read on the wire while the caller works: see ``SalesforceClient._prefetch``."""

    def __init__(self, client, fetch):
        super().__init__(daemon=True)
        self.client, self.fetch = client, fetch
        self.value, self.failed = None, False
        self.start()

    # Read by SalesforceClient._call: no retry and no token refresh in this thread.
    no_recovery = True

    def run(self):
        try:
            self.value = self.fetch()
        except Exception:  # noqa: BLE001 - tried again, the ordinary way, in result()
            self.failed = True

    def result(self):
        self.join()
        if self.failed:
            return self.fetch()
        return self.value


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
                if getattr(threading.current_thread(), "no_recovery", False):
                    raise problem from exc  # a prefetch: the caller's thread tries again
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
        return retry.backoff(
            attempt, first=self.backoff_base, cap=IN_RUN_BACKOFF_CAP, jitter=random.random()
        )

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

    # --- Composite: several subrequests, one call toward the limit -------------------------

    def data_url(self, path: str) -> str:
        """A subrequest's url: ``/services/data/vNN.N/<path>``."""
        return f"/services/data/v{settings.SALESFORCE_API_VERSION}/{path}"

    def composite(self, subrequests: list[dict], *, idempotent: bool = True) -> dict[str, dict]:
        """One Composite call, ``allOrNone`` false: each subrequest succeeds or fails alone.
        Returns {referenceId: {"httpStatusCode", "body", ...}}. Refused whole (400) for more
        than 25 subrequests or 5 queries/collections: callers stay within the limits."""
        body = {"allOrNone": False, "compositeRequest": subrequests}
        answer = self._call(
            lambda sf: sf.restful("composite", method="POST", json=body), idempotent=idempotent
        )
        listed = answer.get("compositeResponse") if isinstance(answer, dict) else None
        if not isinstance(listed, list) or not all(isinstance(r, dict) for r in listed):
            # R12: an answer that cannot be read (a proxy's page, a truncated body) is treated
            # like a lost one: transient, and a create in it stays in doubt (R10).
            raise errors.Transient("Salesforce returned a Composite answer that cannot be read.")
        results = {r.get("referenceId"): r for r in listed}
        if set(results) != {sub["referenceId"] for sub in subrequests}:
            raise errors.Transient("Salesforce returned an unexpected set of Composite results.")
        return results

    @staticmethod
    def subrequest_problem(result: dict) -> errors.SalesforceProblem:
        """A failed subrequest, classified as the same answer to a top-level call would be."""
        content = json.dumps(result.get("body")).encode()
        status = result.get("httpStatusCode") or 500
        exc = SalesforceError(result.get("referenceId") or "", status, "composite", content)
        return errors.classify(exc)

    @staticmethod
    def halted(result: dict) -> bool:
        body = result.get("body")
        return (
            result.get("httpStatusCode") == 400
            and isinstance(body, list)
            and bool(body)
            and isinstance(body[0], dict)
            and body[0].get("errorCode") == "PROCESSING_HALTED"
        )

    def query_chain(
        self,
        soql: str | None = None,
        *,
        next_url: str | None = None,
        include_deleted: bool = False,
        extras: tuple[dict, ...] = (),
        heavy_extras: int = 0,
        pages: int = COMPOSITE_HEAVY,
    ) -> Chained:
        """Up to ``pages`` pages of a query in one Composite call: the query (or its
        ``next_url``), then each next page chained by reference (``@{p0.nextRecordsUrl}``).
        ``extras`` ride along (e.g. the delete log, the TaskStatus picklist); ``heavy_extras``
        of them are queries, which count toward the 5. A page chained past the last one halts
        (PROCESSING_HALTED): the normal end of the results."""
        pages = max(1, min(pages, COMPOSITE_HEAVY - heavy_extras))
        if soql is not None:
            resource = "queryAll" if include_deleted else "query"
            first = self.data_url(f"{resource}/?q={quote_plus(soql)}")
        else:
            first = next_url
        chain = [{"method": "GET", "url": first, "referenceId": "p0"}] + [
            {"method": "GET", "url": f"@{{p{i - 1}.nextRecordsUrl}}", "referenceId": f"p{i}"}
            for i in range(1, pages)
        ]
        results = self.composite([*extras, *chain])
        answered_at = self.server_time()
        got = []
        for sub in chain:
            result = results[sub["referenceId"]]
            if result.get("httpStatusCode") == 200:
                got.append(result["body"])
                continue
            if got and got[-1].get("done", True) and self.halted(result):
                break  # chained past the last page
            raise self.subrequest_problem(result)
        last = got[-1]
        more = None if last.get("done", True) else last.get("nextRecordsUrl")
        return Chained(
            pages=got,
            extras={sub["referenceId"]: results[sub["referenceId"]] for sub in extras},
            next_url=more,
            answered_at=answered_at,
        )

    def iter_chained(
        self,
        soql: str,
        *,
        include_deleted: bool = False,
        extras: tuple[dict, ...] = (),
        heavy_extras: int = 0,
        chain_first: bool = True,
        before_next: Callable[[], None] | None = None,
        prefetch: bool = True,
    ) -> Iterator[Chained]:
        """Every page of a query, up to five a Composite call. The first call carries
        ``extras``; without extras and with ``chain_first`` False it is a plain query (one page:
        what an idle poll needs). ``before_next`` runs before each further call (R13's budget
        check). With ``prefetch`` the next call is on the wire while the caller works on this
        one: one call ahead at most, never more in memory."""
        if extras or chain_first:
            chained = self.query_chain(
                soql, include_deleted=include_deleted, extras=extras, heavy_extras=heavy_extras
            )
        else:
            page = self.query_page(soql, include_deleted=include_deleted)
            chained = Chained(
                pages=[page],
                next_url=None if page.get("done", True) else page.get("nextRecordsUrl"),
                answered_at=self.server_time(),
            )
        ahead = None
        try:
            while True:
                stop = None
                if chained.next_url:
                    try:
                        if before_next is not None:
                            before_next()
                    except Exception as exc:  # noqa: BLE001 - raised once this call is used
                        stop = exc
                    else:
                        if prefetch:
                            ahead = self._prefetch(
                                lambda url=chained.next_url: self.query_chain(next_url=url)
                            )
                yield chained
                if stop is not None:
                    raise stop  # e.g. R13's budget: this call's pages were applied, no more
                if not chained.next_url:
                    return
                if ahead is not None:
                    chained, ahead = ahead.result(), None
                else:
                    chained = self.query_chain(next_url=chained.next_url)
        finally:
            if ahead is not None:
                ahead.join()

    def _prefetch(self, fetch: Callable[[], Chained]) -> _Ahead:
        """Start ``fetch`` (a read) in a thread. Only the HTTP call runs there: it is tried once
        with retries and token refresh off, and any failure is tried again the ordinary way in
        the caller's thread (which may refresh the session through the database)."""
        self.sf  # built here, never in the thread  # noqa: B018
        return _Ahead(self, fetch)

    def deleted_subrequest(self, start: datetime, end: datetime, *, ref: str = "deleted") -> dict:
        """sObject Get Deleted as a Composite subrequest (not a query: it is not one of the 5)."""
        params = (
            f"start={quote_plus(_replication_time(start))}&end={quote_plus(_replication_time(end))}"
        )
        return {
            "method": "GET",
            "url": self.data_url(f"sobjects/Task/deleted/?{params}"),
            "referenceId": ref,
        }

    def task_statuses_subrequest(self, *, ref: str = "statuses") -> dict:
        """The TaskStatus picklist as a Composite subrequest (a query: one of the 5)."""
        return {
            "method": "GET",
            "url": self.data_url(f"query/?q={quote_plus(TASK_STATUS_SOQL)}"),
            "referenceId": ref,
        }

    def deleted(self, start: datetime, end: datetime) -> dict:
        """sObject Get Deleted: UTC window, seconds truncated, at most 15 days back."""
        params = {"start": _replication_time(start), "end": _replication_time(end)}
        return self._call(lambda sf: sf.restful("sobjects/Task/deleted/", params=params))

    def task_statuses(self) -> list[dict]:
        return list(self.query_page(TASK_STATUS_SOQL).get("records", []))

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

    def write_composite(self, parts: list[tuple[str, bool, list]]) -> list[list[dict]]:
        """Several writes in one Composite call (``allOrNone`` false), in order. Each part is
        (kind, single, items): kind ``create`` or ``update`` with payloads (an update's carries
        ``id``), or ``delete`` with ids; ``single`` a one-record sObject request, else an
        sObject Collection of up to 200. Returns, per part, one result per record in the shape
        of a collection's (``{id, success, errors: [{statusCode, message, fields}]}``); a part
        that failed whole gives each of its records that part's error.

        A call holding creates is never retried here (R10: its outcome is unknown)."""
        subrequests = []
        for index, (kind, single, items) in enumerate(parts):
            ref = f"w{index}"
            if kind == "delete":
                if single:
                    sub = {"method": "DELETE", "url": self.data_url(f"sobjects/Task/{items[0]}")}
                else:
                    ids = ",".join(items)
                    url = self.data_url(f"composite/sobjects?ids={ids}&allOrNone=false")
                    sub = {"method": "DELETE", "url": url}
            elif single:
                payload = dict(items[0])
                record_id = payload.pop("id", None)
                if kind == "create":
                    sub = {"method": "POST", "url": self.data_url("sobjects/Task"), "body": payload}
                else:
                    url = self.data_url(f"sobjects/Task/{record_id}")
                    sub = {"method": "PATCH", "url": url, "body": payload}
            else:
                for item in items:
                    if not (kind == "create" or item.get("id")):
                        raise ValueError("an update needs its record's id")
                _check_size(items)
                sub = {
                    "method": "POST" if kind == "create" else "PATCH",
                    "url": self.data_url("composite/sobjects"),
                    "body": {
                        "allOrNone": False,
                        "records": [{"attributes": {"type": "Task"}, **r} for r in items],
                    },
                }
            subrequests.append({**sub, "referenceId": ref})
        creates = any(kind == "create" for kind, _, _ in parts)
        answers = self.composite(subrequests, idempotent=not creates)
        out = []
        for index, (kind, single, items) in enumerate(parts):
            result = answers[f"w{index}"]
            status = result.get("httpStatusCode") or 0
            body = result.get("body")
            ids = items if kind == "delete" else [item.get("id") for item in items]
            if 200 <= status < 300 and not single and isinstance(body, list):
                out.append(body)
            elif 200 <= status < 300 and single:
                made = body.get("id") if isinstance(body, dict) else None
                out.append([{"id": made or ids[0], "success": True, "errors": []}])
            else:
                errs = _record_errors(result)
                out.append([{"id": i, "success": False, "errors": errs} for i in ids])
        return out

    def delete_many(self, ids: list[str]) -> list[dict]:
        _check_size(ids)
        params = {"ids": ",".join(ids), "allOrNone": "false"}
        return self._call(
            lambda sf: sf.restful("composite/sobjects", method="DELETE", params=params)
        )


def _record_errors(result: dict) -> list[dict]:
    """A failed single-record subrequest's error list, in a collection result's shape."""
    body = result.get("body")
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    out = [
        {
            "statusCode": item.get("errorCode") or item.get("statusCode") or "UNKNOWN",
            "message": item.get("message") or "",
            "fields": item.get("fields") or [],
        }
        for item in items
        if isinstance(item, dict)
    ]
    status = result.get("httpStatusCode") or 0
    if not out:
        out = [{"statusCode": "UNKNOWN", "message": f"HTTP {status}", "fields": []}]
    if status >= 500:
        # As a top-level 5xx: worth retrying (R12), whatever code came with it.
        out = [
            e
            if e["statusCode"] in errors.TRANSIENT_CODES
            else {**e, "statusCode": "SERVER_UNAVAILABLE"}
            for e in out
        ]
    return out


def _check_size(items) -> None:
    if not 0 < len(items) <= COLLECTION_LIMIT:
        raise ValueError(f"a collection call takes 1 to {COLLECTION_LIMIT} records")


def _replication_time(value: datetime) -> str:
    # Get Updated/Deleted take UTC ISO-8601 and truncate seconds; requests URL-encodes the value.
    return (
        value.astimezone(UTC).replace(second=0, microsecond=0).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    )
