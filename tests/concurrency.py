"""Test helpers for making a race window real: work in a thread with its own database
connection, and waiting until a connection waits on a row lock (PostgreSQL)."""

from __future__ import annotations

import threading
import time

from django.db import connection


class Background(threading.Thread):
    """Runs ``fn`` in a thread with its own database connection, keeps its result or error."""

    def __init__(self, fn):
        super().__init__(daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as exc:  # noqa: BLE001 - raised again in the test thread by value()
            self.error = exc
        finally:
            connection.close()

    def value(self, timeout=60):
        self.join(timeout)
        assert not self.is_alive(), "the background work did not finish"
        if self.error is not None:
            raise self.error
        return self.result


def lock_waiter_appears(*, timeout: float) -> bool:
    """True once a connection to this PostgreSQL database waits on a lock (pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.05)
    return False
