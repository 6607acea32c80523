"""SQLite-backed state: orgs, users, connected apps, picklists, tokens, tasks, API usage.

One connection guarded by one re-entrant lock: every request runs its store work inside
`store.tx()`, so concurrent clients are serialised (the brief asks for robustness over speed).
WAL keeps the file readable by other processes (e.g. someone inspecting it with sqlite3).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from . import ids
from .clock import Clock
from .pubsub.events import TABLES as EVENT_TABLES
from .pubsub.events import ChangeEventLog
from .schema import DEFAULT_PRIORITIES, DEFAULT_STATUSES, TASK_FIELDS

DAY_MS = 86_400_000

DEMO = {
    "org_id": ids.fixed_id(ids.ORG_PREFIX, 1),
    "org_name": "Demo Org",
    "org_type": "production",
    "user_id": ids.fixed_id(ids.USER_PREFIX, 1),
    "username": "demo@tasksync.example",
    "password": "demo",
    "display_name": "Dana Demo",
    "email": "demo@tasksync.example",
    "client_id": "tasksync-demo-client",
    "client_secret": "tasksync-demo-secret",
    "callback_urls": [
        "http://127.0.0.1:8000/settings/salesforce/callback/",
        "http://localhost:8000/settings/salesforce/callback/",
    ],
}

_TASK_COLUMNS = ", ".join(f'"{f.name}" {f.sql_type}' for f in TASK_FIELDS if f.name != "Id")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS orgs (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, org_type TEXT NOT NULL,
    daily_api_limit INTEGER NOT NULL, access_token_lifetime INTEGER NOT NULL,
    refresh_rotation INTEGER NOT NULL, earliest_available_ms INTEGER NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, username TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password TEXT NOT NULL, display_name TEXT NOT NULL, email TEXT NOT NULL,
    is_active INTEGER NOT NULL DEFAULT 1);
CREATE TABLE IF NOT EXISTS apps (
    client_id TEXT PRIMARY KEY, org_id TEXT NOT NULL, client_secret TEXT NOT NULL,
    name TEXT NOT NULL, pkce_required INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS callback_urls (
    client_id TEXT NOT NULL, url TEXT NOT NULL, PRIMARY KEY (client_id, url));
CREATE TABLE IF NOT EXISTS picklists (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, kind TEXT NOT NULL, api_name TEXT NOT NULL,
    label TEXT NOT NULL, is_closed INTEGER NOT NULL DEFAULT 0,
    is_default INTEGER NOT NULL DEFAULT 0,
    is_high INTEGER NOT NULL DEFAULT 0, sort_order INTEGER NOT NULL, created_ms INTEGER NOT NULL,
    modstamp_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY, kind TEXT NOT NULL, org_id TEXT NOT NULL, user_id TEXT NOT NULL,
    client_id TEXT NOT NULL, scope TEXT NOT NULL, issued_ms INTEGER NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0, expired INTEGER NOT NULL DEFAULT 0, refresh_token TEXT);
CREATE INDEX IF NOT EXISTS tokens_refresh ON tokens (refresh_token);
CREATE TABLE IF NOT EXISTS codes (
    code TEXT PRIMARY KEY, client_id TEXT NOT NULL, user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL, challenge TEXT, scope TEXT NOT NULL, issued_ms INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS api_usage (
    org_id TEXT NOT NULL, minute_ms INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (org_id, minute_ms));
CREATE TABLE IF NOT EXISTS tasks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, "Id" TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL,
    deleted_ms INTEGER, {_TASK_COLUMNS});
CREATE INDEX IF NOT EXISTS tasks_org ON tasks (org_id);
CREATE INDEX IF NOT EXISTS tasks_org_owner_modstamp ON tasks (org_id, "OwnerId", "SystemModstamp");
CREATE INDEX IF NOT EXISTS tasks_org_modstamp ON tasks (org_id, "SystemModstamp");
CREATE INDEX IF NOT EXISTS tasks_recycle_bin ON tasks (org_id, deleted_ms) WHERE "IsDeleted" = 1;
CREATE INDEX IF NOT EXISTS tasks_to_archive ON tasks (org_id, "ActivityDate", "CreatedDate")
    WHERE "IsArchived" = 0 AND "IsClosed" = 1;
CREATE TABLE IF NOT EXISTS task_irregular (
    org_id TEXT NOT NULL, field TEXT NOT NULL, PRIMARY KEY (org_id, field));
"""

_TABLES = [
    "orgs",
    "users",
    "apps",
    "callback_urls",
    "picklists",
    "tokens",
    "codes",
    "sessions",
    "api_usage",
    "tasks",
    "task_irregular",
    *EVENT_TABLES,
]


