"""Bulk INSERT and UPDATE of many model instances, for the sync's large batches (a first import
writes a task, a link and a history event for each of thousands of Salesforce records; a push
updates the links of 200 records a call).

Django's ``bulk_create`` compiles every value of every row through the full field machinery
(``pre_save``, ``get_db_prep_save``, one placeholder expression per value): for 30,000 rows of a
dozen columns that is most of an import's time. Here each column's conversion is chosen once,
values that the database driver takes as they are (text, numbers, booleans, keys) are passed
through, and each statement is plain SQL with ``RETURNING`` the primary keys. The rows written
are the same as ``bulk_create``'s (``tests/sync/test_bulk.py`` compares them column by column).
``update_many`` writes chosen fields of saved instances, one ``UPDATE … FROM`` per batch.
``insert_rows`` writes plain tuples of values, for the import's 30,000 rows (issue 16): building
a model instance a row costs more than writing it.

Scope, on purpose: concrete fields of a plain model with an auto primary key; no signals (neither
does ``bulk_create``), no multi-table inheritance, no conflict handling. Anything else goes
through ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models, router
from django.db.models.fields import AutoFieldMixin
from django.utils import timezone

from tasksync.bulk.sql import update_from, update_from_supported, write_rows
from tasksync.bulk.values import column_converter, default_value, flat_json_encoder, value_adapter

__all__ = ["flat_json_encoder", "insert_many", "insert_rows", "update_many"]


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
    converters = [column_converter(f, connection, adding=True) for f in fields]
    rows = [[convert(obj) for convert in converters] for obj in objs]
    for obj, pk in zip(objs, write_rows(connection, opts, fields, rows), strict=True):
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
    tail = [default_value(f, connection, now) for f in rest]
    converted = _converted(rows, named, tail, connection)
    return write_rows(connection, opts, [*named, *rest], converted)


def _converted(rows, named, tail: list, connection) -> list:
    """The rows' named values adapted per column, the defaults of the rest appended."""
    adapters = [
        (index, adapt)
        for index, adapt in enumerate(value_adapter(f, connection) for f in named)
        if adapt is not None
    ]
    if not adapters:
        tail_tuple = tuple(tail)
        return [(*row, *tail_tuple) for row in rows]

    def convert(row):
        out = list(row)
        for index, adapt in adapters:
            out[index] = adapt(out[index])
        out += tail
        return out

    return [convert(row) for row in rows]


def update_many(objs: Sequence[models.Model], fields: Sequence[str], *, using=None) -> None:
    """Write ``fields`` of saved ``objs`` (all of one model) in a few statements: one ``UPDATE …
    FROM`` a list of (primary key, values) per batch, only the named columns converted and
    sent (PostgreSQL: one array per column, ``unnest``; SQLite: a ``VALUES`` list). Django's
    ``bulk_update`` builds a CASE per field and row, far slower for batches of hundreds. Fields
    with ``auto_now`` are stamped, as ``save`` does. Like ``bulk_update``, a row deleted
    meanwhile stays deleted."""
    if not objs:
        return
    model = type(objs[0])
    opts = model._meta
    using = using or router.db_for_write(model)
    connection = connections[using]
    stamped = [f.name for f in opts.concrete_fields if getattr(f, "auto_now", False)]
    fields = list(dict.fromkeys([*fields, *stamped]))
    if opts.parents or not update_from_supported(connection):
        model._default_manager.using(using).bulk_update(objs, fields)
        return
    columns = [opts.pk, *(opts.get_field(name) for name in fields)]
    converters = [column_converter(f, connection, adding=False) for f in columns]
    rows = [[convert(obj) for convert in converters] for obj in objs]
    update_from(connection, opts, columns, rows)
