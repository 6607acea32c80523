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


def prefilter(query: Query) -> list[tuple]:
    """Conditions the store may apply in SQL before execute() (store.Store.tasks `where`).

    Only terms that every matching row satisfies: top-level AND terms, and of those an OR
    whose every branch has such terms of its own (``(None, "or", (branch, ...))``, a branch
    a tuple of terms, all to hold), and only comparisons that SQL decides exactly on regular
    stored values (store.is_regular): = / IN on an id or reference field with valid-id
    literals (compared as canonical 18-char ids: two ids are equal in SOQL exactly when those
    are), and = < <= > >= / IN on a dateTime field with non-null literals (epoch ms; a null
    column fails them in SOQL and in SQL alike). != and NOT IN (true for nulls in SOQL), LIKE,
    null literals, text and boolean fields stay in Python only. A branch narrowed by fewer
    of its terms still holds for every row it held for, so the answer stays a superset.
    """
    return _terms(query.where)


def _terms(node) -> list[tuple]:
    out = []
    for conjunct in _conjuncts(node):
        if isinstance(conjunct, Cmp):
            out.extend(_comparison(conjunct))
        elif isinstance(conjunct, BoolOp) and conjunct.op == "or":
            branches = tuple(tuple(_terms(arg)) for arg in conjunct.args)
            if all(branches):  # a branch with no term of its own would let any row through
                out.append((None, "or", branches))
    return out


def _comparison(node: Cmp) -> list[tuple]:
    fld, op = node.field, node.op
    values = list(node.value) if op == "in" else [node.value]
    id_field = fld.type in ("id", "reference") and op in ("=", "in")
    if id_field and all(ids.is_valid(v) for v in values):
        return [(fld.name, op, tuple(ids.to18(v) for v in values))]
    datetime_field = fld.type == "datetime" and op in ("=", "<", "<=", ">", ">=", "in")
    if datetime_field and all(type(v) is int and v in _INT64 for v in values):
        return [(fld.name, op, tuple(values))]
    return []


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


def needed_columns(query: Query) -> set[str] | None:
    """The only Task columns a query's rows need: the fields it selects, compares and orders
    by, the Id its records' URLs carry, and the recycle bin's flags ``query`` hides rows by;
    None for another object, or for a query naming a relationship's field (Who.Name: its
    parents are looked up from the row): then every column is loaded. Building 40 columns a
    row was most of the time of a query over a busy org's window (a COUNT(), or a crowded
    poll's ids and stamps, issue 16's B4)."""
    if query.sobject != "Task":
        return None
    names = _where_fields(query.where)
    if names is None:
        return None
    names |= set(query.fields) | {o.field.name for o in query.order}
    if any("." in name for name in names):
        return None
    if not query.count:
        names.add("Id")  # in each record's URL
    return {*names, "IsDeleted", "IsArchived"}
