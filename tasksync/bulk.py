"""Bulk INSERT and UPDATE of many model instances, for the sync's large batches (a first import
writes a task, a link and a history event for each of thousands of Salesforce records; a push
updates the links of 200 records a call).

Django's ``bulk_create`` compiles every value of every row through the full field machinery
(``pre_save``, ``get_db_prep_save``, one placeholder expression per value): for 30,000 rows of a
dozen columns that is most of an import's time. Here each column's conversion is chosen once,
values that the database driver takes as they are (text, numbers, booleans, keys) are passed
through, and each statement is plain SQL with ``RETURNING`` the primary keys. The rows written
are the same as ``bulk_create``'s (``tests/sync/test_bulk.py`` compares them column by column).
``update_many`` writes chosen fields of saved instances the same way, as one upsert per batch.
``insert_rows`` writes plain tuples of values, for the import's 30,000 rows (issue 16): building
a model instance a row costs more than writing it.

Scope, on purpose: concrete fields of a plain model with an auto primary key; no signals (neither
does ``bulk_create``), no multi-table inheritance, no conflict handling. Anything else goes
through ``bulk_create``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from itertools import chain

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

# Values of these exact types go to the database drivers (sqlite3, psycopg) as they are.
_PLAIN = (str, int, bool, float, type(None))


def _column_converter(field, connection, *, adding=True) -> Callable[[models.Model], object]:
    """How one column's value is read from an instance, decided once per statement."""
    attname = field.attname
    if getattr(field, "auto_now", False) or (adding and getattr(field, "auto_now_add", False)):
        # As bulk_create and save, the instance is stamped with the time it is saved; one time
        # for the whole statement (bulk_create reads the clock once per row).
        stamp = []

        def auto_now_value(obj):
            if not stamp:
                value = field.pre_save(obj, add=adding)
                stamp.append((value, field.get_db_prep_save(value, connection)))
            setattr(obj, attname, stamp[0][0])
            return stamp[0][1]

        return auto_now_value
    if isinstance(field, models.DateField):  # and DateTimeField: as insert_rows adapts them
        adapt = _value_adapter(field, connection)
        return lambda obj: adapt(getattr(obj, attname))
    if field.is_relation or isinstance(
        field, models.CharField | models.TextField | models.IntegerField | models.BooleanField
    ):

        def plain_value(obj):
            value = getattr(obj, attname)
            if type(value) in _PLAIN:
                return value
            return field.get_db_prep_save(value, connection)  # e.g. a TextChoices member

        return plain_value
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def insert_many(objs: Sequence[models.Model], *, using: str | None = None) -> list:
    """INSERT unsaved ``objs`` (all of one model) and set their primary keys, in as few
    statements as the database's parameter limit allows. Returns ``objs``."""
    if not objs:
        return list(objs)
    model = type(objs[0])
    opts = model._meta
    using = using or router.db_for_write(model)
    connection = connections[using]
    if (
        opts.parents
        or not isinstance(opts.pk, AutoFieldMixin)
        or not connection.features.can_return_rows_from_bulk_insert
    ):
        return model._default_manager.using(using).bulk_create(objs)
    fields = [f for f in opts.concrete_fields if f is not opts.pk]
    for obj in objs:
        # The "cannot save with an unsaved related object" check, as bulk_create does.
        obj._prepare_related_fields_for_save(operation_name="insert_many")
    converters = [_column_converter(f, connection, adding=True) for f in fields]
    rows = [[convert(obj) for convert in converters] for obj in objs]
    for obj, pk in zip(objs, _write_rows(connection, opts, fields, rows), strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = using
    return list(objs)


def insert_rows(model, fields: Sequence[str], rows: Sequence[tuple], *, using=None) -> list:
    """INSERT ``rows``, plain tuples of values for ``fields`` (attribute names, in that order),
    without building a model instance per row: the rows ``insert_many`` writes for instances
    holding the same values. Returns their new primary keys, in row order.

    Every concrete field not named takes its default, computed and adapted once (``auto_now``
    and ``auto_now_add`` fields: one stamp for all the rows). Named values are adapted per
    column kind, decided once: datetimes (each distinct one once), dates, JSON (encoded once,
    as Django's JSONField encodes it); every other column takes the value as the driver does,
    so give plain ``str``, ``int``, ``bool`` or ``None`` (a ``TextChoices`` member's
    ``.value``). No validation: check the rows first (``tasksync.sync.import_check``). Same
    scope as ``insert_many``: a plain model with an auto primary key."""
    if not rows:
        return []
    opts = model._meta
    using = using or router.db_for_write(model)
    connection = connections[using]
    by_attname = {f.attname: f for f in opts.concrete_fields if f is not opts.pk}
    named = [by_attname[name] for name in fields]
    rest = [f for f in by_attname.values() if f.attname not in fields]
    if (
        opts.parents
        or not isinstance(opts.pk, AutoFieldMixin)
        or not connection.features.can_return_rows_from_bulk_insert
        or any(f.db_default is not models.NOT_PROVIDED for f in rest)
    ):
        raise NotImplementedError(f"insert_rows does not write {opts.label}")
    now = timezone.now()  # one stamp for every auto_now/auto_now_add field of every row
    tail = [_default_value(f, connection, now) for f in rest]
    adapters = [
        (index, adapt)
        for index, adapt in enumerate(_value_adapter(f, connection) for f in named)
        if adapt is not None
    ]
    if adapters:

        def convert(row):
            out = list(row)
            for index, adapt in adapters:
                out[index] = adapt(out[index])
            out += tail
            return out

        converted = [convert(row) for row in rows]
    else:
        tail_tuple = tuple(tail)
        converted = [(*row, *tail_tuple) for row in rows]
    return _write_rows(connection, opts, [*named, *rest], converted)


def _default_value(field, connection, now):
    """The database value of a field left out of ``insert_rows``: its default, or ``now`` for
    ``auto_now``/``auto_now_add`` (as ``pre_save`` would stamp it; a DateField takes the day)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now if isinstance(field, models.DateTimeField) else timezone.localdate(now)
    else:
        value = field.get_default()
    return field.get_db_prep_save(value, connection)


def _value_adapter(field, connection) -> Callable[[object], object] | None:
    """How a named column's value becomes the driver's, or None if it goes as it is."""
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        # Import batches share a handful of timestamps: adapt each distinct value once.
        cache: dict = {}

        def datetime_value(value):
            if value is None:
                return None
            try:
                return cache[value]
            except KeyError:
                cache[value] = adapted = adapt(field.get_prep_value(value))
                return adapted

        return datetime_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        if field.encoder is None:
            # What JSONField sends (json.dumps of the value) as text: SQLite stores it, COPY
            # hands it to PostgreSQL's jsonb input; None stays the field's own business.
            dumps = json.dumps
            flat = flat_json_encoder()

            def json_value(value):
                if value is None:
                    return field.get_db_prep_save(value, connection)
                if type(value) is dict:
                    text = flat(value)
                    if text is not None:
                        return text
                return dumps(value)

            return json_value
        return lambda value: field.get_db_prep_save(value, connection)
    if field.is_relation or isinstance(
        field, models.CharField | models.TextField | models.IntegerField | models.BooleanField
    ):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def flat_json_encoder() -> Callable[[dict], str | None]:
    """``json.dumps`` of a dict of text and nulls (a sync snapshot) at a third of its cost:
    each key's text is encoded once for every dict, each value by the json module's own string
    encoder. The text is ``json.dumps``'s to the byte; None for any other dict (nested values,
    numbers, non-text keys), which ``json.dumps`` then encodes."""
    keys: dict = {}

    def encode(value: dict) -> str | None:
        parts = []
        for key, item in value.items():
            head = keys.get(key)
            if head is None:
                if type(key) is not str:
                    return None
                head = keys[key] = _json_string(key) + ": "
            if type(item) is str:
                parts.append(head + _json_string(item))
            elif item is None:
                parts.append(head + "null")
            else:
                return None
        return "{" + ", ".join(parts) + "}"

    return encode


_json_string = json.encoder.encode_basestring_ascii  # what json.dumps uses (ensure_ascii)


def _write_rows(connection, opts, fields, rows) -> list:
    """INSERT ``rows`` (lists of database values for ``fields``); returns the new keys in
    order. PostgreSQL: ``COPY``; elsewhere multi-row INSERTs ``RETURNING`` the keys."""
    if connection.vendor == "postgresql":
        return _copy_rows(connection, opts, fields, rows)
    tail = f" RETURNING {connection.ops.quote_name(opts.pk.column)}"
    keys = []
    for _, cursor in _insert_batches(connection, opts, fields, rows, tail):
        keys += [pk for (pk,) in cursor.fetchall()]
    return keys


def update_many(objs: Sequence[models.Model], fields: Sequence[str], *, using=None) -> None:
    """Write ``fields`` of saved ``objs`` (all of one model) in a few statements: an INSERT of
    the whole rows that meets each existing primary key and updates just ``fields`` (``INSERT …
    ON CONFLICT (pk) DO UPDATE``). Django's ``bulk_update`` builds a CASE per field and row, far
    slower for batches of hundreds. Fields with ``auto_now`` are stamped, as ``save`` does.

    Unlike ``bulk_update``, a row deleted meanwhile would be inserted again: use it for rows the
    caller holds (the sync's own links, under the user's lease)."""
    if not objs:
        return
    model = type(objs[0])
    opts = model._meta
    using = using or router.db_for_write(model)
    connection = connections[using]
    if not connection.features.supports_update_conflicts_with_target:
        model._default_manager.using(using).bulk_update(objs, fields)
        return
    stamped = [f.name for f in opts.concrete_fields if getattr(f, "auto_now", False)]
    fields = list(dict.fromkeys([*fields, *stamped]))
    qn = connection.ops.quote_name
    updates = ", ".join(
        f"{qn(column)} = EXCLUDED.{qn(column)}"
        for column in (opts.get_field(name).column for name in fields)
    )
    tail = f" ON CONFLICT ({qn(opts.pk.column)}) DO UPDATE SET {updates}"
    columns = [opts.pk, *(f for f in opts.concrete_fields if f is not opts.pk)]
    converters = [_column_converter(f, connection, adding=False) for f in columns]
    rows = [[convert(obj) for convert in converters] for obj in objs]
    for _ in _insert_batches(connection, opts, columns, rows, tail):
        pass  # each batch is written as it is reached


def _copy_rows(connection, opts, fields, rows) -> list:
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


UNNEST_ROWS = 5000  # PostgreSQL: rows per ``INSERT … SELECT FROM unnest(…)`` statement


def _insert_batches(connection, opts, columns, rows, tail: str):
    """Multi-row INSERTs of ``rows`` (lists of database values for ``columns``) with ``tail``
    (``RETURNING`` or ``ON CONFLICT``); yields each (chunk, cursor) once executed.

    On PostgreSQL: ``INSERT INTO table (columns) SELECT * FROM unnest(%s::type[], …)``, one
    array parameter per column, whatever the row count (as Django 5.2's ``bulk_create`` does):
    psycopg adapts a dozen arrays instead of parsing and binding ~30,000 placeholders, and the
    statement text is the same for every batch. Elsewhere: ``VALUES (…), (…)``, as many rows a
    statement as the database's parameter limit allows."""
    qn = connection.ops.quote_name
    names = ", ".join(qn(f.column) for f in columns)
    # Quoted names from the model's own metadata; every value is a parameter.
    head = f"INSERT INTO {qn(opts.db_table)} ({names}) "  # noqa: S608
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"(%s)::{_db_type(f, connection)}[]" for f in columns)
            sql = f"{head}SELECT * FROM unnest({arrays}){tail}"  # noqa: S608 - types from the model
            for start in range(0, len(rows), UNNEST_ROWS):
                chunk = rows[start : start + UNNEST_ROWS]
                params = [[row[i] for row in chunk] for i in range(len(columns))]
                cursor.execute(sql, params)
                yield chunk, cursor
            return
        row_sql = "(" + ", ".join(["%s"] * len(columns)) + ")"
        batch = max(1, connection.ops.bulk_batch_size(columns, rows))
        for start in range(0, len(rows), batch):
            chunk = rows[start : start + batch]
            params = list(chain.from_iterable(chunk))
            cursor.execute(head + "VALUES " + ", ".join([row_sql] * len(chunk)) + tail, params)
            yield chunk, cursor


def _db_type(field, connection) -> str:
    """The column's type without its size (``varchar``, not ``varchar(18)``), for an array."""
    target = field.target_field if field.is_relation else field
    return target.db_type(connection).split("(")[0]
