"""Browser tests: SQLite's shared-cache test database told to let readers and writers meet.

The test database is SQLite in memory with a shared cache: the live server's threads, the test
thread and any worker thread read and write it through connections of one cache, where a read
that meets another connection's write fails at once with "database table is locked" instead of
waiting (SQLite's shared-cache locking). Live pages poll every few seconds, so while a test runs
a sync the two meet. ``read_uncommitted`` makes readers of a shared cache take no table locks:
they neither wait on nor block writers. Only while a browser test runs; a real database (file
SQLite, PostgreSQL) locks as usual.
"""

import pytest
from django.db import connection
from django.db.backends.signals import connection_created

_UID = "tasksync-browser-tests-read-uncommitted"


def _read_uncommitted(conn, value):
    if conn.vendor == "sqlite" and conn.is_in_memory_db():
        with conn.cursor() as cursor:
            cursor.execute(f"PRAGMA read_uncommitted = {int(value)}")


def _on_connect(sender, connection, **kwargs):
    _read_uncommitted(connection, True)


@pytest.fixture(autouse=True)
def _shared_cache_readers_take_no_table_locks(request):
    if "django_db" not in request.keywords:
        yield
        return
    connection_created.connect(_on_connect, dispatch_uid=_UID)
    _read_uncommitted(connection, True)
    yield
    connection_created.disconnect(dispatch_uid=_UID)
    _read_uncommitted(connection, False)


@pytest.fixture(autouse=True)
def _pages_stop_polling_before_the_database_is_flushed(request):
    """Live regions poll every few seconds; a poll served while the test database is flushed at
    teardown fails it (a foreign key half gone). Each page leaves for a blank one first."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    yield
    page.goto("about:blank")
    page.wait_for_timeout(100)  # a poll already on the wire finishes before the flush
