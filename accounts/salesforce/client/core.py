"""The client's plumbing and its plain REST calls: one call at a time, each counted, each error
classified (R12), the org's usage noted (R13), Salesforce's clock read (R16)."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.conf import settings
from simple_salesforce import Salesforce

from accounts.salesforce import errors, retry
from accounts.salesforce.client.session import CALLS_AT_ONCE, salesforce_session
from accounts.salesforce.client.values import replication_time

# An in-run retry never waits longer than this (the outbox's own back-off takes over after).
IN_RUN_BACKOFF_CAP = 30.0
COLLECTION_LIMIT = 200  # sObject Collections take at most 200 records a call (REST guide)
TASK_STATUS_SOQL = "SELECT ApiName, MasterLabel, IsClosed, IsDefault, SortOrder FROM TaskStatus"

_USAGE_RE = re.compile(r"api-usage=(?P<used>\d+)/(?P<max>\d+)")

T = TypeVar("T")


class RestClient:
    """One user's plain REST calls, built from their stored connection."""

    def __init__(self, connection, *, on_call: Callable[[], None] | None = None):
        self.connection = connection
        self.calls = 0
        self._count_lock = threading.Lock()  # calls are counted from several threads
        self.api_used: int | None = None
        self.api_max: int | None = None
        self._on_call = on_call
        self._sf: Salesforce | None = None
        self.session = salesforce_session()
        self.transient_retries = settings.SALESFORCE_TRANSIENT_RETRIES
        self.backoff_base = settings.SALESFORCE_BACKOFF_SECONDS
        # SALESFORCE_COMPOSITE off: every Composite entry point makes the same calls one by one.
        self.use_composite = settings.SALESFORCE_COMPOSITE

    # --- plumbing ---------------------------------------------------------------------------

    def _build(self) -> Salesforce:
        if not self.connection.is_usable:
            raise errors.NeedsReconnect("Salesforce is not connected.")
        return Salesforce(
            instance_url=self.connection.instance_url,
            session_id=self.connection.access_token,
            version=settings.SALESFORCE_API_VERSION,
            session=self.session,
            # Plain dicts: simple-salesforce's default, OrderedDict, costs the json module its
            # fast path (a 10,000-record import's answers parse in half the time) and every
            # dict of ours a slower copy; a dict keeps its order anyway.
            object_pairs_hook=None,
        )

    @property
    def sf(self) -> Salesforce:
        if self._sf is None:
            self._sf = self._build()
        return self._sf

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

    # --- one call ---------------------------------------------------------------------------

    def _note_usage(self) -> None:
        """R13: the org's usage from the last response, an error's too (a 403 carries it)."""
        match = _USAGE_RE.search(self.session.limit_info or "")
        if match:
            self.api_used, self.api_max = int(match["used"]), int(match["max"])

    def _call(self, fn: Callable[[Salesforce], object], *, idempotent: bool = True):
        """Run one API call (R12): on an expired session refresh once and retry once; on a
        transient error retry an idempotent call with exponential back-off and jitter, bounded.
        A create is never retried here: its outcome is unknown, and R10 recovers it instead."""
        refreshed = False
        transient_tries = 0
        while True:
            sf = self.sf
            with self._count_lock:
                self.calls += 1
                if self._on_call:
                    self._on_call()
            try:
                result = fn(sf)
            except Exception as exc:  # noqa: BLE001 - classified just below, or re-raised
                problem = errors.classify(exc)
                self._note_usage()
                retry_ok = idempotent and transient_tries < self.transient_retries
                step = _recovery(problem, refreshed=refreshed, retry_ok=retry_ok)
                if step == "reconnect":
                    raise errors.NeedsReconnect(
                        "Salesforce refused the refreshed session."
                    ) from exc
                if step is None:
                    raise problem from exc
                if step == "refresh":
                    self._refresh_session()
                    refreshed = True
                else:
                    transient_tries += 1
                    time.sleep(self._backoff(transient_tries))
                continue
            self._note_usage()
            return result

    def together(self, calls: list[Callable[[], T]]) -> list[T]:
        """Independent calls on the wire at once, at most ``CALLS_AT_ONCE``; their results in
        order. What Composite would carry in one call, made without it in the time of about one
        call. Each runs in a thread of its own with the ordinary retries of a transient error,
        but no session refresh there (it goes through the database): a call refused for an
        expired session is made again here, in the caller's thread, once the others are done.
        Any other problem is raised once every call has ended, the first in order; the cursor's
        clock (R16) is the earliest of their answers' Date headers."""
        if len(calls) <= 1:
            return [call() for call in calls]
        self.sf  # built here, never in a thread  # noqa: B018
        session = self.session

        def run(call):
            value = call()
            return value, getattr(session.local, "server_date", None)

        with ThreadPoolExecutor(
            max_workers=min(len(calls), CALLS_AT_ONCE),
            thread_name_prefix="salesforce-call",
            initializer=_without_refresh,
        ) as pool:
            futures = [pool.submit(run, call) for call in calls]
        results: list = [None] * len(calls)
        dates, expired, problems = [], [], []
        for index, future in enumerate(futures):
            problem = future.exception()
            if problem is None:
                results[index], date = future.result()
                dates.append(date)
            elif isinstance(problem, errors.SessionExpired):
                expired.append(index)
            else:
                problems.append(problem)
        if problems:
            raise problems[0]
        for index in expired:
            results[index] = calls[index]()
            dates.append(getattr(session.local, "server_date", None))
        if dated := [d for d in dates if d is not None]:
            session.server_date = min(dated)
        return results

    def _refresh_session(self) -> None:
        from accounts.services import connection_refresh

        self.connection = connection_refresh(connection=self.connection)
        self._sf = None

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

    def deleted(self, start: datetime, end: datetime) -> dict:
        """sObject Get Deleted: UTC window, seconds truncated, at most 15 days back."""
        params = {"start": replication_time(start), "end": replication_time(end)}
        return self._call(lambda sf: sf.restful("sobjects/Task/deleted/", params=params))

    def task_statuses(self) -> list[dict]:
        return list(self.query_page(TASK_STATUS_SOQL).get("records", []))

    # --- writes: sObject Collections, at most 200 records a call ----------------------------

    def create_many(self, records: list[dict]) -> list[dict]:
        check_size(records)
        body = collection_body(records)
        return self._call(
            lambda sf: sf.restful("composite/sobjects", method="POST", json=body),
            idempotent=False,
        )

    def update_many(self, records: list[dict]) -> list[dict]:
        check_size(records)
        body = collection_body(records)
        return self._call(lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body))

    def delete_many(self, ids: list[str]) -> list[dict]:
        check_size(ids)
        params = {"ids": ",".join(ids), "allOrNone": "false"}
        return self._call(
            lambda sf: sf.restful("composite/sobjects", method="DELETE", params=params)
        )


def _recovery(problem: errors.SalesforceProblem, *, refreshed: bool, retry_ok: bool) -> str | None:
    """What a failed call does next: "refresh" the session, "retry" after a back-off, give up
    as "reconnect" (the refreshed session was refused too), or None (raise the problem)."""
    thread = threading.current_thread()
    if getattr(thread, "no_recovery", False):
        return None  # a prefetch: the caller's thread tries again
    if isinstance(problem, errors.SessionExpired):
        if getattr(thread, "no_refresh", False):
            return None  # one of ``together``'s calls: the caller's thread refreshes
        return "reconnect" if refreshed else "refresh"
    if isinstance(problem, errors.Transient) and retry_ok:
        return "retry"
    return None


def _without_refresh() -> None:
    threading.current_thread().no_refresh = True


def collection_body(records: list[dict]) -> dict:
    """An sObject Collections create or update of Tasks, ``allOrNone`` false."""
    return {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Task"}, **r} for r in records],
    }


def check_size(items) -> None:
    if not 0 < len(items) <= COLLECTION_LIMIT:
        raise ValueError(f"a collection call takes 1 to {COLLECTION_LIMIT} records")
