"""SQLite-backed state: orgs, users, connected apps, picklists, tokens, tasks, API usage.

One section per table group, each a mixin of Store: orgs (orgs, users, apps), picklists,
tokens (tokens, codes, sessions), usage (api_usage), tasks (tasks, task_irregular and the query
pre-filter's rules), related (the Contacts, Leads, Accounts and Opportunities tasks point to);
tables holds the schema and the demo org.

One connection guarded by one re-entrant lock: every request runs its store work inside
`store.tx()`, so concurrent clients are serialised (the brief asks for robustness over speed).
WAL keeps the file readable by other processes (e.g. someone inspecting it with sqlite3).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..clock import Clock
from ..pubsub.events import ChangeEventLog
from .orgs import OrgsMixin
from .picklists import PicklistsMixin
from .related import RelatedMixin
from .tables import DAY_MS, DEMO, SCHEMA, TABLES
from .tasks import PREFILTER_COLUMNS, TasksMixin, is_regular
from .tokens import TokensMixin
from .usage import UsageMixin

__all__ = ["DAY_MS", "DEMO", "PREFILTER_COLUMNS", "Store", "is_regular"]


class Store(OrgsMixin, PicklistsMixin, TokensMixin, UsageMixin, TasksMixin, RelatedMixin):
    def __init__(self, path: str | Path, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        flagged = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'task_irregular'"
        ).fetchone()
        self.conn.executescript(SCHEMA)
        if not flagged:
            self._flag_irregular_rows()  # a file from before the flags existed
        self.change_events = ChangeEventLog(self)  # Pub/Sub API: a TaskChangeEvent per task write

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def tx(self) -> Iterator[None]:
        """Serialise and make atomic: nested calls join the outer transaction."""
        with self.lock:
            outer = self._depth == 0
            if outer:
                self.conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self.conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.tx():
            self.conn.execute("SAVEPOINT sp")
            try:
                yield
            except BaseException:
                self.conn.execute("ROLLBACK TO sp")
                self.conn.execute("RELEASE sp")
                raise
            self.conn.execute("RELEASE sp")

    def q(self, sql: str, params: tuple | list = ()) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.conn.execute(sql, params).fetchall()]

    def q1(self, sql: str, params: tuple | list = ()) -> dict | None:
        rows = self.q(sql, params)
        return rows[0] if rows else None

    def x(self, sql: str, params: tuple | list = ()) -> int:
        with self.tx():
            return self.conn.execute(sql, params).rowcount

    # -- lifecycle ----------------------------------------------------------------------------
    def is_empty(self) -> bool:
        return self.q1("SELECT COUNT(*) AS n FROM orgs")["n"] == 0

    def wipe(self) -> None:
        with self.tx():
            for table in TABLES:
                self.conn.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def seed_demo(self, extra_callback_urls: list[str] | tuple[str, ...] = ()) -> dict:
        with self.tx():
            org = self.create_org(DEMO["org_name"], DEMO["org_type"], org_id=DEMO["org_id"])
            self.create_user(
                org["id"],
                DEMO["username"],
                DEMO["password"],
                DEMO["display_name"],
                DEMO["email"],
                user_id=DEMO["user_id"],
            )
            urls = list(DEMO["callback_urls"]) + [
                u for u in extra_callback_urls if u not in DEMO["callback_urls"]
            ]
            app = {
                "client_id": DEMO["client_id"],
                "org_id": org["id"],
                "client_secret": DEMO["client_secret"],
                "name": "tasksync",
                "pkce_required": 0,
            }
            self.create_app(app, urls)
        return org
