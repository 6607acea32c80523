"""How each column's value reaches the database driver, decided once per statement: read from an
instance, a field's default, an adapter per column kind (datetimes cached, JSON encoded once)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import models
from django.utils import timezone

# Values of these exact types go to the database drivers (sqlite3, psycopg) as they are.
PLAIN = (str, int, bool, float, type(None))


def column_converter(field, connection, *, adding=True) -> Callable[[models.Model], object]:
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
    if isinstance(field, models.DateField | models.JSONField):
        # DateField and DateTimeField, JSON (a snapshot by the flat encoder): as insert_rows
        # adapts them.
        adapt = value_adapter(field, connection)
        return lambda obj: adapt(getattr(obj, attname))
    if field.is_relation or isinstance(
        field, models.CharField | models.TextField | models.IntegerField | models.BooleanField
    ):

        def plain_value(obj):
            value = getattr(obj, attname)
            if type(value) in PLAIN:
                return value
            return field.get_db_prep_save(value, connection)  # e.g. a TextChoices member

        return plain_value
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def default_value(field, connection, now):
    """The database value of a field left out of ``insert_rows``: its default, or ``now`` for
    ``auto_now``/``auto_now_add`` (as ``pre_save`` would stamp it; a DateField takes the day)."""
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now if isinstance(field, models.DateTimeField) else timezone.localdate(now)
    else:
        value = field.get_default()
    return field.get_db_prep_save(value, connection)


def value_adapter(field, connection) -> Callable[[object], object] | None:
    """How a named column's value becomes the driver's, or None if it goes as it is."""
    if isinstance(field, models.DateTimeField):
        return _datetime_adapter(field, connection)
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    if isinstance(field, models.JSONField):
        if field.encoder is None:
            return _json_adapter(field, connection)
        return lambda value: field.get_db_prep_save(value, connection)
    if field.is_relation or isinstance(
        field, models.CharField | models.TextField | models.IntegerField | models.BooleanField
    ):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _datetime_adapter(field, connection) -> Callable[[object], object]:
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


def _json_adapter(field, connection) -> Callable[[object], object]:
    """What JSONField sends (json.dumps of the value) as text: SQLite stores it, COPY hands it
    to PostgreSQL's jsonb input; None stays the field's own business."""
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
