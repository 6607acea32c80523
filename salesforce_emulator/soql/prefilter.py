"""The conditions of a query that the store may apply in SQL before the evaluator runs."""

from __future__ import annotations

from .. import ids
from .nodes import BoolOp, Cmp, Query


def _conjuncts(node) -> list:
    """The top-level AND terms of a WHERE tree (nested ANDs flattened; OR and NOT kept whole)."""
    if node is None:
        return []
    if isinstance(node, BoolOp) and node.op == "and":
        return [c for a in node.args for c in _conjuncts(a)]
    return [node]


_INT64 = range(-(2**63), 2**63)


def prefilter(query: Query) -> list[tuple[str, str, tuple]]:
    """Conditions the store may apply in SQL before execute() (store.Store.tasks `where`).

    Only top-level AND terms, so every matching row satisfies each of them, and only those that
    SQL decides exactly on regular stored values (store.is_regular): = / IN on an id or
    reference field with valid-id literals (compared as canonical 18-char ids: two ids are
    equal in SOQL exactly when those are), and = < <= > >= / IN on a dateTime field with non-null
    literals (epoch ms; a null column fails them in SOQL and in SQL alike). != and NOT IN (true
    for nulls in SOQL), LIKE, null literals, text and boolean fields stay in Python only.
    """
    out = []
    for node in _conjuncts(query.where):
        if not isinstance(node, Cmp):
            continue
        fld, op = node.field, node.op
        values = list(node.value) if op == "in" else [node.value]
        id_field = fld.type in ("id", "reference") and op in ("=", "in")
        if id_field and all(ids.is_valid(v) for v in values):
            out.append((fld.name, op, tuple(ids.to18(v) for v in values)))
        datetime_field = fld.type == "datetime" and op in ("=", "<", "<=", ">", ">=", "in")
        if datetime_field and all(type(v) is int and v in _INT64 for v in values):
            out.append((fld.name, op, tuple(values)))
    return out


def _where_fields(node) -> set[str] | None:
    """The field names a WHERE tree compares, or None for a node of another kind."""
    if node is None:
        return set()
    if isinstance(node, Cmp):
        return {node.field.name}
    if isinstance(node, BoolOp):
        names: set[str] = set()
        for arg in node.args:
            inner = _where_fields(arg)
            if inner is None:
                return None
            names |= inner
        return names
    return None


def count_columns(query: Query) -> set[str] | None:
    """For a COUNT() query, the only Task columns its rows need (what WHERE compares, and the
    recycle bin's flags ``query`` hides rows by); None for any other query, or one whose WHERE
    names a field that is no column of its own (a relationship's): then every column is
    loaded."""
    if not query.count or query.sobject != "Task":
        return None
    names = _where_fields(query.where)
    if names is None or any("." in name for name in names):
        return None
    return {*names, "IsDeleted", "IsArchived"}
