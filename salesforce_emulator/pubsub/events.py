"""The event bus behind the Pub/Sub API: one TaskChangeEvent per Task create, update, delete and
undelete, kept for a retention window (Change Data Capture Developer Guide, "Change Event Storage
and Delivery": 72 hours; Pub/Sub API guide, "Event Message Durability").

The store calls `task_inserted` / `task_updating` inside the transaction that writes the task, so
an event row is written with its change and rolled back with it (an allOrNone batch that fails
publishes nothing). The replay id is the row's sequence, 8 bytes big-endian: opaque to clients,
increasing, not contiguous across orgs. Subscribers wait on `changed`, which is notified while the
writer still holds the store's lock, so they read the rows only once they are committed.
"""

from __future__ import annotations

import secrets
import threading

from . import avro

TABLE = "pubsub_events"
# Per org, the newest sequence dropped by the retention window: a replay id before it has expired.
PURGED = "pubsub_purged"
TABLES = [TABLE, PURGED]
RETENTION_MS = 72 * 3600 * 1000

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, org_id TEXT NOT NULL, created_ms INTEGER NOT NULL,
    change_type TEXT NOT NULL, record_id TEXT NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS {TABLE}_org ON {TABLE} (org_id, seq);
CREATE TABLE IF NOT EXISTS {PURGED} (org_id TEXT PRIMARY KEY, seq INTEGER NOT NULL);
"""

# The columns a change event carries for a changed field (IsDeleted and SystemModstamp are
# not in change events; LastModifiedDate/ById are, as on Salesforce).
_EVENT_COLUMNS = set(avro.FIELD_NAMES[1:])


def replay_id(seq: int) -> bytes:
    return seq.to_bytes(8, "big")


def replay_seq(value: bytes) -> int | None:
    """The sequence in a replay id, or None when it is not one of ours."""
    if len(value) != 8:
        return None
    return int.from_bytes(value, "big")


class ChangeEventLog:
    def __init__(self, store) -> None:
        self.store = store
        self.retention_ms = RETENTION_MS
        self.changed = threading.Condition()
        self.version = 0
        self._commit_number = 0
        store.conn.executescript(SCHEMA)

    # -- writes (from the store, inside its transaction) ------------------------------------
    def task_inserted(self, org_id: str, row: dict) -> None:
        values = {k: v for k, v in row.items() if k in _EVENT_COLUMNS and v is not None}
        self._publish(org_id, "CREATE", row["Id"], row.get("LastModifiedById"), values, [], [])

    def task_updating(self, task_id: str, changes: dict) -> None:
        """Called before `changes` are written to the task `task_id`."""
        before = self.store.conn.execute('SELECT * FROM tasks WHERE "Id" = ?', (task_id,))
        before = before.fetchone()
        if before is None:
            return
        before = dict(before)
        user = changes.get("LastModifiedById") or before["LastModifiedById"]
        if "IsDeleted" in changes and bool(changes["IsDeleted"]) != bool(before["IsDeleted"]):
            if changes["IsDeleted"]:
                self._publish(before["org_id"], "DELETE", task_id, user, {}, [], [])
            else:
                after = {**before, **changes}
                values = {k: v for k, v in after.items() if k in _EVENT_COLUMNS and v is not None}
                self._publish(before["org_id"], "UNDELETE", task_id, user, values, [], [])
            return
        changed = [
            k for k, v in changes.items() if k in _EVENT_COLUMNS and _differs(before.get(k), v)
        ]
        if not [k for k in changed if k not in ("LastModifiedDate", "LastModifiedById")]:
            return  # only system stamps moved (automation touch): no field changed
        values = {k: changes[k] for k in changed}
        nulled = [k for k in changed if changes[k] is None]
        self._publish(before["org_id"], "UPDATE", task_id, user, values, changed, nulled)

    def _publish(self, org_id, change_type, record_id, user, values, changed, nulled) -> None:
        now = self.store.clock.now_ms()
        self._commit_number += 1
        payload = avro.encode(
            change_type=change_type,
            record_id=record_id,
            commit_user=user or "",
            commit_ms=now,
            commit_number=now * 1000 + self._commit_number % 1000,
            transaction_key=secrets.token_hex(16),
            sequence=1,
            values=values,
            changed=changed,
            nulled=nulled,
        )
        self.store.conn.execute(
            f"INSERT INTO {TABLE} (org_id, created_ms, change_type, record_id, payload)"  # noqa: S608
            " VALUES (?,?,?,?,?)",
            (org_id, now, change_type, record_id, payload),
        )
        self.poke()

    # -- reads (from subscribers) -------------------------------------------------------------
    def purge_expired(self) -> None:
        cutoff = self.store.clock.now_ms() - self.retention_ms
        with self.store.tx():
            self.store.conn.execute(
                f"INSERT INTO {PURGED} SELECT org_id, MAX(seq) FROM {TABLE}"  # noqa: S608
                " WHERE created_ms < ? GROUP BY org_id"
                " ON CONFLICT (org_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                (cutoff,),
            )
            self.store.conn.execute(f"DELETE FROM {TABLE} WHERE created_ms < ?", (cutoff,))  # noqa: S608

    def replay_problem(self, org_id: str, seq: int) -> str | None:
        """Why a subscription cannot resume after `seq`: "expired", "invalid" or None (it can)."""
        _, latest = self.bounds(org_id)
        if seq > latest:
            return "invalid"
        purged = self.store.q1(f"SELECT seq FROM {PURGED} WHERE org_id = ?", (org_id,))  # noqa: S608
        if purged and seq < purged["seq"]:
            return "expired"
        return None

    def bounds(self, org_id: str) -> tuple[int, int]:
        """(earliest retained seq, latest seq) of the org; (0, 0) when it has none."""
        self.purge_expired()
        row = self.store.q1(
            f"SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM {TABLE} WHERE org_id = ?",  # noqa: S608
            (org_id,),
        )
        latest = self.store.q1(f"SELECT MAX(seq) AS hi FROM {TABLE}")  # noqa: S608
        # With no retained event of its own, the org's position is the bus's newest one.
        return (row["lo"] or 0, row["hi"] or latest["hi"] or 0)

    def after(self, org_id: str, seq: int, limit: int) -> tuple[list[dict], int]:
        """The org's next events after `seq`, and the position reached: the last one's sequence,
        or, with none, the bus's newest (read under the same lock, so no event of the org at or
        before it is still to come)."""
        with self.store.tx():
            rows = self.store.q(
                f"SELECT seq, payload, change_type, record_id FROM {TABLE}"  # noqa: S608
                " WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (org_id, seq, limit),
            )
            if rows:
                return rows, rows[-1]["seq"]
            newest = self.store.q1(f"SELECT MAX(seq) AS hi FROM {TABLE}")["hi"] or 0  # noqa: S608
            return rows, max(seq, newest)

    def poke(self) -> None:
        """Wake the waiting subscribers (new events, or new credit on a stream)."""
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait(self, seen_version: int, timeout: float) -> int:
        """Block until an event is published after `seen_version` (or timeout); new version."""
        with self.changed:
            if self.version == seen_version:
                self.changed.wait(timeout)
            return self.version


def _differs(old, new) -> bool:
    if isinstance(new, bool) or isinstance(old, bool):
        return bool(old) != bool(new) if old is not None and new is not None else old != new
    return old != new
