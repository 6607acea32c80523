"""The statements that write the rows: ``COPY`` on PostgreSQL, multi-row INSERTs elsewhere, and
``UPDATE … FROM`` batches (``unnest(…)`` of arrays on PostgreSQL, a ``VALUES`` list on SQLite)
for the updates of chosen columns."""

from __future__ import annotations

from itertools import chain

from django.db import models

UNNEST_ROWS = 5000  # PostgreSQL: rows per ``UPDATE … FROM unnest(…)`` statement


def write_rows(connection, opts, fields, rows) -> list:
    """INSERT ``rows`` (lists of database values for ``fields``); returns the new keys in
    order. PostgreSQL: ``COPY``; elsewhere multi-row INSERTs ``RETURNING`` the keys."""
    if connection.vendor == "postgresql":
        return copy_rows(connection, opts, fields, rows)
    tail = f" RETURNING {connection.ops.quote_name(opts.pk.column)}"
    keys = []
    for _, cursor in insert_batches(connection, opts, fields, rows, tail):
        keys += [pk for (pk,) in cursor.fetchall()]
    return keys


def copy_rows(connection, opts, fields, rows) -> list:
    """PostgreSQL: the rows' keys taken from the table's sequence in one query, then every row
    sent with ``COPY … FROM STDIN`` (psycopg's copy, no SQL text per row or value): the
    fastest plain way to write many rows, and the write floor of B1. Returns the keys."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in [opts.pk, *fields])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [opts.db_table, opts.pk.column, len(rows)],
        )
        keys = [row[0] for row in cursor.fetchall()]
        # Quoted names from the model's own metadata; every value travels as COPY data.
        with cursor.cursor.copy(f"COPY {qn(opts.db_table)} ({names}) FROM STDIN") as copy:
            write = copy.write_row
            for key, row in zip(keys, rows, strict=True):
                write((key, *row))
    return keys


def insert_batches(connection, opts, columns, rows, tail: str):
    """Multi-row INSERTs of ``rows`` (lists of database values for ``columns``) with ``tail``
    (``RETURNING`` the keys), as many rows a statement as the database's parameter limit
    allows; yields each (chunk, cursor) once executed. (PostgreSQL writes new rows with
    ``COPY``: ``write_rows``.)"""
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in columns)
    # Quoted names from the model's own metadata; every value is a parameter.
    head = f"INSERT INTO {qn(opts.db_table)} ({names}) "  # noqa: S608
    with connection.cursor() as cursor:
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        batch = max(1, connection.ops.bulk_batch_size(columns, rows))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            params = list(chain.from_iterable(chunk))
            cursor.execute(head + "VALUES " + ", ".join([row_sql] * len(chunk)) + tail, params)
            yield chunk, cursor


def update_from_supported(connection) -> bool:
    """``UPDATE … FROM``: PostgreSQL, and SQLite from 3.33."""
    if connection.vendor == "postgresql":
        return True
    return connection.vendor == "sqlite" and connection.Database.sqlite_version_info >= (3, 33)


def update_from(connection, opts, columns, rows) -> None:
    """``UPDATE`` each row whose key is the first of its values (``columns[0]`` is the primary
    key) with the rest: one statement per batch, whatever the batch's size on PostgreSQL
    (``FROM unnest(…)`` of one array per column), as many rows as the parameter limit allows
    elsewhere (``FROM`` a ``VALUES`` list). Only the named columns are converted and sent."""
    qn = connection.ops.quote_name
    table, names = qn(opts.db_table), [qn(f.column) for f in columns]
    key, rest = names[0], names[1:]
    sets = ", ".join(f"{name} = v.{name}" for name in rest)
    as_v = f"v ({', '.join(names)})"
    # Quoted names from the model's own metadata; every value is a parameter.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for start in range(0, len(rows), UNNEST_ROWS):
                chunk = rows[start : start + UNNEST_ROWS]
                arrays = [
                    _pg_array(field, connection, [row[i] for row in chunk])
                    for i, field in enumerate(columns)
                ]
                sql = f"UPDATE {table} SET {sets} "  # noqa: S608 - names from the model
                sql += f"FROM unnest({', '.join(a for a, _ in arrays)}) AS {as_v} "
                sql += f"WHERE {table}.{key} = v.{key}"
                cursor.execute(sql, [param for _, param in arrays])
            return
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        batch = max(1, connection.ops.bulk_batch_size(columns, rows))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            values = ", ".join([row_sql] * len(chunk))
            sql = (
                f"WITH {as_v} AS (VALUES {values}) "  # noqa: S608 - names from the model
                f"UPDATE {table} SET {sets} FROM v WHERE {table}.{key} = v.{key}"
            )
            cursor.execute(sql, list(chain.from_iterable(chunk)))


def _pg_array(field, connection, values: list) -> tuple[str, object]:
    """(SQL, parameter) of one column's values as a PostgreSQL array. JSON texts travel as one
    JSON array, split back into ``jsonb[]`` by the server in their order: as an array of text,
    psycopg would backslash-escape every double quote of every value in Python (for a push's
    thousand links, two thirds of the statement's time). A JSON column holding SQL NULLs goes
    as an array of its type, as every other column does."""
    if isinstance(field, models.JSONField) and all(type(value) is str for value in values):
        elements = "jsonb_array_elements((%s)::jsonb) WITH ORDINALITY AS a(e, n)"
        sql = f"ARRAY(SELECT e FROM {elements} ORDER BY n)"  # noqa: S608 - no value in it
        return sql, "[" + ",".join(values) + "]"
    return f"(%s)::{db_type(field, connection)}[]", values


def db_type(field, connection) -> str:
    """The column's type without its size (``varchar``, not ``varchar(18)``), for an array."""
    target = field.target_field if field.is_relation else field
    return target.db_type(connection).split("(")[0]