class Store:
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
            for table in _TABLES:
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
            self.create_app(org["id"], DEMO["client_id"], DEMO["client_secret"], urls)
        return org

    # -- orgs / users / apps ------------------------------------------------------------------
    def create_org(
        self,
        name: str,
        org_type: str = "production",
        *,
        org_id: str | None = None,
        daily_api_limit: int = 15000,
        access_token_lifetime: int = 7200,
        refresh_rotation: bool = False,
    ) -> dict:
        org_id = org_id or ids.new_id(ids.ORG_PREFIX)
        now = self.clock.now_ms()
        with self.tx():
            # earliestDateAvailable before any purge: 15 days before the org existed, so a
            # fresh org never reports a spurious gap (docs/emulator.md; "GetDeletedResult",
            # https://developer.salesforce.com/docs/atlas.en-us.api.meta/object_ref/sforce_api_calls_getdeleted_getdeletedresult.htm).
            self.conn.execute(
                "INSERT INTO orgs VALUES (?,?,?,?,?,?,?,?)",
                (
                    org_id,
                    name,
                    org_type,
                    daily_api_limit,
                    access_token_lifetime,
                    int(refresh_rotation),
                    now - 15 * DAY_MS,
                    now,
                ),
            )
            for i, (api, closed, default) in enumerate(DEFAULT_STATUSES):
                self.add_picklist_value(
                    org_id, "status", api, is_closed=closed, is_default=default, sort_order=i + 1
                )
            for i, (api, high, default) in enumerate(DEFAULT_PRIORITIES):
                self.add_picklist_value(
                    org_id, "priority", api, is_high=high, is_default=default, sort_order=i + 1
                )
        return self.org(org_id)

    def org(self, org_id: str) -> dict | None:
        return self.q1("SELECT * FROM orgs WHERE id = ?", (ids.to18(org_id),))

    def orgs(self) -> list[dict]:
        return self.q("SELECT * FROM orgs ORDER BY created_ms, id")

    def update_org(self, org_id: str, **values) -> None:
        allowed = {
            "name",
            "daily_api_limit",
            "access_token_lifetime",
            "refresh_rotation",
            "earliest_available_ms",
        }
        for key, value in values.items():
            if key not in allowed:
                raise ValueError(f"unknown org setting {key}")
            self.x(f"UPDATE orgs SET {key} = ? WHERE id = ?", (value, org_id))  # noqa: S608

    def create_user(
        self,
        org_id: str,
        username: str,
        password: str,
        display_name: str,
        email: str | None = None,
        *,
        user_id: str | None = None,
    ) -> dict:
        user_id = user_id or ids.new_id(ids.USER_PREFIX)
        self.x(
            "INSERT INTO users (id, org_id, username, password, display_name, email)"
            " VALUES (?,?,?,?,?,?)",
            (user_id, org_id, username, password, display_name, email or username),
        )
        return self.user(user_id)

    def user(self, user_id: str) -> dict | None:
        return self.q1("SELECT * FROM users WHERE id = ?", (ids.to18(user_id),))

    def user_by_username(self, username: str) -> dict | None:
        return self.q1("SELECT * FROM users WHERE username = ?", (username,))

    def users(self, org_id: str) -> list[dict]:
        return self.q("SELECT * FROM users WHERE org_id = ? ORDER BY username", (org_id,))

    def create_app(
        self,
        org_id: str,
        client_id: str,
        client_secret: str,
        callback_urls: list[str],
        *,
        pkce_required: bool = False,
        name: str = "tasksync",
    ) -> dict:
        with self.tx():
            self.conn.execute(
                "INSERT INTO apps VALUES (?,?,?,?,?)",
                (client_id, org_id, client_secret, name, int(pkce_required)),
            )
            for url in callback_urls:
                self.add_callback_url(client_id, url)
        return self.app(client_id)

    def add_callback_url(self, client_id: str, url: str) -> None:
        self.x("INSERT OR IGNORE INTO callback_urls VALUES (?, ?)", (client_id, url))

    def app(self, client_id: str) -> dict | None:
        row = self.q1("SELECT * FROM apps WHERE client_id = ?", (client_id,))
        if row:
            urls = self.q("SELECT url FROM callback_urls WHERE client_id = ?", (client_id,))
            row["callback_urls"] = [u["url"] for u in urls]
        return row

    def apps(self) -> list[dict]:
        return [self.app(r["client_id"]) for r in self.q("SELECT client_id FROM apps")]

    def set_app(self, client_id: str, **values) -> None:
        for key, value in values.items():
            if key not in {"client_secret", "pkce_required", "name"}:
                raise ValueError(f"unknown app setting {key}")
            self.x(f"UPDATE apps SET {key} = ? WHERE client_id = ?", (value, client_id))  # noqa: S608

    # -- picklists (TaskStatus / TaskPriority) ------------------------------------------------
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm
    # https://developer.salesforce.com/docs/platform/object-reference/references/standard-objects/object-taskpriority.html
    def add_picklist_value(
        self,
        org_id: str,
        kind: str,
        api_name: str,
        *,
        label: str | None = None,
        is_closed: bool = False,
        is_default: bool = False,
        is_high: bool = False,
        sort_order: int | None = None,
    ) -> dict:
        now = self.clock.now_ms()
        with self.tx():
            if sort_order is None:
                row = self.q1(
                    "SELECT MAX(sort_order) AS m FROM picklists WHERE org_id=? AND kind=?",
                    (org_id, kind),
                )
                sort_order = (row["m"] or 0) + 1
            if is_default:
                # "Only one value in the picklist can be the default value" ("TaskPriority").
                self.conn.execute(
                    "UPDATE picklists SET is_default = 0 WHERE org_id=? AND kind=?", (org_id, kind)
                )
            pid = ids.new_id(ids.TASK_STATUS_PREFIX if kind == "status" else "01k")
            self.conn.execute(
                "INSERT INTO picklists VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    pid,
                    org_id,
                    kind,
                    api_name,
                    label or api_name,
                    int(is_closed),
                    int(is_default),
                    int(is_high),
                    sort_order,
                    now,
                    now,
                ),
            )
        return self.q1("SELECT * FROM picklists WHERE id = ?", (pid,))

    def picklist(self, org_id: str, kind: str) -> list[dict]:
        return self.q(
            "SELECT * FROM picklists WHERE org_id = ? AND kind = ? ORDER BY sort_order, api_name",
            (org_id, kind),
        )

    def picklist_value(self, org_id: str, kind: str, api_name: str) -> dict | None:
        # Picklist values match case-insensitively on write; the stored value keeps its case.
        return self.q1(
            "SELECT * FROM picklists WHERE org_id=? AND kind=? AND api_name = ? COLLATE NOCASE",
            (org_id, kind, api_name),
        )

    def update_picklist_value(self, org_id: str, kind: str, current: str, /, **values) -> None:
        row = self.picklist_value(org_id, kind, current)
        if row is None:
            raise KeyError(f"no {kind} value {current!r}")
        with self.tx():
            if values.get("is_default"):
                self.conn.execute(
                    "UPDATE picklists SET is_default = 0 WHERE org_id=? AND kind=?", (org_id, kind)
                )
            for key, value in values.items():
                if key not in {
                    "api_name",
                    "label",
                    "is_closed",
                    "is_default",
                    "is_high",
                    "sort_order",
                }:
                    raise ValueError(f"unknown picklist attribute {key}")
                self.conn.execute(
                    f"UPDATE picklists SET {key} = ? WHERE id = ?",  # noqa: S608
                    (value, row["id"]),
                )
            self.conn.execute(
                "UPDATE picklists SET modstamp_ms = ? WHERE id = ?",
                (self.clock.now_ms(), row["id"]),
            )

    def delete_picklist_value(self, org_id: str, kind: str, api_name: str) -> None:
        self.x(
            "DELETE FROM picklists WHERE org_id=? AND kind=? AND api_name=? COLLATE NOCASE",
            (org_id, kind, api_name),
        )

    # -- OAuth artefacts ----------------------------------------------------------------------
    def insert_token(
        self,
        token: str,
        kind: str,
        org_id: str,
        user_id: str,
        client_id: str,
        scope: str,
        refresh_token: str | None = None,
    ) -> None:
        self.x(
            "INSERT INTO tokens (token, kind, org_id, user_id, client_id, scope, issued_ms,"
            " refresh_token) VALUES (?,?,?,?,?,?,?,?)",
            (token, kind, org_id, user_id, client_id, scope, self.clock.now_ms(), refresh_token),
        )

    def token(self, token: str) -> dict | None:
        return self.q1("SELECT * FROM tokens WHERE token = ?", (token,))

    def revoke_token(self, token: str) -> None:
        with self.tx():
            self.conn.execute("UPDATE tokens SET revoked = 1 WHERE token = ?", (token,))
            # Revoking a refresh token revokes every access token issued from it ("Revoke OAuth
            # Tokens Programmatically", https://help.salesforce.com/s/articleView?id=xcloud.remoteaccess_revoke_token.htm&language=en_US&type=5).
            self.conn.execute("UPDATE tokens SET revoked = 1 WHERE refresh_token = ?", (token,))

    def insert_code(
        self,
        code: str,
        client_id: str,
        user_id: str,
        redirect_uri: str,
        challenge: str | None,
        scope: str,
    ) -> None:
        self.x(
            "INSERT INTO codes VALUES (?,?,?,?,?,?,?,0)",
            (code, client_id, user_id, redirect_uri, challenge, scope, self.clock.now_ms()),
        )

    def code(self, code: str) -> dict | None:
        return self.q1("SELECT * FROM codes WHERE code = ?", (code,))

    def insert_session(self, sid: str, user_id: str, csrf: str) -> None:
        self.x("INSERT INTO sessions VALUES (?,?,?,?)", (sid, user_id, csrf, self.clock.now_ms()))

    def session(self, sid: str) -> dict | None:
        return self.q1("SELECT * FROM sessions WHERE sid = ?", (sid,))

    def delete_session(self, sid: str) -> None:
        self.x("DELETE FROM sessions WHERE sid = ?", (sid,))

    # -- API usage (rolling 24 h) ---------------------------------------------------------------
    # "Limit Info Header": https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
    # "API Request Limits and Allocations": https://developer.salesforce.com/docs/platform/salesforce-app-limits-cheatsheet/guide/salesforce-app-limits-platform-api.html
    def record_api_call(self, org_id: str, n: int = 1) -> None:
        minute = self.clock.now_ms() // 60_000 * 60_000
        self.x(
            "INSERT INTO api_usage VALUES (?,?,?) ON CONFLICT (org_id, minute_ms)"
            " DO UPDATE SET n = n + excluded.n",
            (org_id, minute, n),
        )

    def api_usage(self, org_id: str) -> int:
        since = self.clock.now_ms() - DAY_MS
        row = self.q1(
            "SELECT SUM(n) AS n FROM api_usage WHERE org_id = ? AND minute_ms > ?", (org_id, since)
        )
        return row["n"] or 0

    def set_api_usage(self, org_id: str, used: int) -> None:
        with self.tx():
            self.conn.execute("DELETE FROM api_usage WHERE org_id = ?", (org_id,))
            if used:
                self.record_api_call(org_id, used)

    # -- tasks --------------------------------------------------------------------------------
    # All writes of the columns a query may pre-filter on (PREFILTER_COLUMNS) go through
    # insert_task/update_task, which flag irregular values (see is_regular).
    def insert_task(self, org_id: str, row: dict) -> None:
        cols = ["org_id", "deleted_ms", *row.keys()]
        values = [org_id, None, *(_to_sql(v) for v in row.values())]
        sql = "INSERT INTO tasks ({}) VALUES ({})".format(  # noqa: S608 - schema column names
            ", ".join(f'"{c}"' for c in cols), ", ".join("?" * len(cols))
        )
        with self.tx():
            self.conn.execute(sql, values)
            self.change_events.task_inserted(org_id, row)
            for col, value in zip(cols[2:], values[2:], strict=True):
                if col in PREFILTER_COLUMNS and not is_regular(col, value):
                    self.conn.execute(
                        "INSERT OR IGNORE INTO task_irregular VALUES (?, ?)", (org_id, col)
                    )

    def update_task(self, task_id: str, changes: dict) -> None:
        if not changes:
            return
        values = [_to_sql(v) for v in changes.values()]
        sets = ", ".join(f'"{c}" = ?' for c in changes)
        with self.tx():
            for col, value in zip(changes, values, strict=True):
                if col in PREFILTER_COLUMNS and not is_regular(col, value):
                    self.conn.execute(
                        "INSERT OR IGNORE INTO task_irregular"
                        ' SELECT org_id, ? FROM tasks WHERE "Id" = ?',
                        (col, task_id),
                    )
            self.change_events.task_updating(task_id, changes)
            self.conn.execute(
                f'UPDATE tasks SET {sets} WHERE "Id" = ?',  # noqa: S608 - schema column names
                [*values, task_id],
            )

    def task(self, task_id: str, org_id: str | None = None) -> dict | None:
        if not ids.is_valid(task_id):
            return None
        row = self.q1('SELECT * FROM tasks WHERE "Id" = ?', (ids.to18(task_id),))
        if row is None or (org_id is not None and row["org_id"] != org_id):
            return None
        return _from_sql(row)

    def tasks(self, org_id: str, where: Iterable[tuple[str, str, tuple]] = ()) -> list[dict]:
        """The org's tasks in insertion order, optionally narrowed in SQL by `where`.

        `where` holds (column, op, values) conditions, all to hold: op is one of = < <= > >=
        with one value, or "in" with several, values in their stored form (18-char ids,
        epoch ms). A condition is applied only where it is exact: on a PREFILTER_COLUMNS
        column that holds no irregular value in this org; the others are ignored, so the
        answer is always a superset of the rows that satisfy `where` (soql.prefilter).
        """
        sql, params = self.tasks_sql(org_id, where)
        # Put in seq order here: ORDER BY seq would steer SQLite to the (org_id) index, whose
        # order is seq, and away from the selective ones.
        return [_from_sql(r) for r in sorted(self.q(sql, params), key=lambda r: r["seq"])]

    def tasks_sql(self, org_id: str, where: Iterable[tuple[str, str, tuple]]) -> tuple[str, list]:
        """The SELECT behind tasks(), without its ordering."""
        conditions, params = [], [org_id]
        where = list(where)
        irregular = set()
        if where:
            rows = self.q("SELECT field FROM task_irregular WHERE org_id = ?", (org_id,))
            irregular = {r["field"] for r in rows}
        for column, op, values in where:
            if column not in PREFILTER_COLUMNS or column in irregular or not values:
                continue
            if op == "in" and len(values) <= _MAX_IN:
                conditions.append(f'"{column}" IN ({", ".join("?" * len(values))})')
            elif op in _SQL_COMPARISONS and len(values) == 1:
                conditions.append(f'"{column}" {op} ?')
            else:
                continue
            params.extend(values)
        # With no statistics SQLite takes org_id = ? for a selective term: with an Id condition,
        # "+org_id" keeps the org indexes out of the way so that the Id index is used.
        org_term = "+org_id = ?" if any(c.startswith('"Id" ') for c in conditions) else "org_id = ?"
        sql = "SELECT * FROM tasks WHERE " + " AND ".join([org_term, *conditions])  # noqa: S608
        return sql, params

    def _flag_irregular_rows(self) -> None:
        cols = sorted(PREFILTER_COLUMNS)
        select = ", ".join(f'"{c}"' for c in cols)
        flags = set()
        with self.tx():
            for row in self.conn.execute(f"SELECT org_id, {select} FROM tasks"):  # noqa: S608
                flags.update((row["org_id"], c) for c in cols if not is_regular(c, row[c]))
            self.conn.executemany("INSERT OR IGNORE INTO task_irregular VALUES (?, ?)", flags)

    def purge_task(self, task_id: str) -> None:
        self.x('DELETE FROM tasks WHERE "Id" = ?', (task_id,))


