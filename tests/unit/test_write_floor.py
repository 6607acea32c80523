"""B1's write floor (issue 16) writes into scratch copies of the engine's tables that keep what
the engine's rows pay for: their indexes and their foreign keys (Django's, deferred on
PostgreSQL and checked at commit), on both databases."""

from __future__ import annotations

import pytest
from django.db import connection

from benchmarks.floors import _scratch


def _foreign_keys(table: str) -> set[tuple[str, str]]:
    """(column, referenced table) of each foreign key of ``table``."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT a.attname, c.confrelid::regclass::text FROM pg_constraint c "
                "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                "WHERE c.conrelid = %s::regclass AND c.contype = 'f'",
                [connection.ops.quote_name(table)],
            )
            return {(column, target.strip('"')) for column, target in cursor.fetchall()}
        cursor.execute(f"PRAGMA foreign_key_list({connection.ops.quote_name(table)})")
        return {(row[3], row[2]) for row in cursor.fetchall()}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "table", ["tasksync_remindertask", "tasksync_tasklink", "tasksync_syncevent"]
)
def test_the_write_floors_tables_keep_the_engines_foreign_keys(table):
    keys = _foreign_keys(table)
    assert keys, table  # each of these tables has foreign keys to keep
    scratch = _scratch(table)
    try:
        assert _foreign_keys(scratch) == keys
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {connection.ops.quote_name(scratch)}")


@pytest.mark.django_db
def test_the_database_servers_cpu_is_read_where_it_is_a_process_of_this_machine():
    # B1 prints PostgreSQL's own CPU beside the wall times (issue 16): it moves far less with a
    # shared machine's noise. SQLite has no server: its work is this process's CPU.
    from benchmarks.harness import database_server_cpu

    before = database_server_cpu()
    if connection.vendor != "postgresql":
        assert before is None
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM generate_series(1, 3000000)")  # ~0.2 s of its CPU
    after = database_server_cpu()
    assert before is not None and after is not None
    assert after - before > 0.05
