"""Query pages chained through Composite, five a call, the next call on the wire while the
caller works on this one's pages (one call ahead at most, never more in memory).

With ``SALESFORCE_COMPOSITE`` off a "chain" is one page: the query, then its queryMore pages,
one call each, the next still fetched while the caller works."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote_plus

from accounts.salesforce import errors
from accounts.salesforce.client.composite import COMPOSITE_HEAVY, CompositeClient


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
    """One read on the wire while the caller works: see ``ChainingClient._prefetch``."""

    def __init__(self, client, fetch):
        super().__init__(daemon=True)
        self.client, self.fetch = client, fetch
        self.value, self.error = None, None
        self.start()

    # Read by the client's _call: no retry and no token refresh in this thread.
    no_recovery = True

    def run(self):
        try:
            self.value = self.fetch()
        except Exception as exc:  # noqa: BLE001 - raised, or tried again, in result()
            self.error = exc

    def result(self):
        """The answer; a failure the caller's thread can recover from (an expired session, a
        transient error: R12) is tried again there, the ordinary way; any other is raised as
        it is, without a second call."""
        self.join()
        if self.error is None:
            return self.value
        if isinstance(self.error, errors.SessionExpired | errors.Transient):
            return self.fetch()
        raise self.error


class ChainingClient(CompositeClient):
    """Chained query pages on top of the Composite call."""

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
        if not self.use_composite:
            pages = 1  # a reference to an earlier answer exists only inside Composite
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
        got = self._chained_pages(chain, results)
        last = got[-1]
        return Chained(
            pages=got,
            extras={sub["referenceId"]: results[sub["referenceId"]] for sub in extras},
            next_url=None if last.get("done", True) else last.get("nextRecordsUrl"),
            answered_at=self.server_time(),
        )

    def _chained_pages(self, chain: list[dict], results: dict[str, dict]) -> list[dict]:
        """The pages of a chain's answers, up to the last one; a failed page is raised."""
        got = []
        for sub in chain:
            result = results[sub["referenceId"]]
            if result.get("httpStatusCode") == 200:
                got.append(result["body"])
                continue
            if got and got[-1].get("done", True) and self.halted(result):
                break  # chained past the last page
            raise self.subrequest_problem(result)
        return got

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
        meanwhile: Callable[[], None] | None = None,
    ) -> Iterator[Chained]:
        """Every page of a query, up to five a Composite call. The first call carries
        ``extras``; without extras and with ``chain_first`` False it is a plain query (one page:
        what an idle poll needs). ``before_next`` runs before each further call (R13's budget
        check). With ``prefetch`` the next call is on the wire while the caller works on this
        one: one call ahead at most, never more in memory. ``meanwhile`` (local work that does
        not need the answer, e.g. a push's reads) runs in the caller's thread while the first
        call is on the wire, before the first call is yielded."""
        first = functools.partial(
            self._first_call, soql, include_deleted, extras, heavy_extras, chain_first
        )
        chained = first() if meanwhile is None else self._while_on_the_wire(first, meanwhile)
        ahead = None
        try:
            while True:
                stop, ahead = self._next_call(chained, before_next, prefetch)
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

    def _while_on_the_wire(self, fetch: Callable[[], Chained], meanwhile: Callable[[], None]):
        """``fetch`` in a thread (``_prefetch``'s rules) while ``meanwhile`` runs here; its
        answer once both are done. If ``meanwhile`` fails, the call is waited for and dropped."""
        ahead = self._prefetch(fetch)
        try:
            meanwhile()
        except BaseException:
            ahead.join()
            raise
        return ahead.result()

    def _first_call(self, soql, include_deleted, extras, heavy_extras, chain_first) -> Chained:
        if extras or chain_first:
            return self.query_chain(
                soql, include_deleted=include_deleted, extras=extras, heavy_extras=heavy_extras
            )
        page = self.query_page(soql, include_deleted=include_deleted)
        return Chained(
            pages=[page],
            next_url=None if page.get("done", True) else page.get("nextRecordsUrl"),
            answered_at=self.server_time(),
        )

    def _next_call(self, chained: Chained, before_next, prefetch) -> tuple:
        """(a problem to raise once this call is used, the next call started ahead or None)."""
        if not chained.next_url:
            return None, None
        if before_next is not None:
            try:
                before_next()
            except Exception as exc:  # noqa: BLE001 - raised once this call is used
                return exc, None
        if not prefetch:
            return None, None
        url = chained.next_url
        return None, self._prefetch(lambda: self.query_chain(next_url=url))

    def _prefetch(self, fetch: Callable[[], Chained]) -> _Ahead:
        """Start ``fetch`` (a read) in a thread. Only the HTTP call runs there: it is tried once
        with retries and token refresh off; an expired session or a transient failure is tried
        again the ordinary way in the caller's thread (which may refresh the session through the
        database), any other failure is raised there (``_Ahead.result``)."""
        self.sf  # built here, never in the thread  # noqa: B018
        return _Ahead(self, fetch)