_BOOL_FIELDS = {f.name for f in TASK_FIELDS if f.type == "boolean"}

# -- the query pre-filter -------------------------------------------------------------------
# A query on Task loads only the rows that can match its indexed conditions (soql.prefilter,
# store.tasks(where=)), then evaluates the whole WHERE in Python as before. For that to be
# exact, SQL must compare the stored values the way SOQL does, which holds for "regular" values:
# ids in their canonical 18-char form (SOQL's case-insensitive, 15/18-char comparison of two
# ids is then plain equality), and dateTimes as integer milliseconds. Every write keeps them so
# except for back-door values (an Id or CreatedById given in any form); a write that stores an
# irregular value records (org, column) in task_irregular, and that column is never pre-filtered
# in that org again (until a reset).
_ID_COLUMNS = frozenset(f.name for f in TASK_FIELDS if f.type in ("id", "reference"))
_DATETIME_COLUMNS = frozenset(f.name for f in TASK_FIELDS if f.type == "datetime")
PREFILTER_COLUMNS = _ID_COLUMNS | _DATETIME_COLUMNS
_SQL_COMPARISONS = {"=", "<", "<=", ">", ">="}
_MAX_IN = 500  # well under SQLite's limit on bound parameters
_INT64 = range(-(2**63), 2**63)


def is_regular(column: str, value) -> bool:
    """Whether SQL compares this stored value exactly as SOQL would (see above)."""
    if value is None or column not in PREFILTER_COLUMNS:
        return True
    if column in _ID_COLUMNS:
        return isinstance(value, str) and _canonical_id(value)
    return type(value) is int and value in _INT64


@lru_cache(maxsize=4096)  # owner and audit ids repeat on every row of a user
def _canonical_id(value: str) -> bool:
    return len(value) == 18 and ids.is_valid(value)


def _to_sql(value):
    return int(value) if isinstance(value, bool) else value


def _from_sql(row: dict) -> dict:
    for name in _BOOL_FIELDS:
        row[name] = bool(row[name])
    return row
