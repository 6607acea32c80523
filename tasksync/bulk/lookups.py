"""``field IN (…)`` for the sync's long lists of ids (the thousand links, tasks and outbox rows
of a busy push or pull page).

Django's ``In`` lookup prepares, converts and "compiles" each value on its own, about two
microseconds an id: a few milliseconds for every thousand-id list, several lists a cycle. Ids
are plain ``int`` or ``str`` values that every database driver takes as they are, so ``ids_in``
writes the same SQL (``"column" IN (%s, …)``, duplicates and NULLs left out, in the order
given) with the list itself as its parameters. Any other value goes through Django's lookup.
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
        return "(" + ", ".join(["%s"] * len(values)) + ")", values


def ids_in(name: str, values) -> Q | _IdsIn:
    """A filter: the field ``name`` (a key, a foreign key's attname, a text id) is one of
    ``values``. Same SQL and parameters as ``Q(**{name + "__in": values})``."""
    values = list(values)
    if all(type(v) is int or type(v) is str or v is None for v in values):
        return _IdsIn(F(name), values)
    return Q(**{f"{name}__in": values})
