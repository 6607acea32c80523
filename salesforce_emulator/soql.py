"""A SOQL subset: parser and evaluator over in-memory rows.

Salesforce pages: "Date Formats and Date Literals" (SOQL and SOSL Reference),
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm
and "Query" (REST API Developer Guide), https://developer.salesforce.com/docs/platform/api-rest/guide/resources-query.html

Supported: SELECT field list | COUNT(), FROM Task/TaskStatus/TaskPriority, WHERE with
AND/OR/NOT/parentheses, = != <> < <= > >= LIKE IN / NOT IN, literals (string with escapes,
true/false/null, numbers, date, dateTime), ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...,
LIMIT, OFFSET. Errors: MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE (all HTTP 400).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from . import ids
from .clock import is_date, parse_datetime_ms
from .schema import Field, canonical_object, field_map


class SoqlError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>[+-]?\d+(?:\.\d+)?)
  | (?P<string>'(?:\\.|[^'\\])*')
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)
_ESCAPES = {
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    '"': '"',
    "'": "'",
    "\\": "\\",
    "_": "\\_",
    "%": "\\%",
}
KEYWORDS = {
    "select",
    "from",
    "where",
    "and",
    "or",
    "not",
    "in",
    "like",
    "order",
    "by",
    "asc",
    "desc",
    "nulls",
    "first",
    "last",
    "limit",
    "offset",
    "null",
    "true",
    "false",
}


@dataclass
class Tok:
    kind: str
    value: object
    text: str
    pos: int


@dataclass
class Cmp:
    field: Field
    op: str
    value: object  # python value or list for IN


@dataclass
class BoolOp:
    op: str  # and / or / not
    args: list


@dataclass
class Order:
    field: Field
    desc: bool
    nulls_first: bool


@dataclass
class Query:
    sobject: str
    fields: list[str]
    count: bool = False
    where: object = None
    order: list[Order] = field(default_factory=list)
    limit: int | None = None
    offset: int = 0


def tokenize(text: str) -> list[Tok]:
    toks, pos = [], 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise _malformed(text, pos, f"unexpected token: '{text[pos : pos + 10]}'")
        kind, raw = m.lastgroup, m.group()
        if kind != "ws":
            value: object = raw
            if kind == "string":
                value = _unescape(raw[1:-1], text, pos)
            elif kind == "ident" and raw.lower() in KEYWORDS:
                kind, value = "kw", raw.lower()
            toks.append(Tok(kind, value, raw, pos))
        pos = m.end()
    toks.append(Tok("eof", None, "", len(text)))
    return toks


def _unescape(body: str, text: str, pos: int) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1] if i + 1 < len(body) else ""
            if nxt not in _ESCAPES:
                raise _malformed(text, pos, f"Invalid string literal '{body}'. Illegal escape")
            out.append(_ESCAPES[nxt])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _malformed(text: str, pos: int, detail: str) -> SoqlError:
    return SoqlError(
        "MALFORMED_QUERY", f"\n{text}\n{' ' * pos}^\nERROR at Row:1:Column:{pos + 1}\n{detail}"
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = tokenize(text)
        self.i = 0
        self.fields: dict[str, Field] = {}
        self.sobject = ""

    # helpers
    def peek(self, k: int = 0) -> Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def at_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.value in words

    def expect_kw(self, word: str) -> None:
        tok = self.next()
        if tok.kind != "kw" or tok.value != word:
            raise self.unexpected(tok)

    def expect(self, kind: str, value: str | None = None) -> Tok:
        tok = self.next()
        if tok.kind != kind or (value is not None and tok.value != value):
            raise self.unexpected(tok)
        return tok

    def unexpected(self, tok: Tok) -> SoqlError:
        return _malformed(self.text, tok.pos, f"unexpected token: '{tok.text or 'EOF'}'")

    def resolve(self, tok: Tok) -> Field:
        name = str(tok.text)
        if name.lower().startswith(self.sobject.lower() + "."):
            name = name[len(self.sobject) + 1 :]
        fld = self.fields.get(name.lower())
        if fld is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
                f"No such column '{name}' on entity '{self.sobject}'. If you are attempting to use"
                " a custom field, be sure to append the '__c' after the custom field name. Please"
                " reference your WSDL or the describe call for the appropriate names.",
            )
        return fld

    # grammar
    def parse(self) -> Query:
        self.expect_kw("select")
        count = False
        select_toks: list[Tok] = []
        if (
            self.peek().kind == "ident"
            and str(self.peek().value).lower() == "count"
            and self.peek(1).value == "("
        ):
            self.next()
            self.expect("punct", "(")
            self.expect("punct", ")")
            count = True
        else:
            while True:
                tok = self.next()
                if tok.kind != "ident":
                    raise self.unexpected(tok)
                select_toks.append(tok)
                if self.peek().value != ",":
                    break
                self.next()
        self.expect_kw("from")
        obj_tok = self.expect("ident")
        sobject = canonical_object(str(obj_tok.value))
        if sobject is None:
            raise SoqlError(
                "INVALID_TYPE",
                f"\n{self.text}\n{' ' * obj_tok.pos}^\nERROR at Row:1:"
                f"Column:{obj_tok.pos + 1}\nsObject type '{obj_tok.value}' is not"
                " supported. If you are attempting to use a custom object, be sure to"
                " append the '__c' after the entity name. Please reference your WSDL"
                " or the describe call for the appropriate names.",
            )
        self.sobject = sobject
        self.fields = field_map(sobject)
        names: list[str] = []
        for tok in select_toks:
            name = self.resolve(tok).name
            if name in names:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {name}")
            names.append(name)
        query = Query(sobject, names, count=count)
        if self.at_kw("where"):
            self.next()
            query.where = self.parse_or()
        if self.at_kw("order"):
            self.next()
            self.expect_kw("by")
            query.order = self.parse_order()
        if self.at_kw("limit"):
            self.next()
            query.limit = self.parse_int()
        if self.at_kw("offset"):
            self.next()
            query.offset = self.parse_int()
        tok = self.peek()
        if tok.kind != "eof":
            raise self.unexpected(tok)
        return query

    def parse_int(self) -> int:
        tok = self.next()
        if tok.kind != "number" or not str(tok.value).isdigit():
            raise self.unexpected(tok)
        return int(str(tok.value))

    def parse_order(self) -> list[Order]:
        out = []
        while True:
            fld = self.resolve(self.expect("ident"))
            _check_usable(fld, "sorted", self.text)
            desc = False
            if self.at_kw("asc", "desc"):
                desc = self.next().value == "desc"
            # SOQL default: nulls sort first in ascending order (docs/emulator.md); with DESC
            # the same ordering reversed puts them last.
            nulls_first = not desc
            if self.at_kw("nulls"):
                self.next()
                tok = self.next()
                if tok.kind != "kw" or tok.value not in ("first", "last"):
                    raise self.unexpected(tok)
                nulls_first = tok.value == "first"
            out.append(Order(fld, desc, nulls_first))
            if self.peek().value != ",":
                return out
            self.next()

    def parse_or(self):
        args = [self.parse_and()]
        while self.at_kw("or"):
            self.next()
            args.append(self.parse_and())
        return args[0] if len(args) == 1 else BoolOp("or", args)

    def parse_and(self):
        args = [self.parse_not()]
        while self.at_kw("and"):
            self.next()
            args.append(self.parse_not())
        return args[0] if len(args) == 1 else BoolOp("and", args)

    def parse_not(self):
        if self.at_kw("not"):
            self.next()
            return BoolOp("not", [self.parse_not()])
        if self.peek().value == "(":
            self.next()
            inner = self.parse_or()
            self.expect("punct", ")")
            return inner
        return self.parse_cmp()

    def parse_cmp(self) -> Cmp:
        fld_tok = self.expect("ident")
        fld = self.resolve(fld_tok)
        _check_usable(fld, "filtered", self.text)
        tok = self.next()
        if tok.kind == "op":
            op = "!=" if tok.value == "<>" else str(tok.value)
            return Cmp(fld, op, self.parse_value(fld))
        if tok.kind == "kw" and tok.value == "like":
            value = self.parse_value(fld)
            if not isinstance(value, str):
                raise self.unexpected(tok)
            return Cmp(fld, "like", value)
        negate = False
        if tok.kind == "kw" and tok.value == "not":
            negate = True
            tok = self.next()
        if tok.kind == "kw" and tok.value == "in":
            self.expect("punct", "(")
            values = [self.parse_value(fld)]
            while self.peek().value == ",":
                self.next()
                values.append(self.parse_value(fld))
            self.expect("punct", ")")
            return Cmp(fld, "not in" if negate else "in", values)
        raise self.unexpected(tok)

    def parse_value(self, fld: Field):
        tok = self.next()
        if tok.kind == "kw" and tok.value == "null":
            return None
        expected = fld.type
        if expected == "boolean":
            if tok.kind == "kw" and tok.value in ("true", "false"):
                return tok.value == "true"
        elif expected == "date":
            if tok.kind == "date" and is_date(tok.value):
                return tok.value
        elif expected == "datetime":
            if tok.kind == "datetime":
                return parse_datetime_ms(str(tok.value))
        elif expected == "int":
            if tok.kind == "number":
                return float(str(tok.value))
        elif tok.kind == "string":
            return tok.value
        if tok.kind in ("string", "date", "datetime", "number") or (
            tok.kind == "kw" and tok.value in ("true", "false")
        ):
            kind = {"datetime": "dateTime", "id": "id", "reference": "id"}.get(expected, expected)
            quoted = expected in ("date", "datetime", "boolean", "int")
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
                f"value of filter criterion for field '{fld.name}' must be of type {kind}"
                + (" and should not be enclosed in quotes" if quoted else ""),
            )
        raise self.unexpected(tok)


def _check_usable(fld: Field, what: str, text: str) -> None:
    if not fld.filterable:
        raise SoqlError(
            "INVALID_FIELD", f"\n{text}\nfield '{fld.name}' can not be {what} in a query call"
        )


def parse(text: str) -> Query:
    if not text or not text.strip():
        raise SoqlError("MALFORMED_QUERY", "empty query")
    return _Parser(text).parse()


# -- evaluation ---------------------------------------------------------------------------
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
