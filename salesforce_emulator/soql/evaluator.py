"""A parsed query run over rows: the WHERE as one predicate, then ORDER BY, OFFSET, LIMIT.

Strings compare case-insensitively and ids 15/18-char interchangeably, as SOQL compares them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache

from .. import ids
from ..schema import Field
from .nodes import BoolOp, Order, Query

_STRINGY = {"id", "reference", "string", "textarea", "combobox", "picklist"}


@lru_cache(maxsize=65_536)
def _norm_id(value: str) -> str:
    # The checksum behind is_valid/to18 is the costly part of evaluating a query: ids repeat
    # (every row of a user has the same OwnerId), so the normal form is memoised.
    return ids.to18(value).lower() if ids.is_valid(value) else value.casefold()


def _norm(fld: Field, value):
    """Comparable form: strings compare case-insensitively in SOQL; ids 15/18 interchangeable."""
    if value is None:
        return None
    if fld.type in ("id", "reference") and isinstance(value, str):
        return _norm_id(value)
    if fld.type in _STRINGY:
        return str(value).casefold()
    if fld.type == "boolean":
        return bool(value)
    return value


def _like_regex(pattern: str) -> re.Pattern:
    regex, i = "", 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            regex += re.escape(pattern[i + 1])
            i += 2
            continue
        regex += ".*" if ch == "%" else "." if ch == "_" else re.escape(ch)
        i += 1
    return re.compile(regex, re.IGNORECASE | re.DOTALL)


def _like(pattern: str, value: str) -> bool:
    return _like_regex(pattern).fullmatch(value) is not None


Predicate = Callable[[dict], bool]


def compile_where(node) -> Predicate:
    """The WHERE tree as one function of a row; literals are normalised once, not per row."""
    if node is None:
        return lambda row: True
    if isinstance(node, BoolOp):
        parts = [compile_where(a) for a in node.args]
        if node.op == "and":
            return lambda row: all(p(row) for p in parts)
        if node.op == "or":
            return lambda row: any(p(row) for p in parts)
        inner = parts[0]
        return lambda row: not inner(row)
    return _compile_cmp(node)


def _compile_cmp(node) -> Predicate:
    fld: Field = node.field
    name, op = fld.name, node.op
    if op in ("in", "not in"):
        # Normal forms are str/int/float/bool/None: hashable, and equal ones hash alike.
        values = frozenset(_norm(fld, v) for v in node.value)
        if op == "in":
            return lambda row: _norm(fld, row.get(name)) in values
        return lambda row: _norm(fld, row.get(name)) not in values
    if op == "like":
        regex = _like_regex(str(node.value))
        return lambda row: (
            _norm(fld, row.get(name)) is not None
            and regex.fullmatch(str(row.get(name))) is not None
        )
    right = _norm(fld, node.value)
    if op == "=":
        return lambda row: _norm(fld, row.get(name)) == right
    if op == "!=":
        return lambda row: _norm(fld, row.get(name)) != right
    if right is None:
        return lambda row: False  # null never compares < or >
    compare = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}[op]

    def ordered(row: dict) -> bool:
        left = _norm(fld, row.get(name))
        return left is not None and compare(left, right)

    return ordered


def matches(node, row: dict) -> bool:
    return compile_where(node)(row)


def _sort(rows: list[dict], orders: list[Order]) -> None:
    """Stable sort, in place, one pass per ORDER BY item from the last to the first.

    Each pass sorts on a key computed once per row: (rank, normal form), where the rank puts
    nulls where NULLS FIRST/LAST says whatever the direction. `reverse=True` keeps ties in
    their input order, so the result is the lexicographic order, ties left as they came.
    """
    for o in reversed(orders):
        fld, name = o.field, o.field.name
        # Ascending: rank 0 sorts first. Descending (reversed): rank 2 sorts first.
        null_rank = 0 if o.nulls_first != o.desc else 2

        def key(row: dict, fld=fld, name=name, null_rank=null_rank) -> tuple:
            value = _norm(fld, row.get(name))
            return (null_rank, None) if value is None else (1, value)

        rows.sort(key=key, reverse=o.desc)


def execute(query: Query, rows: list[dict]) -> list[dict]:
    """Filter, sort, offset and limit. Rows keep their input order when ORDER BY ties."""
    predicate = compile_where(query.where)
    out = [r for r in rows if predicate(r)]
    if query.order:
        _sort(out, query.order)
    if query.offset:
        out = out[query.offset :]
    if query.limit is not None:
        out = out[: query.limit]
    return out
