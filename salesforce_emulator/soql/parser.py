"""SOQL text to a Query; errors worded and positioned as Salesforce words them."""

from __future__ import annotations

from ..clock import is_date, parse_datetime_ms
from ..schema import Field, canonical_object, field_map
from .lexer import SoqlError, Tok, malformed, tokenize
from .nodes import BoolOp, Cmp, Order, Query

# Relationship names a SELECT may traverse, per object: Task's Who (WhoId) and What (WhatId).
RELATIONSHIPS = {"Task": {"who": "Who", "what": "What"}}


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
        return malformed(self.text, tok.pos, f"unexpected token: '{tok.text or 'EOF'}'")

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

    def relationship(self, tok: Tok) -> str | None:
        """A Task's polymorphic parent field in SELECT: Who.Name, What.Name (and .Id), canonical
        spelling ("Understanding Relationship Fields and Polymorphic Fields", SOQL and SOSL
        Reference). None for a plain field name."""
        name = str(tok.text)
        if name.lower().startswith(self.sobject.lower() + "."):
            name = name[len(self.sobject) + 1 :]
        if "." not in name:
            return None
        relation, _, field = name.partition(".")
        rel = RELATIONSHIPS.get(self.sobject, {}).get(relation.lower())
        if rel is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
                f"Didn't understand relationship '{relation}' in field path. If you are attempting"
                " to use a custom relationship, be sure to append the '__r' after the custom"
                " relationship name. Please reference your WSDL or the describe call for the"
                " appropriate names.",
            )
        parent_field = {"name": "Name", "id": "Id"}.get(field.lower())
        if parent_field is None:
            raise SoqlError(
                "INVALID_FIELD",
                f"\n{self.text}\n{' ' * tok.pos}^\nERROR at Row:1:Column:{tok.pos + 1}\n"
                f"No such column '{field}' on entity 'Name'. If you are attempting to use a custom"
                " field, be sure to append the '__c' after the custom field name. Please"
                " reference your WSDL or the describe call for the appropriate names.",
            )
        return f"{rel}.{parent_field}"

    # grammar
    def parse(self) -> Query:
        self.expect_kw("select")
        count, select_toks = self.parse_select_list()
        self.expect_kw("from")
        self.parse_from()
        query = Query(self.sobject, self.resolve_selected(select_toks), count=count)
        self.parse_clauses(query)
        tok = self.peek()
        if tok.kind != "eof":
            raise self.unexpected(tok)
        return query

    def parse_select_list(self) -> tuple[bool, list[Tok]]:
        """COUNT() or field names (resolved once FROM names the object)."""
        if (
            self.peek().kind == "ident"
            and str(self.peek().value).lower() == "count"
            and self.peek(1).value == "("
        ):
            self.next()
            self.expect("punct", "(")
            self.expect("punct", ")")
            return True, []
        select_toks: list[Tok] = []
        while True:
            tok = self.next()
            if tok.kind != "ident":
                raise self.unexpected(tok)
            select_toks.append(tok)
            if self.peek().value != ",":
                return False, select_toks
            self.next()

    def parse_from(self) -> None:
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

    def resolve_selected(self, select_toks: list[Tok]) -> list[str]:
        names: list[str] = []
        for tok in select_toks:
            name = self.relationship(tok) or self.resolve(tok).name
            if name in names:
                raise SoqlError("MALFORMED_QUERY", f"duplicate field selected: {name}")
            names.append(name)
        return names

    def parse_clauses(self, query: Query) -> None:
        """WHERE, ORDER BY, LIMIT, OFFSET: each optional, in that order."""
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
        return self._chain("or", self.parse_and)

    def parse_and(self):
        return self._chain("and", self.parse_not)

    def _chain(self, keyword: str, operand):
        """operand (keyword operand)*: one BoolOp over the operands, a lone operand as itself."""
        args = [operand()]
        while self.at_kw(keyword):
            self.next()
            args.append(operand())
        return args[0] if len(args) == 1 else BoolOp(keyword, args)

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
