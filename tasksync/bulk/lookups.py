"""``field IN (…)`` for the sync's long lists of ids (the thousand links, tasks and outbox rows
of a busy push or pull page).

Django's ``In`` lookup prepares, converts and "compiles" each value on its own, about two
microseconds an id: a few milliseconds for every thousand-id list, several lists a cycle. Ids
are plain ``int`` or ``str`` values that every database driver takes as they are, so ``ids_in``
writes the same SQL (``"column" IN (%s, …)``, duplicates and NULLs left out, in the order
given) with the list itself as its parameters; on PostgreSQL, ``"column" = ANY(%s::bigint[])``
(or ``text[]``) with the list as one array parameter. Any other value goes through Django's
lookup.
"""

from __future__ import annotations

from django.core.exceptions import EmptyResultSet
from django.db.models import F, Q
from django.db.models.lookups import In

__all__ = ["ids_in"]


class _IdsIn(In):
    """``In`` for plain ids: no per-value preparation (``ids_in`` checked their types)."""

    def get_prep_lookup(self):
        return self.rhs

    def process_rhs(self, compiler, connection):
        values = list(dict.fromkeys(v for v in self.rhs if v is not None))
        if not values:
            raise EmptyResultSet
        array = _array_type(connection, values)
        if array is not None:
            return f"(%s::{array})", [values]
        return "(" + ", ".join(["%s"] * len(values)) + ")", values

    def get_rhs_op(self, connection, rhs):
        if rhs.endswith("[])"):
            return f"= ANY{rhs}"  # PostgreSQL: one array parameter (_array_type)
        return super().get_rhs_op(connection, rhs)


def _array_type(connection, values) -> str | None:
    """PostgreSQL: the array type that carries ``values`` as one parameter (``= ANY(%s)``, the
    same plan as ``IN``), when they are all ints or all strings; psycopg then adapts one list
    instead of parsing and binding a placeholder per id. None elsewhere."""
    if connection.vendor != "postgresql":
        return None
    kinds = {type(v) for v in values}
    if kinds == {int}:
        return "bigint[]"
    if kinds == {str}:
        return "text[]"
    return None


def ids_in(name: str, values) -> Q | _IdsIn:
    """A filter: the field ``name`` (a key, a foreign key's attname, a text id) is one of
    ``values``. Same SQL and parameters as ``Q(**{name + "__in": values})``."""
    values = list(values)
    if all(type(v) is int or type(v) is str or v is None for v in values):
        return _IdsIn(F(name), values)
    return Q(**{f"{name}__in": values})
