"""Floors for B1 and B2 (issue 16): what no sync can beat, measured in the same run.

- **Network floor**: the emulator's network model (``set_network_model``: latency per call plus
  a cost per record) applies to the engine and the floor alike. B1's floor is
  simple-salesforce's ``query_all_iter`` of the very query the import sends; B2's the same
  payloads as raw sObject Collection calls.
- **Write floor**: the same rows the engine wrote (tasks, links, history events) written again
  the fastest plain way, into scratch copies of their tables (same columns, indexes and foreign
  keys):
  ``executemany`` on SQLite, ``COPY`` on PostgreSQL. The scratch tables are dropped after.
"""

from __future__ import annotations

import re
import statistics
import time

from django.db import connection, transaction

from benchmarks import harness


def spread(values: list[float]) -> dict:
    """Median, min and max of repeated measurements (seconds)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "all": values,
    }


def _rows_of(model, where: str, params) -> tuple[list[str], list[tuple]]:
    from django.db.models import JSONField

    opts = model._meta
    fields = [f for f in opts.concrete_fields if f is not opts.pk]
    columns = [f.column for f in fields]
    qn = connection.ops.quote_name
    # JSON as its text (what COPY's text format carries); every other value as the driver gives it.
    cast = "::text" if connection.vendor == "postgresql" else ""
    selected = ", ".join(qn(f.column) + (cast if isinstance(f, JSONField) else "") for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {selected} FROM {qn(opts.db_table)} WHERE {where}",  # noqa: S608
            params,
        )
        return columns, cursor.fetchall()


def _scratch(table: str) -> str:
    """A scratch copy of ``table`` (columns, defaults, indexes, foreign keys); returns its name."""
    name = f"floor_{table}"
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {qn(name)}")
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE TABLE {qn(name)} (LIKE {qn(table)} INCLUDING ALL)")
            # LIKE copies no foreign keys: the engine's rows pay for theirs (checked at commit,
            # Django's are deferred), so the floor's rows pay for the same keys. SQLite's copies
            # keep theirs in the table's own SQL.
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [qn(table)],
            )
            for number, (_, definition) in enumerate(cursor.fetchall()):
                cursor.execute(
                    f"ALTER TABLE {qn(name)} ADD CONSTRAINT floor_fk_{number} {definition}"
                )
            return name
        cursor.execute(
            "SELECT type, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL", [table]
        )
        statements = cursor.fetchall()
        for kind, sql in sorted(statements, key=lambda s: s[0] != "table"):
            sql = sql.replace(f'"{table}"', f'"{name}"', 1)
            if kind == "index":
                sql = re.sub(r'INDEX "([^"]+)"', r'INDEX "floor_\1"', sql, count=1)
                sql = sql.replace(f'ON "{table}"', f'ON "{name}"')
            # Foreign keys point at the real tables; the copies' rows are the real rows' values.
            cursor.execute(sql)
    return name


def write_floor(user, run) -> dict:
    """Write the rows ``run`` wrote for ``user`` (tasks, links, events) again, the fastest plain
    way, into scratch tables; returns rows and seconds (the writes and their commit only)."""
    from tasksync.models import ReminderTask, SyncEvent, TaskLink

    sets = [
        (ReminderTask, '"user_id" = %s', [user.pk]),
        (TaskLink, '"user_id" = %s', [user.pk]),
        (SyncEvent, '"run_id" = %s', [run.pk]),
    ]
    loaded = [(m._meta.db_table, *_rows_of(m, where, p)) for m, where, p in sets]
    scratch = {table: _scratch(table) for table, _, _ in loaded}
    qn = connection.ops.quote_name
    rows = sum(len(r) for _, _, r in loaded)
    try:
        started, cpu = time.perf_counter(), time.process_time()
        server = harness.database_server_cpu()
        with transaction.atomic(), connection.cursor() as cursor:
            for table, columns, values in loaded:
                names = ", ".join(qn(c) for c in columns)
                if connection.vendor == "postgresql":
                    with cursor.cursor.copy(
                        f"COPY {qn(scratch[table])} ({names}) FROM STDIN"
                    ) as copy:
                        for row in values:
                            copy.write_row(row)
                else:
                    marks = ", ".join(["%s"] * len(columns))
                    cursor.executemany(
                        f"INSERT INTO {qn(scratch[table])} ({names}) VALUES ({marks})",  # noqa: S608
                        values,
                    )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        server = server_cpu_since(server)
    finally:
        with connection.cursor() as cursor:
            for name in scratch.values():
                cursor.execute(f"DROP TABLE IF EXISTS {qn(name)}")
    return {"rows": rows, "seconds": seconds, "cpu_seconds": cpu, "server_cpu_seconds": server}


def server_cpu_since(before: float | None) -> float | None:
    """The database server's CPU seconds since ``before`` (None where it cannot be read)."""
    now = harness.database_server_cpu()
    return None if before is None or now is None else now - before
